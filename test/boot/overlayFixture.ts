// Hand-made apkovls for the boot scenarios, shaped like the pipeline's output (relative entries, no `./`),
// until profiles produce them. Each scenario is data: overlay files + machine + expectations.
import { $ } from 'zx'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { BootExpect } from '../../scripts/boot/bootOverlay.js'
import type { QemuMachine } from '../../scripts/boot/qemuBoot.js'

/** path -> file content, or { link } for a symlink, or { content, mode } */
export type OverlayFiles = Record<string, string | { link: string } | { content: string; mode: number }>

export async function packOverlay(dir: string, host: string, files: OverlayFiles): Promise<string> {
  const root = path.join(dir, `${host}.src`)
  await fs.rm(root, { recursive: true, force: true })
  for (const [rel, f] of Object.entries(files)) {
    const dest = path.join(root, rel)
    await fs.mkdir(path.dirname(dest), { recursive: true })
    if (typeof f === 'string') await fs.writeFile(dest, f)
    else if ('link' in f) await fs.symlink(f.link, dest)
    else await fs.writeFile(dest, f.content, { mode: f.mode })
  }
  const out = path.join(dir, `${host}.apkovl.tar.gz`)
  const top = (await fs.readdir(root)).sort()
  await $({ quiet: true })`tar -czf ${out} -C ${root} --sort=name --owner=0 --group=0 ${top}`
  await fs.rm(root, { recursive: true, force: true })
  return out
}

const alpineFeatures = 'ata base cdrom ext4 keymap kms mmc nvme raid scsi usb virtio'

/** the runlevels a diskless setup-alpine + lbu commit leaves (absolute /etc/init.d targets) */
export function runlevels(): OverlayFiles {
  const levels: Record<string, string[]> = {
    sysinit: ['devfs', 'dmesg', 'mdev', 'hwdrivers', 'modloop'],
    boot: ['modules', 'sysctl', 'hostname', 'bootmisc', 'syslog', 'hwclock'],
    default: ['crond', 'libvirtd', 'libvirt-guests'],
    shutdown: ['mount-ro', 'killprocs', 'savecache'],
  }
  const files: OverlayFiles = {}
  for (const [level, svcs] of Object.entries(levels)) {
    for (const s of svcs) files[`etc/runlevels/${level}/${s}`] = { link: `/etc/init.d/${s}` }
  }
  return files
}

export const vfioModulesLines = [
  'kernel/drivers/vfio/vfio.ko*',
  'kernel/drivers/vfio/vfio_virqfd.ko*',
  'kernel/drivers/vfio/vfio_iommu_type1.ko*',
  'kernel/drivers/vfio/pci/vfio-pci.ko*',
  'kernel/drivers/vfio/pci/vfio-pci-core.ko*',
]

export const overrideScript = `#!/bin/sh
# vfio-override.sh ADDR...: pin each PCI address to vfio-pci before the host driver can claim it
for a in "$@"; do
  echo vfio-pci > /sys/bus/pci/devices/$a/driver_override
done
/sbin/modprobe -i vfio-pci
for a in "$@"; do
  [ -e /sys/bus/pci/devices/$a/driver ] || echo $a > /sys/bus/pci/drivers_probe
done
`

export interface OverlayOptions {
  host: string
  /** vfio-pci ids= list */
  ids?: string[]
  /** lines of etc/modprobe.d/vfio.conf after the options line */
  modprobeExtra?: string[]
  vfioModules?: string[]
  /** addresses bound through driver_override from an `install <driver>` line */
  addresses?: { driver: string; addrs: string[] }
  kernelOpts: string
  /** etc/update-extlinux.conf (sys install); false for a diskless overlay */
  extlinux?: boolean
  modules?: string[]
  etcModules?: string[]
  marker?: boolean
  withRunlevels?: boolean
}

