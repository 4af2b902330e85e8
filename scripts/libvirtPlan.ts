// plan (the host's job): storage pools and libvirt guests with their passed-through devices, as
// libvirtd reads them from /etc/libvirt at start. Pure; guestCheck refuses what would not work.
import { createHash } from 'node:crypto'
import type { Profile, ProfileGuest } from './profileSchema.js'

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

export type HostdevRef =
  | { kind: 'pci'; address: string; device: number }
  | { kind: 'usb'; vendor: string; product: string }
  | { kind: 'error'; message: string }

// A hostdev names a passthrough device by PCI address or by name, or a USB device as usb:vvvv:pppp.
export function resolveHostdev(profile: Profile, ref: string): HostdevRef {
  const devices = profile.passthrough.devices
  const usb = /^usb:([0-9a-f]{4}):([0-9a-f]{4})$/.exec(ref)
  if (usb) return { kind: 'usb', vendor: usb[1], product: usb[2] }
  const addr = /^([0-9a-f]{4}:)?[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$/.test(ref) ? (ref.length === 7 ? `0000:${ref}` : ref) : undefined
  if (addr) {
    const i = devices.findIndex((d) => d.address === addr)
    if (i >= 0) return { kind: 'pci', address: addr, device: i }
    const byId = devices.some((d) => d.address === undefined)
    return {
      kind: 'error',
      message: `${addr} is not a passthrough device of this profile` +
        (byId ? ': devices bound by id have no address here; give the address too (with bind: id to keep binding by id)' : ''),
    }
  }
  const named = devices.findIndex((d) => d.name === ref)
  if (named >= 0) {
    const d = devices[named]
    return d.address
      ? { kind: 'pci', address: d.address, device: named }
      : { kind: 'error', message: `passthrough device ${ref} has no address, and libvirt needs one: add it (with bind: id to keep binding by id)` }
  }
  if (/^[0-9a-f]{4}:[0-9a-f]{4}$/.test(ref)) {
    return { kind: 'error', message: `${ref} looks like a vendor:device id: name a PCI function by its address, or a USB device as usb:${ref}` }
  }
  return { kind: 'error', message: `${ref} is neither a PCI address, a passthrough device name, nor usb:vendor:product` }
}

export function planPools(profile: Profile): PlannedPool[] {
  return (profile.storage?.pools ?? []).map((p) => ({ ...p, uuid: stableUuid(profile.hostname, 'pool', p.name) }))
}

// osVariant short ids -> libosinfo ids for the families whose scheme is regular; URLs pass through.
const OSINFO: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^alpinelinux(\d+\.\d+)$/, (m) => `http://alpinelinux.org/alpinelinux/${m[1]}`],
  [/^debian(\d+)$/, (m) => `http://debian.org/debian/${m[1]}`],
  [/^ubuntu(\d+\.\d+)$/, (m) => `http://ubuntu.com/ubuntu/${m[1]}`],
  [/^fedora(\d+)$/, (m) => `http://fedoraproject.org/fedora/${m[1]}`],
  [/^win(\d+)$/, (m) => `http://microsoft.com/win/${m[1]}`],
]

export function osinfoId(variant: string | undefined): string | undefined {
  if (variant === undefined) return undefined
  if (/^https?:\/\//.test(variant)) return variant
  for (const [re, to] of OSINFO) {
    const m = re.exec(variant)
    if (m) return to(m)
  }
  return undefined
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
