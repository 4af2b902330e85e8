// plan: everything derivable from a profile, each item with the reason it is there.
// Pure; `hostbake show` prints it and overlayRender turns it into files.
import { planKernel, seriesAtLeast, type KernelChoice } from '../alpine/kernelSeries.js'
import { ALPINE_DEFAULT_MODULES, ALPINE_DEFAULT_RUNLEVELS, DRIVERS_WITH_OWN_SOFTDEP } from '../alpine/alpineDefaults.js'
import { isBasePackage, packageForService } from '../alpine/alpineServices.js'
import { RUNLEVELS, type Profile, type Runlevel } from '../profile/profileSchema.js'
import { bindsById, derivedServices, type Fingerprint } from '../profile/profileRules.js'
import type { HostContext } from '../profile/profileLoad.js'
import { planGuests, planPools, type PlannedGuest, type PlannedPool } from './libvirtPlan.js'
import { DISKLESS_SUPPLEMENT, planBoot, type Item, type Loader } from './bootPlan.js'
import { planIdle, planNotices, planPreempt } from './planNotices.js'

export type { Item } from './bootPlan.js'

export interface AddressBinding {
  address: string
  id?: string
  // from a host snapshot: the guard also compares these at boot
  subsystem?: string
  group?: string[]
}

export interface HostPlan {
  hostname: string
  cpu: Profile['cpu']
  install: Profile['install']
  loader?: Loader // sys installs: the file that carries the kernel command line
  efi?: boolean // from a snapshot
  notices: string[] // what show says first: what the profile does that a user may not expect
  kernel: KernelChoice
  kernelOpts: Item[] // default_kernel_opts
  initramfsModules: Item[] // modules=
  root?: string
  cmdline: string // what the bootloader passes: update-extlinux's APPEND line, or the boot media's
  mkinitfsFeatures: Item[]
  vfioModules: Item[] // features.d/vfio.modules globs
  vfioFiles: Item[] // features.d/vfio.files
  vfioIds: Item[]
  vfioAddresses: AddressBinding[]
  modprobe: Item[] // etc/modprobe.d/vfio.conf lines
  preemptOrdering: Item[] // per preempted driver: what makes vfio-pci claim the devices first
  idle: Item[] // passthrough functions no guest takes: they stay on vfio-pci, unused
  modules: Item[] // etc/modules
  world: Item[]
  repositories: string[]
  runlevels: Record<Runlevel, Item[]>
  network?: NonNullable<Profile['network']>
  pools: PlannedPool[]
  guests: PlannedGuest[]
}

export const OVERRIDE_SCRIPT = '/etc/hostbake/vfio-override.sh' // under /etc so lbu commit keeps it
export function planHost(profile: Profile, fingerprint?: Map<string, Fingerprint>, host?: HostContext): HostPlan {
  const kernel = planKernel(profile.alpine)
  const hasDevices = profile.passthrough.devices.length > 0
  const vfioIds = planVfioIds(profile)
  const vfioAddresses = profile.passthrough.devices
    .filter((d) => d.address !== undefined && !bindsById(d))
    .map((d) => {
      const f = fingerprint?.get(d.address!)
      return { address: d.address!, ...(d.id ? { id: d.id } : {}), ...(f?.subsystem ? { subsystem: f.subsystem } : {}), ...(f ? { group: f.group } : {}) }
    })
  const preempt = planPreempt(profile, host)
  const modprobe = planModprobe(profile, preempt.map((p) => p.value), vfioIds, vfioAddresses)
  const usesKmod = modprobe.some((l) => /^(softdep|install) /.test(l.value))
  const boot = planBoot(profile, hasDevices, host)
  const runlevels = planRunlevels(profile)
  const guests = planGuests(profile)
  return {
    hostname: profile.hostname,
    cpu: profile.cpu,
    install: profile.install,
    ...(boot.loader ? { loader: boot.loader } : {}),
    ...(boot.efi !== undefined ? { efi: boot.efi } : {}),
    notices: planNotices(profile, host),
    kernel,
    kernelOpts: boot.kernelOpts,
    initramfsModules: boot.initramfsModules,
    ...(boot.root ? { root: boot.root } : {}),
    cmdline: boot.cmdline,
    mkinitfsFeatures: boot.mkinitfsFeatures,
    vfioModules: hasDevices ? planVfioModules(kernel) : [],
    vfioFiles: vfioAddresses.length > 0
      ? [{ value: OVERRIDE_SCRIPT, reason: 'the install lines run it in the initramfs too, so mkinitfs must copy it there' }]
      : [],
    vfioIds,
    vfioAddresses,
    modprobe,
    preemptOrdering: planPreemptOrdering(profile, preempt, hasDevices),
    idle: planIdle(profile, guests),
    modules: planModules(profile, host),
    world: planWorld(profile, kernel, usesKmod, runlevels, boot.loaderPackage, host),
    repositories: planRepositories(profile, host),
    runlevels,
    ...(profile.network ? { network: profile.network } : {}),
    pools: planPools(profile),
    guests,
  }
}