export function overlayFiles(o: OverlayOptions): OverlayFiles {
  const conf = [
    ...(o.ids?.length ? [`options vfio-pci ids=${o.ids.join(',')}`] : []),
    'options vfio_iommu_type1 allow_unsafe_interrupts=1',
    ...(o.modprobeExtra ?? []),
  ]
  const files: OverlayFiles = {
    'etc/hostname': `${o.host}\n`,
    'etc/apk/world': ['alpine-base', 'kmod', 'libvirt-daemon', 'qemu-system-x86_64'].join('\n') + '\n',
    'etc/mkinitfs/mkinitfs.conf': `features="${alpineFeatures} vfio"\n`,
    'etc/mkinitfs/features.d/vfio.modules': (o.vfioModules ?? vfioModulesLines).join('\n') + '\n',
    'etc/modules': (o.etcModules ?? ['tun', 'vfio_iommu_type1']).join('\n') + '\n',
  }
  if (o.addresses) {
    const script = '/usr/libexec/hostbake/vfio-override.sh'
    files['etc/mkinitfs/features.d/vfio.files'] = `${script}\n`
    files[script.slice(1)] = { content: overrideScript, mode: 0o755 }
    conf.push(`install ${o.addresses.driver} ${script} ${o.addresses.addrs.join(' ')}; /sbin/modprobe --ignore-install ${o.addresses.driver} $CMDLINE_OPTS`)
  }
  files['etc/modprobe.d/vfio.conf'] = conf.join('\n') + '\n'
  if (o.extlinux !== false) {
    const modules = o.modules ?? ['sd-mod', 'usb-storage', 'ext4', 'vfio', 'vfio-pci', 'vfio_iommu_type1']
    files['etc/update-extlinux.conf'] = `default_kernel_opts="${o.kernelOpts}"\nmodules=${modules.join(',')}\nroot=\n`
  }
  if (o.marker ?? true) files['etc/.default_boot_services'] = ''
  if (o.withRunlevels ?? true) Object.assign(files, runlevels())
  return files
}

export interface Scenario {
  name: string
  overlay: OverlayOptions
  machine: QemuMachine
  expect: BootExpect
  medium?: 'initrd' | 'disk'
  cmdline?: string
  /** for negative controls: the checks that must FAIL (everything else may do as it likes) */
  mustFail?: string[]
}

/** seed 001's host: ICH10 UHCI/EHCI group -> QEMU's ICH9 functions in one slot, sharing one group */
export const ich9Usb = [
  'ich9-usb-uhci1,addr=1d.0,multifunction=on',
  'ich9-usb-uhci2,addr=1d.1',
  'ich9-usb-uhci3,addr=1d.2',
  'ich9-usb-ehci1,addr=1d.7',
]
export const ich9UsbIds = ['8086:2934', '8086:2935', '8086:2936', '8086:293a']
export const ich9UsbGroup = ['0000:00:1d.0', '0000:00:1d.1', '0000:00:1d.2', '0000:00:1d.7']

const intelOpts = 'quiet rootfstype=ext4 intel_iommu=on iommu=pt'
const uhciPair = ['ich9-usb-uhci1,addr=1d.0,multifunction=on', 'ich9-usb-uhci2,addr=1d.1']
const uhciPairIds = ['8086:2934', '8086:2935']
const uhciPairGroup = ['0000:00:1d.0', '0000:00:1d.1']

