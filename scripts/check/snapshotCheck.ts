// check a profile against a host snapshot: every device exists with the id the profile says, whole IOMMU
// groups go (siblings named), the boot storage and the management NIC never go, an id that would also
// take a protected device asks for address binding, and USB devices resolve to their controller's group.
// Pure: (profile, snapshot) -> the profile with USB devices expanded, plus problems a person can act on.
import type { CheckIssue } from './profileCheck.js'
import { bindsById, type Fingerprint } from '../profile/profileRules.js'
import type { PassthroughDevice, Profile } from '../profile/profileSchema.js'
import type { Snapshot, SnapshotPci } from '../snapshot/snapshotSchema.js'
import { IOMMU_OFF_MESSAGE, iommuOff, protectedDevices } from '../snapshot/snapshotInspect.js'
import { checkGuests } from './guestCheck.js'

export interface SnapshotCheck {
  profile: Profile // passthrough.devices with the USB entries expanded
  issues: CheckIssue[]
  passed: SnapshotPci[] // every function that would go to vfio-pci on this host
}

// With a snapshot every passed function is known by address: bind each by address (so the guard can
// refuse one) and fingerprint it. Names and group annotations stay with their entries for the guests.
export function pinToSnapshot(profile: Profile, snap: Snapshot, passed: SnapshotPci[]): { profile: Profile; fingerprint: Map<string, Fingerprint> } {
  const devices: PassthroughDevice[] = []
  for (const d of profile.passthrough.devices) {
    const mine = passed.filter((p) => (d.address !== undefined ? p.address === d.address : p.id === d.id))
    const group = (p: SnapshotPci) => (p.group !== null ? { group: p.group } : {})
    if (mine.length === 1) devices.push({ ...d, address: mine[0].address, id: mine[0].id, bind: undefined, ...group(mine[0]) })
    else for (const p of mine) devices.push({ address: p.address, id: p.id, ...group(p) })
  }
  const fingerprint = new Map<string, Fingerprint>()
  for (const p of passed) {
    const members = p.group === null ? [p] : snap.pci.filter((x) => x.group === p.group)
    const group = members.map((x) => `${x.address}/${x.id}`).sort()
    fingerprint.set(p.address, { id: p.id, subsystem: p.subsystem, group })
  }
  return { profile: { ...profile, passthrough: { ...profile.passthrough, devices } }, fingerprint }
}

const entry = (d: SnapshotPci) => `{ address: "${d.address}", id: "${d.id}" }`
const describe = (d: SnapshotPci) => `${d.address} [${d.id}]${d.driver ? ` (${d.driver})` : ''}`

// The guard compares every member of a passed function's group, per function: the hook script grows with the
// square of the group size (92 MB from one hostile snapshot). Real groups hold a handful of functions.
export const MAX_GROUP_MEMBERS = 64

