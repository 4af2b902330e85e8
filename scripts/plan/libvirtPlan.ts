// plan (the host's job): storage pools and libvirt guests with their passed-through devices, as
// libvirtd reads them from /etc/libvirt at start. Pure; guestCheck refuses what would not work.
import { createHash } from 'node:crypto'
import type { Profile, ProfileGuest } from '../profile/profileSchema.js'
import { osinfoId, resolveHostdev } from '../profile/profileRules.js'

export interface PlannedPool {
  name: string
  path: string
  uuid: string
}

export interface PlannedDisk {
  volume?: { pool: string; name: string }
  path?: string
  bus: string
  format: 'qcow2' | 'raw'
  dev: string // vda, sda, ...
}

export interface PciHostdev {
  address: string
  domain: string
  bus: string
  slot: string
  function: string
}

export interface PlannedGuest {
  name: string
  uuid: string
  vcpus: number
  memory: number
  cpu: ProfileGuest['cpu']
  uefi: boolean
  disks: PlannedDisk[]
  network?: { bridge: string; mac?: string }
  pci: PciHostdev[]
  usb: { vendor: string; product: string }[]
  autostart: boolean
  osinfo?: string
}

// libvirtd keeps the UUID it finds in the XML; derive it so rebuilds are byte-identical.
export function stableUuid(...parts: string[]): string {
  const h = createHash('sha256').update(['hostbake', ...parts].join('\0')).digest('hex')
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

export function planPools(profile: Profile): PlannedPool[] {
  return (profile.storage?.pools ?? []).map((p) => ({ ...p, uuid: stableUuid(profile.hostname, 'pool', p.name) }))
}

export function planGuests(profile: Profile): PlannedGuest[] {
  return profile.guests.map((g) => {
    const counters = new Map<string, number>()
    const disks = g.disks.map((d) => {
      const prefix = d.bus === 'virtio' ? 'vd' : 'sd'
      const n = counters.get(prefix) ?? 0
      counters.set(prefix, n + 1)
      const file = d.volume ?? d.path!
      const [pool, name] = d.volume ? d.volume.split('/') : []
      return {
        ...(d.volume ? { volume: { pool, name } } : { path: d.path! }),
        bus: d.bus,
        format: d.format ?? (file.endsWith('.qcow2') ? 'qcow2' : 'raw'),
        dev: prefix + String.fromCharCode(97 + n),
      } satisfies PlannedDisk
    })
    const refs = g.hostdevs.map((h) => resolveHostdev(profile, h))
    const pci = refs.flatMap((r) => (r.kind === 'pci' ? [pciHostdev(r.address)] : []))
    const usb = refs.flatMap((r) => (r.kind === 'usb' ? [{ vendor: r.vendor, product: r.product }] : []))
    const osinfo = osinfoId(g.osVariant)
    return {
      name: g.name,
      uuid: stableUuid(profile.hostname, 'guest', g.name),
      vcpus: g.vcpus,
      memory: g.memory,
      cpu: g.cpu,
      uefi: g.firmware === 'uefi',
      disks,
      ...(g.network ? { network: { bridge: g.network.bridge, ...(g.network.mac ? { mac: g.network.mac.toLowerCase() } : {}) } } : {}),
      pci,
      usb,
      autostart: g.autostart,
      ...(osinfo ? { osinfo } : {}),
    }
  })
}

function pciHostdev(address: string): PciHostdev {
  const [domain, bus, slotFn] = address.split(':')
  const [slot, fn] = slotFn.split('.')
  return { address, domain: `0x${domain}`, bus: `0x${bus}`, slot: `0x${slot}`, function: `0x${fn}` }
}