/** The boot scenarios of issue 3; negative controls list the checks that must fail. */
export const scenarios: Scenario[] = [
  {
    // seed 001: ICH10 UHCI/EHCI group on vfio-pci by ids, softdep line for the host's igb kept verbatim
    name: 'seed001-intel',
    overlay: { host: 'seed001', ids: ich9UsbIds, kernelOpts: intelOpts, modprobeExtra: ['softdep igb pre: vfio-pci'] },
    machine: { iommu: 'intel', devices: [...ich9Usb, 'e1000e,addr=03.0'] },
    expect: { vfioIds: ich9UsbIds, vfioAddresses: [], groups: [ich9UsbGroup], drivers: { '0000:00:03.0': 'e1000e' } },
  },
  {
    // uhci_hcd sits in the initramfs (usb feature) and coldplug would claim the controllers: vfio-pci wins only
    // because `modules=` loads it first. The config softdep for uhci_hcd is ignored by kmod (see neg-uhci-*)
    name: 'uhci-preempt-by-modules',
    overlay: { host: 'uhci', ids: uhciPairIds, kernelOpts: intelOpts, modprobeExtra: ['softdep uhci_hcd pre: vfio-pci'] },
    machine: { iommu: 'intel', devices: uhciPair },
    expect: { vfioIds: uhciPairIds, vfioAddresses: [], groups: [uhciPairGroup] },
  },
  {
    // two identical NICs: 04.0 pinned by address (driver_override from an install line), 03.0 stays on e1000e
    name: 'e1000e-by-address',
    // (no .default_boot_services marker: the overlay's own sysinit links must be enough)
    overlay: { host: 'nics', kernelOpts: intelOpts, addresses: { driver: 'e1000e', addrs: ['0000:00:04.0'] }, marker: false },
    machine: { iommu: 'intel', devices: ['e1000e,addr=03.0', 'e1000e,addr=04.0'] },
    expect: { vfioIds: [], vfioAddresses: ['0000:00:04.0'], drivers: { '0000:00:03.0': 'e1000e' } },
  },
  {
    name: 'seed001-amd',
    overlay: { host: 'seed001amd', ids: ich9UsbIds, kernelOpts: 'quiet rootfstype=ext4 iommu=pt' },
    machine: { iommu: 'amd', devices: ich9Usb },
    expect: { vfioIds: ich9UsbIds, vfioAddresses: [], groups: [ich9UsbGroup] },
  },
  {
    // diskless: no update-extlinux.conf; the apkovl is found at the top level of the boot disk
    name: 'diskless-medium',
    overlay: { host: 'diskless', ids: uhciPairIds, kernelOpts: '', extlinux: false },
    cmdline: 'modules=loop,squashfs,sd-mod,usb-storage,vfio,vfio-pci,vfio_iommu_type1 quiet intel_iommu=on iommu=pt',
    medium: 'disk',
    machine: { iommu: 'intel', devices: uhciPair },
    expect: { vfioIds: uhciPairIds, vfioAddresses: [], groups: [uhciPairGroup] },
  },
  // --- negative controls
  {
    name: 'neg-no-type1',
    overlay: {
      host: 'notype1', ids: uhciPairIds, kernelOpts: intelOpts, etcModules: ['tun'],
      vfioModules: vfioModulesLines.filter((l) => !l.includes('type1')),
    },
    machine: { iommu: 'intel', devices: uhciPair },
    expect: { vfioIds: uhciPairIds, vfioAddresses: [] },
    mustFail: ['initramfs_modules', 'vfio_probe_'],
  },
  {
    name: 'neg-unlisted-sibling',
    overlay: { host: 'sibling', ids: ['8086:2934'], kernelOpts: intelOpts },
    machine: { iommu: 'intel', devices: uhciPair },
    expect: { vfioIds: ['8086:2934'], vfioAddresses: [] },
    mustFail: ['group_clean_', 'vfio_probe_'],
  },
  {
    name: 'neg-no-iommu',
    overlay: { host: 'noiommu', ids: uhciPairIds, kernelOpts: intelOpts },
    machine: { iommu: 'none', devices: uhciPair },
    expect: { vfioIds: uhciPairIds, vfioAddresses: [] },
    mustFail: ['iommu_on', 'iommu_groups', 'driver_0000:00:1d.0'],
  },
  {
    // kmod uses only the first softdep of a module, and uhci_hcd ships its own (pre: ehci_pci)
    name: 'neg-uhci-softdep-only',
    overlay: {
      host: 'softdep', ids: uhciPairIds, kernelOpts: intelOpts, modules: ['sd-mod', 'usb-storage', 'ext4'],
      modprobeExtra: ['softdep uhci_hcd pre: vfio-pci'],
    },
    machine: { iommu: 'intel', devices: uhciPair },
    expect: { vfioIds: uhciPairIds, vfioAddresses: [] },
    mustFail: ['driver_0000:00:1d.0', 'driver_0000:00:1d.1'],
  },
  {
    // kmod 30 skips a module's install command when the module has softdeps (libkmod sets ignorecmd)
    name: 'neg-uhci-install-only',
    overlay: {
      host: 'install', ids: uhciPairIds, kernelOpts: intelOpts, modules: ['sd-mod', 'usb-storage', 'ext4'],
      modprobeExtra: ['install uhci_hcd /sbin/modprobe vfio-pci; /sbin/modprobe --ignore-install uhci_hcd $CMDLINE_OPTS'],
    },
    machine: { iommu: 'intel', devices: uhciPair },
    expect: { vfioIds: uhciPairIds, vfioAddresses: [] },
    mustFail: ['driver_0000:00:1d.0', 'driver_0000:00:1d.1'],
  },
  {
    name: 'neg-no-boot-services',
    overlay: { host: 'noservices', ids: uhciPairIds, kernelOpts: intelOpts, marker: false, withRunlevels: false },
    machine: { iommu: 'intel', devices: uhciPair },
    expect: { vfioIds: uhciPairIds, vfioAddresses: [] },
    mustFail: ['boot_services'],
  },
]
