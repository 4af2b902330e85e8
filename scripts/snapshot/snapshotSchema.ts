// A host snapshot (`hostbake snapshot`): what /sys says about a host's PCI functions, IOMMU groups, USB
// devices, boot storage and management NIC, and (format 2) the host's own boot configuration that an
// overlay must not lose. The collector (snapshotCollector.sh) writes it; this schema is what hostbake
// accepts back, strictly, with the format version checked first. Format 1 files (users keep them in their
// repositories) still load: they read as format 2 without drivers' modules and without `system`.
import * as z from 'zod'
import type { HostSystem } from '../profile/profileLoad.js'

export const SNAPSHOT_FORMAT = 2
export const SNAPSHOT_FORMATS = [1, 2] as const
// Caps well above any real host (a big server has a few hundred PCI functions): a snapshot is input too.
export const SNAPSHOT_LIMITS = { pci: 2048, usb: 1024, storage: 64 }

const pciAddress = z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/, { message: 'expected a PCI address like 0000:00:1a.0' })
const usbId = z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{4}$/, { message: 'expected vendor:device like 8086:3a67' })

// The version alone, read first: the rest of the document is checked against that format's schema.
export const snapshotVersionSchema = z.looseObject({
  hostbakeSnapshot: z.union(SNAPSHOT_FORMATS.map((f) => z.literal(f)), {
    error: `expected hostbakeSnapshot: ${SNAPSHOT_FORMATS.join(' or ')}: this hostbake reads formats ${SNAPSHOT_FORMATS.join(' and ')}; collect again with \`hostbake snapshot --collector\``,
  }),
})

const tooManyPci = { message: `more than ${SNAPSHOT_LIMITS.pci} PCI functions: not a snapshot of one host` }

const pciFields = {
  address: pciAddress,
  id: usbId,
  subsystem: usbId.nullable(),
  class: z.string().regex(/^0x[0-9a-f]{6}$/, { message: 'expected a PCI class like 0x0c0300' }),
  driver: z.string().nullable(),
  group: z.number().int().min(0).nullable(),
  resetMethod: z.string().nullable(),
  bridge: z.boolean(),
  parent: pciAddress.nullable(),
}

const common = {
  host: z.string().nullable(),
  kernel: z.string().nullable(),
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
}

export const snapshotV1Schema = z.strictObject({
  hostbakeSnapshot: z.literal(1),
  ...common,
  pci: z.array(z.strictObject(pciFields)).max(SNAPSHOT_LIMITS.pci, tooManyPci),
})

// The files an overlay replaces on a disk install, as the host has them (null: the file is not there).
const systemSchema = z.strictObject({
  world: z.array(z.string()).nullable().describe('/etc/apk/world, one constraint a line'),
  modules: z.array(z.string()).nullable().describe('/etc/modules, one module (and its arguments) a line'),
  repositories: z.array(z.string()).nullable().describe('/etc/apk/repositories, one repository a line'),
  mkinitfsFeatures: z.string().nullable().describe('features= of /etc/mkinitfs/mkinitfs.conf'),
  extlinux: z.strictObject({ root: z.string(), modules: z.string(), defaultKernelOpts: z.string() }).nullable()
    .describe('root, modules and default_kernel_opts of /etc/update-extlinux.conf'),
  grub: z.strictObject({ cmdlineLinuxDefault: z.string(), cmdlineLinux: z.string() }).nullable()
    .describe('GRUB_CMDLINE_LINUX_DEFAULT and GRUB_CMDLINE_LINUX of /etc/default/grub'),
  efi: z.boolean().describe('booted through UEFI (/sys/firmware/efi)'),
  bootloader: z.enum(['extlinux', 'grub']).nullable().describe('the loader whose configuration is in /boot'),
}) satisfies z.ZodType<HostSystem>

export const snapshotV2Schema = z.strictObject({
  hostbakeSnapshot: z.literal(2),
  ...common,
  pci: z.array(z.strictObject({ ...pciFields, module: z.string().nullable().describe('the module of the driver; null: built in or no driver') })).max(SNAPSHOT_LIMITS.pci, tooManyPci),
  system: systemSchema.nullable(),
})

export type Snapshot = z.output<typeof snapshotV2Schema>
export type SnapshotPci = Snapshot['pci'][number]

// Format 1 as format 2: what the old collector did not record is unknown (null), never guessed.
export function upgradeSnapshot(s: z.output<typeof snapshotV1Schema>): Snapshot {
  return { ...s, hostbakeSnapshot: 2, pci: s.pci.map((d) => ({ ...d, module: null })), system: null }
}