export function checkAgainstSnapshot(profile: Profile, snap: Snapshot, snapName: string): SnapshotCheck {
  const issues: CheckIssue[] = []
  const host = snap.host ?? snapName
  const byAddress = new Map(snap.pci.map((d) => [d.address, d]))
  const devices: PassthroughDevice[] = [...profile.passthrough.devices]
  const wanted = devices.length > 0 || profile.passthrough.usb.length > 0
  if (profile.boot.loader !== undefined && snap.system?.bootloader != null && profile.boot.loader !== snap.system.bootloader) {
    issues.push({ path: ['boot', 'loader'], message: `${host} boots with ${snap.system.bootloader} (snapshot), not ${profile.boot.loader}: the options would go to a file its loader never reads; remove boot.loader (the snapshot's is used) or set ${snap.system.bootloader}` })
  }
  // no groups at all: nothing can be checked, and a USB device would resolve to its controller alone
  if (wanted && iommuOff(snap)) {
    issues.push({ path: ['passthrough'], message: `${host}: ${IOMMU_OFF_MESSAGE}` })
    return { profile, issues, passed: [] }
  }

  // USB devices -> their controller -> the controller's whole group (seed 001's detective work); the
  // controller takes the USB entry's name, so a guest can name it
  profile.passthrough.usb.forEach((u, i) => {
    const want = u.product?.trim().toLowerCase()
    const found = snap.usb.filter((x) => (want !== undefined ? x.product?.trim().toLowerCase() === want : x.id === u.id))
    const ctrl = found.length > 0 && found[0].controller !== null ? found[0].controller : undefined
    if (ctrl === undefined || u.name === undefined || new Set(found.map((x) => x.controller)).size > 1) return
    const at = devices.findIndex((x) => x.address === ctrl)
    if (at >= 0 && devices[at].name !== undefined && devices[at].name !== u.name) {
      issues.push({ path: ['passthrough', 'usb', i, 'name'], message: `${ctrl} is already named ${devices[at].name} in passthrough.devices: use that name, or drop this one` })
    } else if (at >= 0) devices[at] = { ...devices[at], name: u.name }
    else devices.push({ address: ctrl, id: byAddress.get(ctrl)?.id, name: u.name })
  })
  profile.passthrough.usb.forEach((u, i) => {
    const want = u.product?.trim().toLowerCase()
    const found = snap.usb.filter((x) => (want !== undefined ? x.product?.trim().toLowerCase() === want : x.id === u.id))
    const what = u.product !== undefined ? `"${u.product}"` : u.id!
    const controllers = [...new Set(found.map((x) => x.controller).filter((c): c is string => c !== null))]
    if (controllers.length === 0) {
      const seen = snap.usb.map((x) => `${x.product ?? x.id} (${x.port})`).join(', ')
      issues.push({ path: ['passthrough', 'usb', i], message: `no USB device ${what} on ${host}${seen ? `; it has: ${seen}` : ''}` })
      return
    }
    if (controllers.length > 1) {
      issues.push({ path: ['passthrough', 'usb', i], message: `${what} sits under several controllers (${controllers.join(', ')}): name the one to pass with passthrough.devices` })
      return
    }
    const ctrl = byAddress.get(controllers[0])
    if (!ctrl) return
    const group = ctrl.group === null ? [ctrl] : snap.pci.filter((d) => d.group === ctrl.group && !d.bridge)
    for (const d of group) {
      if (!devices.some((x) => x.address === d.address || (x.address === undefined && x.id === d.id))) {
        devices.push({ address: d.address, id: d.id })
      }
    }
  })

  // what would go to vfio-pci on this host: address-bound functions and every match of an ids= entry
  const passed = new Map<string, SnapshotPci>()
  devices.forEach((d, i) => {
    const at = ['passthrough', 'devices', Math.min(i, profile.passthrough.devices.length - 1)]
    if (d.address !== undefined) {
      const real = byAddress.get(d.address)
      if (!real) {
        const same = d.id ? snap.pci.filter((x) => x.id === d.id).map((x) => x.address) : []
        issues.push({ path: [...at, 'address'], message: `${d.address} does not exist on ${host}${same.length ? `; ${d.id} is at ${same.join(', ')}` : ''}` })
        return
      }
      if (d.id !== undefined && real.id !== d.id) {
        issues.push({ path: [...at, 'id'], message: `${d.address} is ${real.id}${real.driver ? ` (${real.driver})` : ''} on ${host}, not ${d.id}: fix the address or the id` })
        return
      }
      if (d.group !== undefined && real.group !== null && real.group !== d.group) {
        issues.push({ path: [...at, 'group'], message: `${d.address} is in IOMMU group ${real.group} on ${host}, not ${d.group}: fix the group (or remove it: the snapshot gives it)` })
      }
    }
    if (d.id !== undefined && bindsById(d)) {
      const matches = snap.pci.filter((x) => x.id === d.id)
      if (matches.length === 0) issues.push({ path: [...at, 'id'], message: `no device with id ${d.id} on ${host}` })
      for (const m of matches) passed.set(m.address, m)
    } else if (d.address !== undefined) passed.set(d.address, byAddress.get(d.address)!)
  })

  // never the host's own storage or management NIC; an id that would take one asks for address binding
  const keep = protectedDevices(snap)
  devices.forEach((d, i) => {
    const at = ['passthrough', 'devices', Math.min(i, profile.passthrough.devices.length - 1)]
    const mine = [...passed.values()].filter((p) => (d.address !== undefined && !bindsById(d) ? p.address === d.address : p.id === d.id))
    for (const p of mine) {
      const why = keep.get(p.address)
      if (!why) continue
      const others = mine.filter((x) => !keep.has(x.address))
      issues.push({
        path: at,
        message: `${describe(p)} is ${why.join(' and ')} of ${host}: passing it would lock the host out` +
          (bindsById(d) && others.length > 0 ? `; ${d.id} matches it too, so bind the others by address: ${others.map(entry).join(', ')}` : ''),
      })
    }
  })

  // whole groups: every non-bridge sibling of a passed function goes too
  const reported = new Set<number>()
  for (const p of passed.values()) {
    if (p.group === null || reported.has(p.group)) continue
    const missing = snap.pci.filter((x) => x.group === p.group && !x.bridge && !passed.has(x.address))
    if (missing.length > 0) {
      reported.add(p.group)
      const members = [...passed.values()].filter((x) => x.group === p.group).map((x) => x.address).join(', ')
      issues.push({
        path: ['passthrough', 'devices'],
        message: `IOMMU group ${p.group} on ${host} also holds ${missing.map(describe).join(', ')}, which would stay with the host while ${members} go: ` +
          `add ${missing.map(entry).join(', ')}, or move the device to a slot with a group of its own`,
      })
    }
  }
  const sizes = new Map<number, number>()
  for (const d of snap.pci) if (d.group !== null) sizes.set(d.group, (sizes.get(d.group) ?? 0) + 1)
  const huge = [...new Set([...passed.values()].map((p) => p.group))].filter((g): g is number => g !== null && sizes.get(g)! > MAX_GROUP_MEMBERS)
  if (huge.length > 0) {
    issues.push({ path: ['passthrough', 'devices'], message: `IOMMU group ${huge.map((g) => `${g} has ${sizes.get(g)} functions`).join(', ')} on ${host}; a passed group may have at most ${MAX_GROUP_MEMBERS} (the guard checks every member for every function)` })
  }
  return { profile: { ...profile, passthrough: { ...profile.passthrough, devices } }, issues, passed: [...passed.values()] }
}

