// diff two snapshots of one host: what moved after a BIOS, kernel or hardware change, in the terms a
// passthrough profile cares about (ids, drivers, IOMMU groups, USB devices, boot storage, management NIC).
import type { Snapshot } from './snapshotSchema.js'
import { escapeControl } from '../shared/safeText.js'

export function diffSnapshots(old: Snapshot, now: Snapshot): string[] {
  const out: string[] = []
  const before = new Map(old.pci.map((d) => [d.address, d]))
  const after = new Map(now.pci.map((d) => [d.address, d]))
  for (const a of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(a)
    const n = after.get(a)
    if (!n) { out.push(`- ${a} [${b!.id}] ${b!.driver ?? ''} is gone`.trimEnd()); continue }
    if (!b) { out.push(`+ ${a} [${n.id}] ${n.driver ?? ''} is new (group ${n.group ?? 'none'})`.trimEnd()); continue }
    for (const field of ['id', 'subsystem', 'class', 'driver', 'group', 'resetMethod', 'parent'] as const) {
      if (b[field] !== n[field]) out.push(`~ ${a} ${field}: ${b[field] ?? 'none'} -> ${n[field] ?? 'none'}`)
    }
  }
  // a group whose members changed, even where each member kept its number
  const members = (s: Snapshot) => {
    const m = new Map<number, string[]>()
    for (const d of s.pci) if (d.group !== null) m.set(d.group, [...(m.get(d.group) ?? []), d.address])
    return m
  }
  const gb = members(old)
  const gn = members(now)
  for (const g of [...new Set([...gb.keys(), ...gn.keys()])].sort((x, y) => x - y)) {
    const x = (gb.get(g) ?? []).sort().join(' ')
    const y = (gn.get(g) ?? []).sort().join(' ')
    if (x !== y) out.push(`~ IOMMU group ${g}: ${x || 'none'} -> ${y || 'none'}`)
  }
  const usbKey = (u: Snapshot['usb'][number]) => `${u.id} ${u.product ?? ''}`.trim()
  const ub = new Map(old.usb.map((u) => [usbKey(u), u]))
  const un = new Map(now.usb.map((u) => [usbKey(u), u]))
  for (const k of [...new Set([...ub.keys(), ...un.keys()])].sort()) {
    const b = ub.get(k)
    const n = un.get(k)
    if (!n) out.push(`- usb ${k} is gone (was under ${b!.controller})`)
    else if (!b) out.push(`+ usb ${k} under ${n.controller}`)
    else if (b.controller !== n.controller) out.push(`~ usb ${k}: controller ${b.controller} -> ${n.controller}`)
  }
  const st = (s: Snapshot) => s.storage.map((x) => `${x.mount} ${x.device} on ${x.controller}`).join(', ')
  if (st(old) !== st(now)) out.push(`~ storage: ${st(old) || 'none'} -> ${st(now) || 'none'}`)
  const nic = (s: Snapshot) => (s.managementNic ? `${s.managementNic.name} on ${s.managementNic.pci.join(' ') || 'no PCI device'}` : 'none')
  if (nic(old) !== nic(now)) out.push(`~ management NIC: ${nic(old)} -> ${nic(now)}`)
  // product strings and driver names come from the host: shown with control characters escaped
  return out.map(escapeControl)
}
