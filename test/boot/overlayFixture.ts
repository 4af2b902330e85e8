// Hand-made apkovls for the negative controls that hostbake itself would never write (shaped like its
// output: relative entries, no `./`). Each scenario is data: overlay files + machine + expectations.
import { ALPINE_DEFAULT_FEATURES } from '../../scripts/alpine/alpineDefaults.js'
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

const alpineFeatures = ALPINE_DEFAULT_FEATURES.join(' ')

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

export interface OverlayOptions {
  host: string
  /** vfio-pci ids= list */
  ids?: string[]
  /** lines of etc/modprobe.d/vfio.conf after the options line */
  modprobeExtra?: string[]
  vfioModules?: string[]
  kernelOpts: string
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
  files['etc/modprobe.d/vfio.conf'] = conf.join('\n') + '\n'
  const modules = o.modules ?? ['sd-mod', 'usb-storage', 'ext4', 'vfio', 'vfio-pci', 'vfio_iommu_type1']
  files['etc/update-extlinux.conf'] = `default_kernel_opts="${o.kernelOpts}"\nmodules=${modules.join(',')}\nroot=\n`
  if (o.marker ?? true) files['etc/.default_boot_services'] = ''
  if (o.withRunlevels ?? true) Object.assign(files, runlevels())
  return files
}

export interface Scenario {
  name: string
  overlay: OverlayOptions
  machine: QemuMachine
  expect: BootExpect
  /** for negative controls: the checks that must FAIL (everything else may do as it likes) */
  mustFail?: string[]
}

const intelOpts = 'quiet rootfstype=ext4 intel_iommu=on iommu=pt'
const uhciPair = ['ich9-usb-uhci1,addr=1d.0,multifunction=on', 'ich9-usb-uhci2,addr=1d.1']
const uhciPairIds = ['8086:2934', '8086:2935']

/** Negative controls a profile cannot express (hostbake would never write these overlays): each lists the
 * checks that must FAIL, proving the harness catches what breaks real Alpine hosts. Positive scenarios
 * and the other negative controls are profiles: test/boot/profiles/, test/boot/negative/. */
// A modprobe.d line meant to make vfio-pci win over uhci_hcd, without vfio-pci in modules=: kmod ignores it
function uhciOrderingControl(name: string, line: string): Scenario {
  return {
    name,
    overlay: { host: name.replace(/^neg-uhci-/, '').replace(/-only$/, ''), ids: uhciPairIds, kernelOpts: intelOpts, modules: ['sd-mod', 'usb-storage', 'ext4'], modprobeExtra: [line] },
    machine: { iommu: 'intel', devices: uhciPair },
    expect: { vfioIds: uhciPairIds, vfioAddresses: [] },
    mustFail: ['driver_0000:00:1d.0', 'driver_0000:00:1d.1'],
  }
}

export const scenarios: Scenario[] = [
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
  // kmod uses only the first softdep of a module, and uhci_hcd ships its own (pre: ehci_pci)
  uhciOrderingControl('neg-uhci-softdep-only', 'softdep uhci_hcd pre: vfio-pci'),
  // kmod 30 skips a module's install command when the module has softdeps (libkmod sets ignorecmd)
  uhciOrderingControl('neg-uhci-install-only', 'install uhci_hcd /sbin/modprobe vfio-pci; /sbin/modprobe --ignore-install uhci_hcd $CMDLINE_OPTS'),
  {
    name: 'neg-no-boot-services',
    overlay: { host: 'noservices', ids: uhciPairIds, kernelOpts: intelOpts, marker: false, withRunlevels: false },
    machine: { iommu: 'intel', devices: uhciPair },
    expect: { vfioIds: uhciPairIds, vfioAddresses: [] },
    mustFail: ['boot_services'],
  },
]
