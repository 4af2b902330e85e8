// iPXE scripts for the netboot tree: boot.ipxe (chains by MAC) and one script per host MAC. Pure text.
// Facts: delivery-facts.md §4 (Alpine's own netboot script), §7d and §9 T1/T6.

export type UnknownHostAction = 'alpine' | 'exit' | 'stop'
export const UNKNOWN_HOST_ACTIONS: readonly UnknownHostAction[] = ['alpine', 'exit', 'stop']

export interface NetbootUrls {
  /** where the tree is served, without a trailing slash: http://10.0.0.5:8080 */
  base: string
  /** Alpine release directory under the tree: alpine/3.22.2 */
  alpineDir: string
  /** alpine_repo= (Alpine's main repository of that release) */
  repo: string
}

export interface HostBootEntry {
  hostname: string
  mac: string
  /** the supplementary initramfs under the tree (initrd/<host>.cpio.gz) */
  initrd: string
  /** the host's own command line (modules=..., kernel options), from the plan */
  cmdline: string
  /** netboot.interface: pins the NIC initramfs-init configures */
  iface?: string
}

export const hyphenMac = (mac: string) => mac.replaceAll(':', '-')
/** hosts/<mac-with-hyphens>.ipxe: what boot.ipxe asks for with ${netX/mac:hexhyp} (iPXE prints it lowercase) */
export const hostScriptPath = (mac: string) => `hosts/${hyphenMac(mac)}.ipxe`
/** ovl/<mac>.apkovl.tar.gz: exactly what Alpine's apkovl=.../{MAC}... asks for (lowercase, colons) */
export const overlayPath = (mac: string) => `ovl/${mac}.apkovl.tar.gz`
export const OVERLAY_URL_TEMPLATE = 'ovl/{MAC}.apkovl.tar.gz'

const FLAVOR = 'lts'
export const ALPINE_FILES = [`vmlinuz-${FLAVOR}`, `initramfs-${FLAVOR}`, `modloop-${FLAVOR}`] as const

/** The kernel command line a host boots with; the initrd= names are the basenames iPXE gives the images. */
export function renderHostCmdline(e: HostBootEntry, urls: NetbootUrls): string {
  return [
    // UEFI iPXE (2019 builds) hands initrds to the EFI stub only when named (delivery-facts §8.1)
    `initrd=initramfs-${FLAVOR}`, `initrd=${e.initrd.split('/').pop()}`,
    // initramfs-init: device field wins over BOOTIF; BOOTIF is matched case-sensitively against sysfs (lowercase)
    e.iface ? `ip=:::::${e.iface}:dhcp` : 'ip=dhcp',
    `BOOTIF=01-${hyphenMac(e.mac)}`,
    `modloop=${urls.base}/${urls.alpineDir}/modloop-${FLAVOR}`,
    `alpine_repo=${urls.repo}`,
    // only the first {MAC} is substituted, from the NIC initramfs-init brought up (delivery-facts §3, §7d)
    `apkovl=${urls.base}/${OVERLAY_URL_TEMPLATE}`,
    e.cmdline,
  ].join(' ')
}

export function renderHostIpxe(e: HostBootEntry, urls: NetbootUrls): string {
  return `#!ipxe
# hostbake: ${e.hostname}, booting from ${e.mac}
echo hostbake: ${e.hostname} (${e.mac}) boots Alpine ${urls.alpineDir.split('/').pop()}
kernel ${urls.base}/${urls.alpineDir}/vmlinuz-${FLAVOR} ${renderHostCmdline(e, urls)}
initrd ${urls.base}/${urls.alpineDir}/initramfs-${FLAVOR}
initrd ${urls.base}/${e.initrd}
boot
`
}

/** boot.ipxe: the per-host script by MAC, else the configured default for unknown hosts. */
export function renderBootIpxe(urls: NetbootUrls, unknown: UnknownHostAction): string {
  const fallback = {
    // stock diskless Alpine, no overlay: what an unknown machine gets from Alpine's own netboot script
    alpine: `echo hostbake: unknown host \${netX/mac}: booting stock Alpine without an overlay
kernel ${urls.base}/${urls.alpineDir}/vmlinuz-${FLAVOR} initrd=initramfs-${FLAVOR} ip=dhcp BOOTIF=01-\${netX/mac:hexhyp} modloop=${urls.base}/${urls.alpineDir}/modloop-${FLAVOR} alpine_repo=${urls.repo} modules=loop,squashfs quiet
initrd ${urls.base}/${urls.alpineDir}/initramfs-${FLAVOR}
boot`,
    // hand the machine to the next boot device in the firmware's order
    exit: 'echo hostbake: unknown host ${netX/mac}: trying the next boot device\nexit 1',
    stop: 'echo hostbake: unknown host ${netX/mac}\nshell',
  }[unknown]
  return `#!ipxe
# hostbake: one script per MAC under hosts/ (\${netX/mac:hexhyp}: the NIC iPXE booted from, lowercase, hyphens)
echo hostbake: \${netX/mac} asks for ${urls.base}/hosts/\${netX/mac:hexhyp}.ipxe
chain ${urls.base}/hosts/\${netX/mac:hexhyp}.ipxe || goto unknown
:unknown
${fallback}
`
}
