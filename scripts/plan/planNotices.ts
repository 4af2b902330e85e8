// plan: what show says first (choices a user may not expect, what cannot be checked without a snapshot),
// the passthrough functions that stay idle on vfio-pci, and the drivers to preempt as the snapshot shows
// them bound. Pure.
import type { Profile } from '../profile/profileSchema.js'
import type { HostContext } from '../profile/profileLoad.js'
import { resolveHostdev } from '../profile/profileRules.js'
import type { Item } from './bootPlan.js'
import type { PlannedGuest } from './libvirtPlan.js'

export const GROUPS_UNKNOWN = 'groups unknown: build with --snapshot to check them'

const norm = (m: string) => m.replaceAll('-', '_')

export function planNotices(profile: Profile, host?: HostContext): string[] {
  const out: string[] = []
  const devices = profile.passthrough.devices
  if (!host) {
    devices.forEach((d, i) => {
      if (d.id !== undefined && d.address !== undefined && d.bind === undefined) {
        out.push(`passthrough.devices[${i}] gives both id ${d.id} and address ${d.address}: bound by address (driver_override, checked at boot by the hostbake-guard service), not by vfio-pci ids=. ` +
          'To bind by id as seed 001 does, add one line to the entry: `bind: id`')
      }
    })
    // a guest takes a function whose IOMMU group nobody stated: whether the rest of it is free is unknown
    const taken = profile.guests.flatMap((g) => g.hostdevs.map((h) => resolveHostdev(profile, h)))
    const unknown = taken.some((r) => r.kind === 'pci' && devices[r.device].group === undefined)
    if (unknown) out.push(GROUPS_UNKNOWN)
  }
  if (profile.install === 'sys') {
    const loader = profile.boot.loader ?? host?.system?.bootloader ?? 'extlinux'
    const conf = loader === 'grub' ? '/etc/default/grub' : '/etc/update-extlinux.conf'
    if (!host?.system) {
      out.push(`without a snapshot the host's own files are replaced: ${conf} (kernel options and modules=), /etc/mkinitfs/mkinitfs.conf (features) and /etc/apk/world come from this profile alone. ` +
        `A crypto install's cryptroot=/cryptdm= and its cryptsetup, lvm and keymap features would be lost: build with --snapshot (collector format 2${host ? '; this snapshot is format 1: collect again' : ''}), or state boot.kernelOpts, boot.initramfsFeatures and packages in full`)
    }
    const rerun = loader === 'grub' ? 'mkinitfs && grub-mkconfig -o /boot/grub/grub.cfg' : 'mkinitfs && update-extlinux'
    out.push(`Alpine's setup-disk rewrites features= in mkinitfs.conf and root=, modules= and default_kernel_opts (or /etc/default/grub): after setup-disk, take a new snapshot, render again, unpack the overlay over / and run \`apk add && ${rerun}\``)
  }
  // (a snapshot taken after the overlay shows the devices on vfio-pci already: nothing to compare with then)
  if (host && host.drivers.length > 0) {
    const passed = new Set(host.drivers.map((d) => d.module ?? d.driver).filter((m): m is string => m !== null).map(norm))
    for (const drv of profile.passthrough.preempt) {
      if (!passed.has(norm(drv))) {
        out.push(`passthrough.preempt lists ${drv}, which drives none of the passthrough devices on ${host.name} (they are on ${[...passed].join(', ') || 'no driver'}): remove it`)
      }
    }
  }
  return out
}

// Drivers that must lose the devices: the profile's list, plus (from a snapshot) the module of every driver
// that holds a passed function now. vfio-pci itself and built-in drivers (no module) are not preempted.
export function planPreempt(profile: Profile, host?: HostContext): Item[] {
  const items: Item[] = profile.passthrough.preempt.map((d) => ({ value: d, reason: 'passthrough.preempt' }))
  for (const d of host?.drivers ?? []) {
    const mod = d.module ?? null
    if (mod === null || norm(mod) === 'vfio_pci') continue
    if (items.some((i) => norm(i.value) === norm(mod))) continue
    const holds = host!.drivers.filter((x) => x.module === mod).map((x) => x.address)
    items.push({ value: mod, reason: `${host!.name} (snapshot): ${d.driver} drives ${holds.join(', ')}` })
  }
  return items
}

// Passthrough functions that no guest takes: bound to vfio-pci (their group is then viable) and unused.
export function planIdle(profile: Profile, guests: PlannedGuest[]): Item[] {
  const taken = new Map(guests.flatMap((g) => g.pci.map((p) => [p.address, g.name] as const)))
  if (guests.length === 0) return []
  return profile.passthrough.devices.filter((d) => d.address !== undefined && !taken.has(d.address)).map((d) => {
    const with_ = d.group !== undefined ? profile.passthrough.devices.find((x) => x.group === d.group && x.address !== undefined && taken.has(x.address)) : undefined
    return {
      value: d.address!,
      reason: with_
        ? `IOMMU group ${d.group} goes to guest ${taken.get(with_.address!)}: this function stays idle on vfio-pci (bound, so the group is viable; no guest uses it)`
        : 'no guest takes it: idle on vfio-pci',
    }
  })
}

