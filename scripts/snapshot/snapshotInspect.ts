// inspect: the seeds' two shell loops in one table: IOMMU groups with their devices and drivers, and
// the USB devices under each controller, marking what the host must keep (boot storage, management NIC).
// Types only from the schema: building the zod schema is for loading a snapshot, not for a build without one.
import type { Snapshot } from './snapshotSchema.js'
import { escapeControl } from '../shared/safeText.js'

export interface InspectGroup {
  group: number | null
  devices: { address: string; id: string; class: string; driver: string | null; bridge: boolean; protects: string[]; usb: { port: string; id: string; product: string | null }[] }[]
}

// A host whose IOMMU is off (or not enabled by the kernel options) has no groups at all.
export function iommuOff(s: Snapshot): boolean {
  return s.pci.length > 0 && s.pci.every((d) => d.group === null)
}
export const IOMMU_OFF_MESSAGE = 'IOMMU off: enable VT-d/AMD-Vi in firmware and boot with the options in this profile, then take the snapshot again'

// Devices the host cannot give away: the controllers of / and /boot, the management NIC.
export function protectedDevices(s: Snapshot): Map<string, string[]> {
  const why = new Map<string, string[]>()
  const add = (a: string | null, reason: string) => { if (a) why.set(a, [...(why.get(a) ?? []), reason]) }
  for (const st of s.storage) add(st.controller, `storage of ${st.mount} (${st.device})`)
  for (const a of s.managementNic?.pci ?? []) add(a, `management NIC ${s.managementNic!.name}`)
  return why
}

export function inspectGroups(s: Snapshot): InspectGroup[] {
  const protect = protectedDevices(s)
  const groups = new Map<number | null, InspectGroup>()
  for (const d of [...s.pci].sort((a, b) => (a.address < b.address ? -1 : 1))) {
    const g = groups.get(d.group) ?? { group: d.group, devices: [] }
    groups.set(d.group, g)
    g.devices.push({
      address: d.address, id: d.id, class: d.class, driver: d.driver, bridge: d.bridge, protects: protect.get(d.address) ?? [],
      usb: s.usb.filter((u) => u.controller === d.address).map((u) => ({ port: u.port, id: u.id, product: u.product })),
    })
  }
  return [...groups.values()].sort((a, b) => (a.group ?? Infinity) - (b.group ?? Infinity))
}

export function formatInspect(s: Snapshot): string {
  const out = [`host ${s.host ?? '?'}, kernel ${s.kernel ?? '?'}: ${s.pci.length} PCI functions, ${s.usb.length} USB devices`]
  if (iommuOff(s)) out.push(IOMMU_OFF_MESSAGE)
  for (const g of inspectGroups(s)) {
    out.push(g.group === null ? 'no IOMMU group:' : `IOMMU group ${g.group}:`)
    for (const d of g.devices) {
      const flags = [d.bridge ? 'bridge' : '', ...d.protects.map((p) => `KEEP: ${p}`)].filter(Boolean).join(', ')
      out.push(`  ${d.address} [${d.id}] class ${d.class} driver ${d.driver ?? '-'}${flags ? `  (${flags})` : ''}`)
      for (const u of d.usb) out.push(`    usb ${u.port} [${u.id}] ${u.product ?? ''}`.trimEnd())
    }
  }
  // product strings and driver names come from the host: shown with control characters escaped
  return `${out.map(escapeControl).join('\n')}\n`
}