// After the USB entries are expanded: the guests again (a guest may name a resolved controller), and a
// usb: hostdev whose controller goes to vfio-pci (the host no longer owns that USB bus, libvirt cannot pass it).
export function checkGuestsOnHost(profile: Profile, snap: Snapshot, passed: SnapshotPci[]): CheckIssue[] {
  const issues = checkGuests(profile, true)
  const onVfio = new Set(passed.map((p) => p.address))
  profile.guests.forEach((g, gi) => g.hostdevs.forEach((h, hi) => {
    const m = /^usb:([0-9a-f]{4}:[0-9a-f]{4})$/.exec(h)
    if (!m) return
    const ctrl = snap.usb.find((u) => u.id === m[1] && u.controller !== null && onVfio.has(u.controller))?.controller
    if (!ctrl) return
    const d = profile.passthrough.devices.find((x) => x.address === ctrl)
    const instead = d?.name ?? ctrl
    issues.push({
      path: ['guests', gi, 'hostdevs', hi],
      message: `${h} sits under ${ctrl}, which this profile hands to vfio-pci: the host no longer owns that USB bus, so libvirt cannot pass the device alone. Pass its controller instead: hostdevs: [${/^[a-z]/.test(instead) ? instead : `"${instead}"`}]`,
    })
  }))
  return issues
}
