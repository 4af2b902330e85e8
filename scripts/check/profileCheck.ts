// check: what the shape cannot say. Each refusal names the field and, where it helps, what to do.
// Pure: Profile -> issues (field path + message); profileLoad turns paths into file:line:col.
import { RUNLEVELS, type Profile } from '../profile/profileSchema.js'
import { planKernel, seriesAtLeast } from '../alpine/kernelSeries.js'
import { ALPINE_DEFAULT_RUNLEVELS } from '../alpine/alpineDefaults.js'
import { checkGuests } from './guestCheck.js'
import { bindsById } from '../profile/profileRules.js'
import { checkFiles } from './fileCheck.js'
import { checkContradictions, type CheckOptions } from './contradictionCheck.js'
import { checkServicePackages } from './serviceCheck.js'
import { checkNetboot } from './netbootCheck.js'

export interface CheckIssue {
  path: (string | number)[]
  message: string
}

// Which other top-level fields the checks of a field read (a profile whose field failed its shape is
// checked without it; issues that read it are left out).
export const CHECK_READS: Record<string, string[]> = {
  alpine: ['passthrough'], boot: ['cpu', 'alpine', 'passthrough'], modules: ['alpine'], services: ['passthrough', 'network', 'guests', 'storage', 'files'],
  passthrough: ['alpine'], guests: ['passthrough', 'storage', 'network'], storage: [], files: [], test: [],
}

export function checkProfile(profile: Profile, opts: CheckOptions = {}): CheckIssue[] {
  return [
    ...checkKernel(profile),
    ...checkKernelOpts(profile),
    ...checkPassthrough(profile),
    ...checkServices(profile),
    ...checkFiles(profile),
    ...checkContradictions(profile, opts),
    ...checkServicePackages(profile),
    ...checkGuests(profile),
    ...checkNetboot(profile),
  ]
}

function checkKernel(profile: Profile): CheckIssue[] {
  const issues: CheckIssue[] = []
  const kernel = planKernel(profile.alpine)
  if (kernel.flavor === 'virt' && profile.passthrough.devices.length > 0) {
    issues.push({
      path: ['alpine', 'kernel'],
      message: 'linux-virt is built without VFIO, so passthrough cannot work on it; use kernel: lts',
    })
  }
  if (seriesAtLeast(kernel.series, '6.2')) {
    const lists = [['modules', profile.modules], ['boot', 'initramfsModules', profile.boot.initramfsModules ?? []]] as const
    for (const entry of lists) {
      const names = entry[entry.length - 1] as readonly string[]
      const field = entry.slice(0, -1) as string[]
      names.forEach((m, i) => {
        if (m.replaceAll('-', '_') === 'vfio_virqfd') {
          issues.push({ path: [...field, i], message: `vfio_virqfd no longer exists since Linux 6.2 (folded into vfio); kernel ${kernel.series} would fail to load it, remove it` })
        }
      })
    }
  }
  return issues
}

// Options hostbake derives or that cannot work on Alpine kernels.
function checkKernelOpts(profile: Profile): CheckIssue[] {
  const issues: CheckIssue[] = []
  profile.boot.kernelOpts.forEach((opt, i) => {
    const at = ['boot', 'kernelOpts', i]
    const key = opt.split('=')[0]
    if (key === 'pcie_acs_override') {
      issues.push({ path: at, message: 'pcie_acs_override needs the out-of-tree ACS override patch, which Alpine kernels do not carry: the option would be ignored. Move the device to a slot with its own IOMMU group instead' })
    } else if (key === 'amd_iommu' && opt === 'amd_iommu=on') {
      issues.push({ path: at, message: 'amd_iommu=on is not a valid value (the kernel logs "AMD-Vi: Unknown option"); the AMD IOMMU is on whenever the firmware enables it: remove the option' })
    } else if (key === 'intel_iommu' && profile.cpu === 'amd') {
      issues.push({ path: at, message: 'intel_iommu= has no effect on an AMD cpu: remove it (or set cpu: intel)' })
    } else if (key === 'vfio-pci.ids' || key === 'vfio_pci.ids') {
      issues.push({ path: at, message: 'list the devices under passthrough.devices instead: hostbake writes vfio-pci ids to modprobe.d, where both busybox and kmod modprobe read them' })
    } else if (key === 'modules') {
      issues.push({ path: at, message: 'use boot.initramfsModules: update-extlinux writes modules= itself' })
    } else if (key === 'root') {
      issues.push({ path: at, message: 'use boot.root: update-extlinux writes root= itself' })
    } else if (key === 'init') {
      // initramfs-init execs $KOPT_init after switch_root: init=/bin/sh is a root shell, no password, on the console
      issues.push({ path: at, message: `${opt} replaces the system's init (OpenRC): init=/bin/sh hands a root shell without a password to anyone at the console, and any other value skips every service; remove it` })
    } else if (key === 'rdinit') {
      issues.push({ path: at, message: `${opt} replaces Alpine's initramfs init: no modules=, no overlay, no root mount, so the host does not boot; remove it` })
    }
  })
  return issues
}

