// plan (the boot files of a sys install): kernel options, modules=, mkinitfs features and the loader.
// Built against a snapshot, the host's own values are the base and ours are added (a crypto install keeps
// cryptroot=, cryptdm=, its root and its cryptsetup/lvm features); without one, the profile states them.
// Pure. Alpine's consumers: update-extlinux and setup-disk's /etc/default/grub (alpine-boot-facts.md §3;
// alpine-conf setup-disk.in setup_syslinux, setup_grub, select_bootloader_pkg).
import {
  ALPINE_DEFAULT_FEATURES, ALPINE_DISKLESS_INITRAMFS_MODULES, ALPINE_NETBOOT_INITRAMFS_MODULES, ALPINE_SYS_INITRAMFS_MODULES,
} from '../alpine/alpineDefaults.js'
import type { Profile } from '../profile/profileSchema.js'

// A diskless host boots Alpine's stock initramfs (no vfio modules, the build host's modprobe.d): early binding
// needs the per-host supplementary initramfs that `hostbake image` (or `hostbake pxe`) writes next to it.
export const DISKLESS_SUPPLEMENT = 'boot/hostbake-<host>.cpio.gz, written by hostbake image or hostbake pxe'
import type { HostContext } from '../profile/profileLoad.js'

export interface Item {
  value: string
  reason: string
}

export type Loader = 'extlinux' | 'grub'

export interface BootPlan {
  loader?: Loader // sys installs only
  efi?: boolean // known from a snapshot
  kernelOpts: Item[] // default_kernel_opts, or GRUB_CMDLINE_LINUX_DEFAULT after modules=
  initramfsModules: Item[] // modules=
  root?: string
  mkinitfsFeatures: Item[] // features= (empty: mkinitfs.conf is not written)
  loaderPackage?: Item
  cmdline: string
}

const VFIO_CMDLINE_MODULES = ['vfio', 'vfio-pci', 'vfio_iommu_type1']
const HOST = 'the host had it (snapshot)'

export function planLoader(profile: Profile, host?: HostContext): Loader | undefined {
  if (profile.install !== 'sys') return undefined
  return profile.boot.loader ?? host?.system?.bootloader ?? 'extlinux'
}

// The host's current options, from the file its loader reads; modules= travels separately.
function hostBootLine(loader: Loader | undefined, host?: HostContext): { opts: string[]; modules?: string[]; root?: string } | undefined {
  const sys = host?.system
  if (!sys || loader === undefined) return undefined
  if (loader === 'extlinux' && sys.extlinux) {
    const x = sys.extlinux
    return { opts: words(x.defaultKernelOpts), ...(x.modules ? { modules: x.modules.split(',').filter(Boolean) } : {}), ...(x.root ? { root: x.root } : {}) }
  }
  if (loader === 'grub' && sys.grub) {
    const all = [...words(sys.grub.cmdlineLinux), ...words(sys.grub.cmdlineLinuxDefault)]
    const mods = all.find((o) => o.startsWith('modules='))
    // GRUB_CMDLINE_LINUX goes on every entry too; with recovery entries off (setup-disk) one line carries both
    return { opts: all.filter((o) => !o.startsWith('modules=')), ...(mods ? { modules: mods.slice(8).split(',').filter(Boolean) } : {}) }
  }
  return undefined
}

const words = (s: string) => s.split(/\s+/).filter(Boolean)
const keyOf = (o: string) => o.split('=')[0]

export function planBoot(profile: Profile, hasDevices: boolean, host?: HostContext): BootPlan {
  const loader = planLoader(profile, host)
  const hostLine = hostBootLine(loader, host)
  const kernelOpts = planKernelOpts(profile, hostLine?.opts ?? [])
  const initramfsModules = planInitramfsModules(profile, hasDevices, hostLine?.modules)
  const root = profile.boot.root ?? hostLine?.root
  const mkinitfsFeatures = planFeatures(profile, hasDevices, host)
  const modulesArg = initramfsModules.map((m) => m.value).join(',')
  const opts = kernelOpts.map((o) => o.value).join(' ')
  const cmdline = loader === 'extlinux'
    ? `root=${root ?? '<detected by update-extlinux (blkid)>'} modules=${modulesArg} ${opts}`
    : loader === 'grub' ? `root=<added by grub-mkconfig> modules=${modulesArg} ${opts}` : `modules=${modulesArg} ${opts}`
  const efi = host?.system?.efi
  return {
    ...(loader ? { loader } : {}),
    ...(efi !== undefined && host?.system ? { efi } : {}),
    kernelOpts, initramfsModules, ...(root ? { root } : {}), mkinitfsFeatures,
    ...(loader ? { loaderPackage: planLoaderPackage(loader, host?.system ? efi : undefined) } : {}),
    cmdline,
  }
}