// Module files by kernel series; globs (.ko*) because Alpine compresses modules (.ko.gz, .ko.zst).
export function planVfioModules(kernel: KernelChoice): Item[] {
  const items: Item[] = [
    { value: 'kernel/drivers/vfio/vfio.ko*', reason: 'VFIO core' },
    { value: 'kernel/drivers/vfio/vfio_iommu_type1.ko*', reason: 'a softdep of vfio: mkinitfs follows only modules.dep, so it must be named' },
  ]
  if (!seriesAtLeast(kernel.series, '6.2')) {
    items.push({ value: 'kernel/drivers/vfio/vfio_virqfd.ko*', reason: `kernel ${kernel.series}: still a module (folded into vfio in 6.2)` })
  }
  if (seriesAtLeast(kernel.series, '5.15')) {
    items.push({ value: 'kernel/drivers/vfio/pci/vfio-pci-core.ko*', reason: `kernel ${kernel.series}: split out of vfio-pci in 5.15` })
  }
  items.push({ value: 'kernel/drivers/vfio/pci/vfio-pci.ko*', reason: 'the driver that holds passthrough devices' })
  return items
}

function planVfioIds(profile: Profile): Item[] {
  const ids = new Map<string, string>()
  profile.passthrough.devices.forEach((d, i) => {
    if (d.id !== undefined && bindsById(d) && !ids.has(d.id)) {
      ids.set(d.id, `passthrough.devices[${i}]: every device with this id`)
    }
  })
  return [...ids].map(([value, reason]) => ({ value, reason }))
}

function planModprobe(profile: Profile, preempt: string[], ids: Item[], addresses: AddressBinding[]): Item[] {
  const lines: Item[] = []
  const { allowUnsafeInterrupts } = profile.passthrough
  if (ids.length > 0) {
    lines.push({ value: `options vfio-pci ids=${ids.map((i) => i.value).join(',')}`, reason: 'bind these vendor:device ids when vfio-pci loads (busybox and kmod modprobe both honour options)' })
  }
  if (addresses.length > 0) {
    lines.push({
      value: `install vfio-pci ${OVERRIDE_SCRIPT}; /sbin/modprobe --ignore-install vfio-pci $CMDLINE_OPTS`,
      reason: `set driver_override for ${addresses.map((a) => a.address).join(', ')} before vfio-pci loads (kmod runs install lines; busybox ignores them)`,
    })
  }
  for (const drv of preempt) {
    // kmod ignores both softdep and install lines for these; modules= is what makes vfio-pci win
    if (DRIVERS_WITH_OWN_SOFTDEP.has(drv.replaceAll('-', '_'))) continue
    if (addresses.length > 0) {
      lines.push({
        value: `install ${drv} ${OVERRIDE_SCRIPT}; /sbin/modprobe vfio-pci; /sbin/modprobe --ignore-install ${drv} $CMDLINE_OPTS`,
        reason: `passthrough.preempt: mark the address-bound devices for vfio-pci before ${drv} can probe them`,
      })
    } else {
      lines.push({ value: `softdep ${drv} pre: vfio-pci`, reason: `passthrough.preempt: load vfio-pci before ${drv} so it claims the devices first` })
    }
  }
  if (allowUnsafeInterrupts) {
    lines.push({ value: 'options vfio_iommu_type1 allow_unsafe_interrupts=1', reason: 'passthrough.allowUnsafeInterrupts (platform without interrupt remapping)' })
  }
  return lines
}

function planPreemptOrdering(profile: Profile, preempt: Item[], hasDevices: boolean): Item[] {
  const viaModules = profile.install === 'diskless' ? `modules= on the boot media command line, with the supplementary initramfs (${DISKLESS_SUPPLEMENT})`
    : profile.boot.loader === 'grub' ? 'modules= in GRUB_CMDLINE_LINUX_DEFAULT' : 'modules= on the kernel command line (update-extlinux.conf or /etc/default/grub)'
  return preempt.map(({ value: drv, reason: why }) => ({
    value: drv,
    reason: `${why}: ` + (DRIVERS_WITH_OWN_SOFTDEP.has(drv.replaceAll('-', '_'))
      ? `has a softdep of its own, so kmod ignores softdep and install lines for it: vfio-pci wins only because ${viaModules} loads it before coldplug (keep vfio-pci there)`
      : `a modprobe.d line loads vfio-pci first${hasDevices ? `; ${viaModules} loads it before coldplug anyway` : ''}`),
  }))
}