function checkPassthrough(profile: Profile): CheckIssue[] {
  const issues: CheckIssue[] = []
  const { devices, preempt } = profile.passthrough
  const idOnly = new Map<string, number>()
  const byAddress = new Map<string, number>()
  devices.forEach((d, i) => {
    if (d.address === undefined && d.id !== undefined) {
      const first = idOnly.get(d.id)
      if (first !== undefined) issues.push({ path: ['passthrough', 'devices', i, 'id'], message: `${d.id} is listed twice (also devices[${first}])` })
      else idOnly.set(d.id, i)
    }
    if (d.address !== undefined) {
      const first = byAddress.get(d.address)
      if (first !== undefined) {
        const other = devices[first]
        const conflict = other.id !== undefined && d.id !== undefined && other.id !== d.id
        issues.push({
          path: ['passthrough', 'devices', i, 'address'],
          message: conflict
            ? `${d.address} is listed twice with conflicting ids ${other.id} (devices[${first}]) and ${d.id}: one PCI function has one id`
            : `${d.address} is listed twice (also devices[${first}])`,
        })
      } else byAddress.set(d.address, i)
    }
  })
  // ids= takes every device with that id, which defeats binding one of two identical devices by address.
  const idBound = new Map<string, number>()
  devices.forEach((d, i) => { if (d.id !== undefined && bindsById(d) && !idBound.has(d.id)) idBound.set(d.id, i) })
  devices.forEach((d, i) => {
    if (d.address === undefined || d.id === undefined || bindsById(d)) return
    const first = idBound.get(d.id)
    if (first !== undefined) {
      issues.push({
        path: ['passthrough', 'devices', i, 'id'],
        message: `${d.id} is also bound by id in devices[${first}], which takes every device with that id, so ${d.address} is listed twice; keep the address entry (one device) or the id entry (all of them)`,
      })
    }
  })
  const names = new Map<string, number>()
  devices.forEach((d, i) => {
    if (d.name === undefined) return
    const first = names.get(d.name)
    if (first !== undefined) issues.push({ path: ['passthrough', 'devices', i, 'name'], message: `${d.name} also names devices[${first}]` })
    else names.set(d.name, i)
  })
  const seen = new Set<string>()
  preempt.forEach((drv, i) => {
    const norm = drv.replaceAll('-', '_')
    if (seen.has(norm)) issues.push({ path: ['passthrough', 'preempt', i], message: `${drv} is listed twice` })
    seen.add(norm)
    if (norm === 'vfio_pci') issues.push({ path: ['passthrough', 'preempt', i], message: 'vfio-pci is the driver that takes the devices; list the host drivers it must win over' })
  })
  if (devices.length === 0 && profile.passthrough.usb.length === 0 && preempt.length > 0) {
    issues.push({ path: ['passthrough', 'preempt'], message: 'there are no passthrough.devices to take from these drivers' })
  }
  return issues
}

function checkServices(profile: Profile): CheckIssue[] {
  const issues: CheckIssue[] = []
  const where = new Map<string, string>()
  for (const level of RUNLEVELS) for (const svc of ALPINE_DEFAULT_RUNLEVELS[level]) where.set(svc, `${level} (Alpine default)`)
  for (const level of RUNLEVELS) {
    profile.services[level].forEach((svc, i) => {
      const other = where.get(svc)
      if (other === `${level} (Alpine default)`) return // already enabled there: harmless
      if (other !== undefined) {
        issues.push({ path: ['services', level, i], message: `${svc} is already in runlevel ${other}; a service belongs to one runlevel` })
      } else where.set(svc, level)
    })
  }
  return issues
}
