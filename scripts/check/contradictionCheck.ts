// check: fields that each look fine but together make a host that cannot do its job, or cannot boot:
// an IOMMU switched off under passthrough devices, a derived service moved out of its runlevel, a preempted
// driver vfio-pci itself needs (kmod install-line recursion), an address binding the guard cannot check,
// and test devices that are more than device definitions.
import type { CheckIssue } from './profileCheck.js'
import { VFIO_PCI_NEEDS_ANY } from '../alpine/vfioDeps.js'
import { SERVICE_LEVEL, bindsById, derivedServices } from '../profile/profileRules.js'
import { RUNLEVELS, type Profile } from '../profile/profileSchema.js'
import { testDeviceProblems } from '../profile/testDevices.js'

export interface CheckOptions {
  // the profile will be pinned to a host snapshot (ids recorded for address bindings)
  snapshot?: boolean
}

export function checkContradictions(profile: Profile, opts: CheckOptions = {}): CheckIssue[] {
  return [...checkIommuOff(profile), ...checkRunlevelMoves(profile), ...checkPreemptRecursion(profile), ...checkAddressGuard(profile, opts), ...checkTestDevices(profile)]
}

// Options that switch the IOMMU (or its interrupt remapping, or vfio itself) off: passthrough then cannot work.
function checkIommuOff(profile: Profile): CheckIssue[] {
  const passing = profile.passthrough.devices.length > 0 || profile.passthrough.usb.length > 0
  if (!passing) return []
  const vfio = new Set(VFIO_PCI_NEEDS_ANY)
  return profile.boot.kernelOpts.flatMap((opt, i): CheckIssue[] => {
    const eq = opt.indexOf('=')
    const key = (eq < 0 ? opt : opt.slice(0, eq)).replaceAll('-', '_')
    const values = eq < 0 ? [] : opt.slice(eq + 1).split(',')
    const at = ['boot', 'kernelOpts', i]
    if (['intel_iommu', 'amd_iommu', 'iommu'].includes(key) && values.includes('off')) {
      return [{ path: at, message: `${opt} switches the IOMMU off, and this profile passes devices through: vfio-pci would have no IOMMU group to bind; remove it` }]
    }
    if ((key === 'intremap' && values.includes('off')) || key === 'nointremap') {
      if (profile.passthrough.allowUnsafeInterrupts) return []
      return [{ path: at, message: `${opt} turns interrupt remapping off: vfio refuses to assign devices without it (set passthrough.allowUnsafeInterrupts: true only on a platform that has none)` }]
    }
    if (['module_blacklist', 'modprobe.blacklist'].includes(key)) {
      const hit = values.filter((m) => vfio.has(m.replaceAll('-', '_')))
      if (hit.length > 0) return [{ path: at, message: `${opt} blacklists ${hit.join(', ')}, which vfio-pci needs to take the passthrough devices` }]
    }
    return []
  })
}

// A service hostbake derives (or whose runlevel Alpine fixes) listed by the profile in another runlevel:
// OpenRC would start it there instead (networking in shutdown: no bridge, no management network).
function checkRunlevelMoves(profile: Profile): CheckIssue[] {
  const must = new Map<string, { level: string; why: string }>(Object.entries(SERVICE_LEVEL).map(([svc, level]) => [svc, { level, why: `${svc} runs in ${level} on Alpine` }]))
  for (const d of derivedServices(profile)) must.set(d.svc, { level: d.level, why: `hostbake puts ${d.svc} in ${d.level}: ${d.reason}` })
  const issues: CheckIssue[] = []
  for (const level of RUNLEVELS) {
    profile.services[level].forEach((svc, i) => {
      const want = must.get(svc)
      if (want && want.level !== level) issues.push({ path: ['services', level, i], message: `${svc} cannot move to ${level}: ${want.why}; list it under services.${want.level} or leave it out` })
    })
  }
  return issues
}

// `install <drv> ...; modprobe vfio-pci; ...` for a driver vfio-pci loads on its way: kmod runs the install
// line again from inside it, forever (a fork bomb in the initramfs). softdep lines loop the same way.
function checkPreemptRecursion(profile: Profile): CheckIssue[] {
  return profile.passthrough.preempt.flatMap((drv, i): CheckIssue[] => {
    const norm = drv.replaceAll('-', '_')
    if (norm === 'vfio_pci' || !VFIO_PCI_NEEDS_ANY.has(norm)) return []
    return [{ path: ['passthrough', 'preempt', i], message: `${drv} is a module vfio-pci itself needs (modules.dep): preempting it would make kmod run its install line forever at boot; list the host drivers of the devices instead` }]
  })
}

// The guard compares what it knows: a device bound by address alone would be handed over whatever sits at
// that address after a renumbering. Its id comes from the profile or from a host snapshot (--snapshot).
function checkAddressGuard(profile: Profile, opts: CheckOptions): CheckIssue[] {
  if (opts.snapshot) return []
  return profile.passthrough.devices.flatMap((d, i): CheckIssue[] => {
    if (d.address === undefined || d.id !== undefined || bindsById(d)) return []
    return [{ path: ['passthrough', 'devices', i, 'address'], message: `${d.address} is bound by address alone: give its id too (lspci -n -s ${d.address}), so the boot-time guard can refuse another device at that address, or build with --snapshot to record it` }]
  })
}

function checkTestDevices(profile: Profile): CheckIssue[] {
  return (profile.test?.devices ?? []).flatMap((d, i) => testDeviceProblems(d).map((message) => ({ path: ['test', 'devices', i], message })))
}
