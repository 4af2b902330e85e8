// Rules about what a profile means, shared by every stage after loading: one place each.
import type { Profile } from './profileSchema.js'

// lspci prints 00:1a.0; sysfs and libvirt want the domain too. Every address is normalised here, once.
export const PCI_ADDRESS = /^([0-9a-f]{4}:)?[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/
export function normalizePciAddress(a: string): string {
  return a.length === 7 ? `0000:${a}` : a
}

// What the drift guard compares at boot, per function: the id, the subsystem and the group's members.
export interface Fingerprint {
  id: string
  subsystem: string | null
  group: string[] // address/id of every member, sorted: another card in the group is drift too
}

// A device is bound by ids= when it has no address, or when bind: id says so.
export function bindsById(d: { id?: string; address?: string; bind?: 'id' | 'address' }): boolean {
  return d.id !== undefined && (d.address === undefined || d.bind === 'id')
}

// Path rules (overlay paths, secrets, directory owners) live in pathRules; re-exported for older imports.
export { isSecretPath, overlayPathOf } from './pathRules.js'

export type HostdevRef =
  | { kind: 'pci'; address: string; device: number }
  | { kind: 'usb'; vendor: string; product: string }
  | { kind: 'error'; message: string }

// A hostdev names a passthrough device by PCI address or by name, or a USB device as usb:vvvv:pppp.
export function resolveHostdev(profile: Profile, ref: string): HostdevRef {
  const devices = profile.passthrough.devices
  const usb = /^usb:([0-9a-f]{4}):([0-9a-f]{4})$/.exec(ref)
  if (usb) return { kind: 'usb', vendor: usb[1], product: usb[2] }
  const addr = PCI_ADDRESS.test(ref) ? normalizePciAddress(ref) : undefined
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


// Services hostbake adds for a profile, and the runlevel they must run in. A profile may list one
// there itself, never in another runlevel (networking in shutdown leaves the host without its bridge).
export function derivedServices(profile: Profile): { svc: string; level: 'sysinit' | 'boot' | 'default'; reason: string }[] {
  const out: { svc: string; level: 'sysinit' | 'boot' | 'default'; reason: string }[] = []
  if (profile.passthrough.devices.some((d) => d.address !== undefined && !bindsById(d))) {
    out.push({ svc: 'hostbake-guard', level: 'sysinit', reason: 'binding by address: checks each device against the profile before hwdrivers loads drivers' })
  }
  if (profile.network) out.push({ svc: 'networking', level: 'boot', reason: `network: brings up ${profile.network.bridge} from /etc/network/interfaces` })
  if (profile.guests.length > 0 || (profile.storage?.pools.length ?? 0) > 0) out.push({ svc: 'libvirtd', level: 'default', reason: 'guests and pools: libvirtd defines and autostarts them' })
  if (profile.guests.length > 0) out.push({ svc: 'libvirt-guests', level: 'default', reason: 'guests: shut down gracefully with the host' })
  return out
}

// Services whose runlevel is fixed whether or not hostbake derives them (Alpine's setup scripts put them there).
export const SERVICE_LEVEL: Record<string, 'sysinit' | 'boot' | 'default'> = { networking: 'boot', 'hostbake-guard': 'sysinit' }
