// A host snapshot (`hostbake snapshot`): what /sys says about a host's PCI functions, IOMMU groups, USB
// devices, boot storage and management NIC. The collector (snapshotCollector.sh) writes it; this
// schema is what hostbake accepts back, strictly, with the format version checked first.
import { z } from 'zod'

export const SNAPSHOT_FORMAT = 1
// Caps well above any real host (a big server has a few hundred PCI functions): a snapshot is input too.
export const SNAPSHOT_LIMITS = { pci: 2048, usb: 1024, storage: 64 }

const pciAddress = z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/, { message: 'expected a PCI address like 0000:00:1a.0' })
const usbId = z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{4}$/, { message: 'expected vendor:device like 8086:3a67' })

export const snapshotSchema = z.strictObject({
  hostbakeSnapshot: z.literal(SNAPSHOT_FORMAT, {
    error: `expected hostbakeSnapshot: ${SNAPSHOT_FORMAT}: this hostbake reads format ${SNAPSHOT_FORMAT}; collect again with \`hostbake snapshot --collector\``,
  }),
  host: z.string().nullable(),
  kernel: z.string().nullable(),
  pci: z.array(z.strictObject({
    address: pciAddress,
    id: usbId,
    subsystem: usbId.nullable(),
    class: z.string().regex(/^0x[0-9a-f]{6}$/, { message: 'expected a PCI class like 0x0c0300' }),
    driver: z.string().nullable(),
    group: z.number().int().min(0).nullable(),
    resetMethod: z.string().nullable(),
    bridge: z.boolean(),
    parent: pciAddress.nullable(),
  })).max(SNAPSHOT_LIMITS.pci, { message: `more than ${SNAPSHOT_LIMITS.pci} PCI functions: not a snapshot of one host` }),
  usb: z.array(z.strictObject({
    port: z.string(),
    bus: z.number().int().nullable(),
    device: z.number().int().nullable(),
    id: usbId,
    product: z.string().nullable(),
    controller: pciAddress.nullable(),
  })).max(SNAPSHOT_LIMITS.usb, { message: `more than ${SNAPSHOT_LIMITS.usb} USB devices: not a snapshot of one host` }),
  storage: z.array(z.strictObject({
    mount: z.string(),
    device: z.string(),
    controller: pciAddress.nullable(),
  })),
  managementNic: z.strictObject({
    name: z.string(),
    mac: z.string().nullable(),
    pci: z.array(pciAddress),
  }).nullable(),
})

export type Snapshot = z.output<typeof snapshotSchema>
export type SnapshotPci = Snapshot['pci'][number]
