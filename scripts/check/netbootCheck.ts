// check netboot: what a MAC-keyed network boot needs beyond the shape.
import type { Profile } from '../profile/profileSchema.js'
import type { CheckIssue } from './profileCheck.js'

export function checkNetboot(profile: Profile): CheckIssue[] {
  const nb = profile.netboot
  if (nb === undefined) return []
  const issues: CheckIssue[] = []
  // Alpine's netboot initramfs has no disk features: a network-booted host runs from RAM
  if (profile.install !== 'diskless') {
    issues.push({ path: ['install'], message: 'a netboot host runs from RAM: set install: diskless (an Alpine netboot has no disk to install to)' })
  }
  const seen = new Map<string, number>()
  nb.mac.forEach((mac, i) => {
    const first = seen.get(mac)
    if (first !== undefined) issues.push({ path: ['netboot', 'mac', i], message: `${mac} is listed twice (also netboot.mac[${first}])` })
    else seen.set(mac, i)
  })
  profile.guests.forEach((g, i) => {
    const mac = g.network?.mac?.toLowerCase()
    if (mac !== undefined && seen.has(mac)) {
      issues.push({ path: ['guests', i, 'network', 'mac'], message: `${mac} is also this host's netboot MAC: a guest NIC and the host NIC would share an address` })
    }
  })
  return issues
}
