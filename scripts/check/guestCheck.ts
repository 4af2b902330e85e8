// check (the host's job): guests, pools and the bridge must fit together and fit the passthrough
// devices, or libvirtd would refuse them at start (or, worse, start them on a host that loses a device).
import type { CheckIssue } from './profileCheck.js'
import { osinfoId, resolveHostdev } from '../profile/profileRules.js'
import type { Profile } from '../profile/profileSchema.js'

export function checkGuests(profile: Profile): CheckIssue[] {
  const issues: CheckIssue[] = []
  const devices = profile.passthrough.devices
  const pools = new Set((profile.storage?.pools ?? []).map((p) => p.name))
  const poolNames = new Map<string, number>()
  ;(profile.storage?.pools ?? []).forEach((p, i) => {
    const first = poolNames.get(p.name)
    if (first !== undefined) issues.push({ path: ['storage', 'pools', i, 'name'], message: `pool ${p.name} is defined twice (also pools[${first}])` })
    else poolNames.set(p.name, i)
  })
  const guestNames = new Map<string, number>()
  const macs = new Map<string, string>()
  const owner = new Map<string, string>() // PCI address or usb id -> guest
  profile.guests.forEach((g, gi) => {
    const at = (...rest: (string | number)[]) => ['guests', gi, ...rest]
    const first = guestNames.get(g.name)
    if (first !== undefined) issues.push({ path: at('name'), message: `guest ${g.name} is defined twice (also guests[${first}])` })
    else guestNames.set(g.name, gi)

    g.disks.forEach((d, di) => {
      const pool = d.volume?.split('/')[0]
      if (pool !== undefined && !pools.has(pool)) {
        issues.push({ path: at('disks', di, 'volume'), message: `pool ${pool} is not in storage.pools${pools.size ? ` (${[...pools].join(', ')})` : ''}: add it, or give the disk a path` })
      }
    })

    if (g.network) {
      if (profile.network && g.network.bridge !== profile.network.bridge) {
        issues.push({ path: at('network', 'bridge'), message: `${g.network.bridge} is not the host's bridge (network.bridge is ${profile.network.bridge})` })
      }
      const mac = g.network.mac?.toLowerCase()
      if (mac !== undefined) {
        const octet = parseInt(mac.slice(0, 2), 16)
        if ((octet & 0x01) !== 0) issues.push({ path: at('network', 'mac'), message: `${mac} is a multicast address: the first octet must be even` })
        else if ((octet & 0x02) === 0) issues.push({ path: at('network', 'mac'), message: `${mac} is not locally administered (it could clash with real hardware): use a 52:54:00 (QEMU) prefix or set bit 0x02 of the first octet` })
        const other = macs.get(mac)
        if (other !== undefined) issues.push({ path: at('network', 'mac'), message: `${mac} is also the MAC of guest ${other}` })
        else macs.set(mac, g.name)
      }
    }

    if (g.osVariant !== undefined && osinfoId(g.osVariant) === undefined) {
      issues.push({ path: at('osVariant'), message: `${g.osVariant}: give the libosinfo id as a URL (osinfo-query os), e.g. http://alpinelinux.org/alpinelinux/3.14` })
    }

    const taken = new Set<string>()
    g.hostdevs.forEach((h, hi) => {
      const ref = resolveHostdev(profile, h)
      if (ref.kind === 'error') {
        issues.push({ path: at('hostdevs', hi), message: ref.message })
        return
      }
      const key = ref.kind === 'pci' ? ref.address : `usb:${ref.vendor}:${ref.product}`
      if (taken.has(key)) {
        issues.push({ path: at('hostdevs', hi), message: `${key} is listed twice for this guest` })
        return
      }
      taken.add(key)
      const prev = owner.get(key)
      if (prev !== undefined) issues.push({ path: at('hostdevs', hi), message: `${key} is already given to guest ${prev}: one device, one guest` })
      else owner.set(key, g.name)
    })
    // a guest that takes one function of an IOMMU group takes them all (the profile's group: annotations)
    const groups = new Set([...taken].flatMap((k) => devices.filter((d) => d.address === k && d.group !== undefined).map((d) => d.group!)))
    for (const group of [...groups].sort((a, b) => a - b)) {
      const missing = devices.filter((d) => d.group === group && d.address !== undefined && !taken.has(d.address)).map((d) => d.name ? `${d.address} (${d.name})` : d.address!)
      const unaddressed = devices.filter((d) => d.group === group && d.address === undefined).map((d) => d.id!)
      if (missing.length > 0 || unaddressed.length > 0) {
        issues.push({
          path: at('hostdevs'),
          message: `guest ${g.name} takes part of IOMMU group ${group} but not ${[...missing, ...unaddressed.map((id) => `${id} (give its address)`)].join(', ')}: a group goes to one guest whole`,
        })
      }
    }
  })
  return issues
}