// setup-disk's select_bootloader_pkg: syslinux; grub-efi on UEFI; grub-bios for GRUB on BIOS.
function planLoaderPackage(loader: Loader, efi: boolean | undefined): Item {
  if (loader === 'extlinux') return { value: 'syslinux', reason: 'update-extlinux writes the kernel command line' }
  if (efi === false) return { value: 'grub-bios', reason: 'boot.loader grub on a BIOS machine (snapshot): grub-mkconfig writes the kernel command line' }
  return { value: 'grub-efi', reason: `boot.loader grub${efi ? ' on a UEFI machine (snapshot)' : ' (UEFI assumed without a snapshot)'}: grub-mkconfig writes the kernel command line` }
}

function planKernelOpts(profile: Profile, hostOpts: string[]): Item[] {
  const opts: Item[] = hostOpts.map((o) => ({ value: o, reason: HOST }))
  for (const o of profile.boot.kernelOpts) {
    if (opts.some((x) => x.value === o)) continue
    // the profile's value wins over the host's for the same option (console= may repeat: kept side by side)
    const same = keyOf(o) !== 'console' && o.includes('=') ? opts.findIndex((x) => x.reason === HOST && keyOf(x.value) === keyOf(o)) : -1
    if (same >= 0) opts[same] = { value: o, reason: `boot.kernelOpts (the host had ${opts[same].value})` }
    else opts.push({ value: o, reason: 'boot.kernelOpts' })
  }
  const has = (key: string) => opts.some((o) => keyOf(o.value) === key)
  if (profile.cpu === 'intel' && !has('intel_iommu')) {
    opts.push({ value: 'intel_iommu=on', reason: 'cpu: intel: Alpine kernels build VT-d without default-on' })
  }
  if (!has('iommu')) {
    opts.push({ value: 'iommu=pt', reason: 'passthrough domain: host devices skip DMA translation, guest devices are isolated' })
  }
  return opts
}

function planInitramfsModules(profile: Profile, hasDevices: boolean, hostModules?: string[]): Item[] {
  const given = profile.boot.initramfsModules
  const items: Item[] = []
  const present = new Set<string>()
  const add = (m: string, reason: string) => {
    const norm = m.replaceAll('-', '_')
    if (!present.has(norm)) items.push({ value: m, reason })
    present.add(norm)
  }
  for (const m of hostModules ?? []) add(m, HOST)
  if (given) for (const m of given) add(m, 'boot.initramfsModules')
  if (!hostModules && !given) {
    const kind = profile.install === 'sys' ? 'sys' : profile.netboot ? 'netboot' : 'diskless'
    const base = { sys: ALPINE_SYS_INITRAMFS_MODULES, diskless: ALPINE_DISKLESS_INITRAMFS_MODULES, netboot: ALPINE_NETBOOT_INITRAMFS_MODULES }[kind]
    for (const m of base) add(m, `Alpine's default for ${kind} installs`)
  }
  if (hasDevices) {
    for (const m of VFIO_CMDLINE_MODULES) {
      add(m, (m === 'vfio_iommu_type1'
        ? 'a softdep of vfio that busybox modprobe does not follow: load it by name'
        : 'loaded before coldplug, so vfio-pci claims its devices before any host driver') +
        (profile.install === 'diskless' ? `; diskless: only with the supplementary initramfs (${DISKLESS_SUPPLEMENT}), Alpine's stock one has no vfio modules` : ''))
    }
  }
  return items
}

function planFeatures(profile: Profile, hasDevices: boolean, host?: HostContext): Item[] {
  const given = profile.boot.initramfsFeatures
  const hostFeatures = host?.system?.mkinitfsFeatures != null ? words(host.system.mkinitfsFeatures) : undefined
  if (!hasDevices && !given) return [] // nothing to add: the host's mkinitfs.conf stays as it is
  const items: Item[] = []
  const add = (f: string, reason: string) => { if (!items.some((i) => i.value === f)) items.push({ value: f, reason }) }
  for (const f of hostFeatures ?? []) add(f, HOST)
  for (const f of given ?? []) add(f, 'boot.initramfsFeatures')
  if (!hostFeatures && !given) for (const f of ALPINE_DEFAULT_FEATURES) add(f, "mkinitfs' default feature")
  if (hasDevices) add('vfio', 'features.d/vfio.modules: the VFIO modules in the initramfs')
  return items
}
