// check (the host's job): guests, pools and the bridge must fit together and fit the passthrough
// devices, or libvirtd would refuse them at start (or, worse, start them on a host that loses a device).
import type { CheckIssue } from './profileCheck.js'
import { PCI_ADDRESS, osinfoId, resolveHostdev } from '../profile/profileRules.js'
import type { Profile } from '../profile/profileSchema.js'

// resolved: the snapshot has turned passthrough.usb entries into devices (nothing is deferred any more)
export function checkGuests(profile: Profile, resolved = false): CheckIssue[] {
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
  const groupOwner = new Map<number, { guest: string; addresses: string[] }>()
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
        // passthrough.usb entries become devices through the snapshot: their names and addresses are checked then
        if (!resolved && usbPending(profile, h)) return
        issues.push({ path: at('hostdevs', hi), message: ref.message })
        return
      }
      if (ref.kind === 'usb') {
        const entry = profile.passthrough.usb.findIndex((u) => u.id === `${ref.vendor}:${ref.product}`)
        if (entry >= 0) {
          const name = profile.passthrough.usb[entry].name
          issues.push({ path: at('hostdevs', hi), message: `${h} is passthrough.usb[${entry}]: its controller goes to vfio-pci, so the host cannot pass the device alone; name the controller instead${name ? `: hostdevs: [${name}]` : ' (give the USB entry a name: and use it here)'}` })
          return
        }
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
    // VFIO attaches an IOMMU group to one VM: a guest may take part of a group (the rest stays idle on
    // vfio-pci, which keeps the group viable), but no two guests may share one
    const groups = new Set([...taken].flatMap((k) => devices.filter((d) => d.address === k && d.group !== undefined).map((d) => d.group!)))
    for (const group of [...groups].sort((a, b) => a - b)) {
      const first = groupOwner.get(group)
      if (first !== undefined && first.guest !== g.name) {
        const mine = devices.filter((d) => d.group === group && d.address !== undefined && taken.has(d.address)).map((d) => d.address!)
        issues.push({
          path: at('hostdevs'),
          message: `IOMMU group ${group} is split between guests ${first.guest} (${first.addresses.join(', ')}) and ${g.name} (${mine.join(', ')}): VFIO gives a group to one guest; give all of them to one`,
        })
      } else if (first === undefined) {
        groupOwner.set(group, { guest: g.name, addresses: devices.filter((d) => d.group === group && d.address !== undefined && taken.has(d.address)).map((d) => d.address!) })
      }
    }
  })
  return issues
}

// A hostdev that names what a passthrough.usb entry resolves to (its name, or a PCI address) before the
// snapshot has resolved it.
function usbPending(profile: Profile, ref: string): boolean {
  const usb = profile.passthrough.usb
  if (usb.length === 0) return false
  return usb.some((u) => u.name === ref) || PCI_ADDRESS.test(ref)
}