function planModules(profile: Profile, host?: HostContext): Item[] {
  // the host's own lines (snapshot) first, else alpine-baselayout's: this file replaces the host's
  const hostLines = host?.system?.modules
  const items: Item[] = hostLines
    ? hostLines.map((m) => ({ value: m, reason: "the host's /etc/modules (snapshot): kept" }))
    : ALPINE_DEFAULT_MODULES.map((m) => ({ value: m, reason: "alpine-baselayout's /etc/modules (this file replaces it)" }))
  const seen = new Set(items.map((i) => i.value.split(/\s/)[0]))
  for (const m of profile.modules) {
    if (!seen.has(m)) items.push({ value: m, reason: 'modules' })
    seen.add(m)
  }
  if (profile.guests.length > 0 && !seen.has('tun')) items.push({ value: 'tun', reason: 'guests: libvirt needs /dev/net/tun for their network' })
  return items
}

// Written only when the profile adds repositories; then the host's (snapshot) stay first, or apk loses main.
function planRepositories(profile: Profile, host?: HostContext): string[] {
  if (profile.repositories.length === 0) return []
  const lines = [...(host?.system?.repositories ?? [])]
  for (const r of profile.repositories) if (!lines.includes(r)) lines.push(r)
  return lines
}

// World lines by package name: a host's `openssh>9` and our `openssh` are one package.
const pkgName = (line: string) => line.split(/[@<>~=]/)[0]

function planWorld(profile: Profile, kernel: KernelChoice, usesKmod: boolean, runlevels: Record<Runlevel, Item[]>, loaderPackage: Item | undefined, host?: HostContext): Item[] {
  const world = new Map<string, string>([['alpine-base', 'the base system (a diskless boot adds it anyway)']])
  if (profile.install === 'sys') {
    world.set(kernel.package, `the kernel: ${kernel.reason}`)
    world.set('mkinitfs', 'rebuilds the initramfs with the vfio feature')
    if (loaderPackage) world.set(loaderPackage.value, loaderPackage.reason)
  }
  // a listed service needs the package that ships its init script (scripts/alpine/alpineServices.ts)
  for (const level of RUNLEVELS) {
    for (const svc of runlevels[level]) {
      const pkg = packageForService(svc.value)
      if (pkg && !isBasePackage(pkg) && !world.has(pkg)) world.set(pkg, `runlevel ${level} runs ${svc.value}, whose init script ${pkg} ships`)
    }
  }
  if (usesKmod) world.set('kmod', 'busybox modprobe ignores softdep and install lines; kmod honours them in the rootfs')
  if (profile.network) world.set('bridge', `network.bridge ${profile.network.bridge}: bridge support for ifupdown`)
  if (profile.guests.length > 0 || (profile.storage?.pools.length ?? 0) > 0) {
    world.set('libvirt-daemon', 'guests and storage pools are defined in libvirtd')
  }
  if (profile.guests.length > 0) world.set('qemu-system-x86_64', 'guests: the emulator libvirt runs')
  if (profile.guests.some((g) => g.firmware === 'uefi')) world.set('ovmf', 'guests with firmware: uefi boot OVMF')
  for (const p of profile.packages) if (!world.has(p)) world.set(p, 'packages')
  // built against a snapshot: everything the host has stays (an apk run would remove what the world drops)
  const names = new Set([...world.keys()].map(pkgName))
  for (const line of host?.system?.world ?? []) {
    if (names.has(pkgName(line))) continue
    world.set(line, "the host's /etc/apk/world (snapshot): kept, or the next apk run removes it")
    names.add(pkgName(line))
  }
  return [...world].map(([value, reason]) => ({ value, reason })).sort((a, b) => cmp(a.value, b.value))
}

function planRunlevels(profile: Profile): Record<Runlevel, Item[]> {
  const out = {} as Record<Runlevel, Item[]>
  for (const level of RUNLEVELS) {
    const items: Item[] = ALPINE_DEFAULT_RUNLEVELS[level].map((s) => ({ value: s, reason: "Alpine's default (as .default_boot_services would add)" }))
    for (const s of profile.services[level]) {
      if (!items.some((i) => i.value === s)) items.push({ value: s, reason: `services.${level}` })
    }
    out[level] = items
  }
  // derived services go where Alpine's setup puts them, unless the profile placed them itself
  const placed = new Set(RUNLEVELS.flatMap((l) => out[l].map((i) => i.value)))
  const derive = (level: Runlevel, svc: string, reason: string) => {
    if (!placed.has(svc)) out[level].push({ value: svc, reason })
    placed.add(svc)
  }
  for (const d of derivedServices(profile)) derive(d.level, d.svc, d.reason)
  return out
}

// Byte order, not locale order: the same on every machine.
export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
