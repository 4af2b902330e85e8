// render: plan -> file map (overlay entry name -> entry). Pure; the templates in overlays/ come from overlayTemplates.
import { overlayTemplate } from './overlayTemplates.js'
import { ProfileError, formatFieldPath } from '../shared/hostbakeError.js'
import { cmp, type HostPlan } from '../plan/hostPlan.js'
import { dirEntryOf, homeOf, isSecretPath, overlayPathOf, parseOwner } from '../profile/pathRules.js'
import { checkFileMap, type EntryOrigin, type PlannedEntry } from './fileMapCheck.js'
import { RUNLEVELS, type Profile } from '../profile/profileSchema.js'

export interface OverlayEntry {
  name: string // relative, no leading ./ ; directories end in /
  type: 'file' | 'directory' | 'symlink'
  mode: number
  uid: number
  gid: number
  data?: Buffer
  target?: string
}

export type FileMap = Map<string, OverlayEntry>

const TEMPLATE_NAMES = [
  'etc/hostname', 'etc/apk/world', 'etc/apk/repositories', 'etc/modules', 'etc/modprobe.d/vfio.conf',
  'etc/mkinitfs/mkinitfs.conf', 'etc/mkinitfs/features.d/vfio.modules', 'etc/mkinitfs/features.d/vfio.files',
  'etc/update-extlinux.conf', 'etc/default/grub', 'etc/hostbake/vfio-override.sh', 'etc/network/interfaces', 'etc/resolv.conf',
  'etc/libvirt/qemu/guest.xml', 'etc/libvirt/storage/pool.xml', 'etc/init.d/hostbake-guard',
] as const
type TemplateName = (typeof TEMPLATE_NAMES)[number]
const template = (name: TemplateName) => overlayTemplate(name)

// The profile supplies user files (with sources read at load time); everything else comes from the plan.
// Every entry carries the field that made it, and the whole map is checked (fileMapCheck) before it is returned.
export function renderOverlay(plan: HostPlan, profile: Profile, sources: Map<number, Buffer> = new Map()): FileMap {
  const entries: PlannedEntry[] = []
  const gen = (name: string): EntryOrigin => ({ what: `generated /${name}` })
  const addFile = (name: string, data: Buffer, mode: number, origin: EntryOrigin = gen(name), uid = 0, gid = 0) =>
    entries.push({ name, type: 'file', mode, uid, gid, data, origin })
  // Absolute targets, as Alpine's own tools write them (rc-update, virsh autostart).
  const addSymlink = (name: string, target: string, origin: EntryOrigin) =>
    entries.push({ name, type: 'symlink', mode: 0o777, uid: 0, gid: 0, target, origin })
  const put = (name: TemplateName, ctx: object, mode = 0o644, as: string = name, origin?: EntryOrigin) =>
    addFile(as, Buffer.from(template(name)(ctx)), mode, origin)

  put('etc/hostname', plan)
  put('etc/apk/world', plan)
  if (plan.repositories.length > 0) put('etc/apk/repositories', plan)
  put('etc/modules', plan)
  if (plan.mkinitfsFeatures.length > 0) put('etc/mkinitfs/mkinitfs.conf', { ...plan, features: plan.mkinitfsFeatures.map((f) => f.value).join(' ') })
  if (plan.vfioModules.length > 0) put('etc/mkinitfs/features.d/vfio.modules', plan)
  if (plan.vfioFiles.length > 0) {
    put('etc/mkinitfs/features.d/vfio.files', plan)
    put('etc/hostbake/vfio-override.sh', { ...plan, entries: plan.vfioAddresses.map((a) => ({ ...a, groupList: a.group?.join(',') ?? '' })) }, 0o755)
    put('etc/init.d/hostbake-guard', plan, 0o755)
  }
  if (plan.modprobe.length > 0) put('etc/modprobe.d/vfio.conf', plan)
  const bootCtx = { ...plan, kernelOpts: plan.kernelOpts.map((o) => o.value).join(' '), modules: plan.initramfsModules.map((m) => m.value).join(','), root: plan.root ?? '' }
  if (plan.loader === 'extlinux') put('etc/update-extlinux.conf', bootCtx)
  if (plan.loader === 'grub') put('etc/default/grub', bootCtx)
  if (plan.network) {
    const dhcp = plan.network.dhcp
    const ctx = { ...plan, ports: plan.network.ports.join(' '), static: dhcp === true ? undefined : dhcp }
    put('etc/network/interfaces', ctx)
    if (dhcp !== true && dhcp.dns.length > 0) put('etc/resolv.conf', { ...plan, dns: dhcp.dns })
  }
  plan.pools.forEach((pool, i) => {
    const origin = { field: ['storage', 'pools', i, 'name'], what: `storage.pools[${i}]` }
    put('etc/libvirt/storage/pool.xml', { ...plan, pool }, 0o600, `etc/libvirt/storage/${pool.name}.xml`, origin)
    addSymlink(`etc/libvirt/storage/autostart/${pool.name}.xml`, `/etc/libvirt/storage/${pool.name}.xml`, origin)
    // libvirt's images folder: traversable, not listable
    entries.push({ name: `${pool.path.slice(1)}/`, type: 'directory', mode: 0o711, uid: 0, gid: 0, origin: { field: ['storage', 'pools', i, 'path'], what: `storage.pools[${i}].path` } })
  })
  plan.guests.forEach((guest, i) => {
    const origin = { field: ['guests', i, 'name'], what: `guests[${i}]` }
    put('etc/libvirt/qemu/guest.xml', { ...plan, guest: { ...guest, passthroughCpu: guest.cpu === 'host-passthrough' } }, 0o600, `etc/libvirt/qemu/${guest.name}.xml`, origin)
    if (guest.autostart) addSymlink(`etc/libvirt/qemu/autostart/${guest.name}.xml`, `/etc/libvirt/qemu/${guest.name}.xml`, origin)
  })
  for (const level of RUNLEVELS) {
    entries.push({ name: `etc/runlevels/${level}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, origin: { what: `the ${level} runlevel` } })
    for (const svc of plan.runlevels[level]) {
      const at = profile.services[level].indexOf(svc.value)
      addSymlink(`etc/runlevels/${level}/${svc.value}`, `/etc/init.d/${svc.value}`,
        at >= 0 ? { field: ['services', level, at], what: `services.${level}[${at}]` } : { what: `runlevel ${level} (${svc.reason})` })
    }
  }
  profile.files.forEach((f, i) => {
    const name = overlayPathOf(f.path).name! // checked at load
    const data = f.content !== undefined ? Buffer.from(f.content) : sources.get(i)
    if (data === undefined) throw new Error(`files[${i}].source was not loaded`) // loadSources reads every source or fails
    const { uid, gid } = parseOwner(f.owner)
    addFile(name, data, f.mode !== undefined ? parseInt(f.mode, 8) : isSecretPath(f.path) ? 0o600 : 0o644, { field: ['files', i, 'path'], what: `files[${i}]` }, uid, gid)
  })
  const homes = homeOwners(entries)
  const { map, issues } = checkFileMap(entries, (dir, child) => ({
    name: dir, type: 'directory', ...dirEntryOf(dir, homes.get(homeOf(dir) ?? dir.replace(/\/$/, ''))), origin: child.origin, implicit: true,
  }))
  if (issues.length > 0) {
    throw new ProfileError(issues.map(({ entry, message }) => ({
      file: '', field: entry.origin.field ? formatFieldPath(entry.origin.field) : '', ...(entry.origin.field ? { fieldPath: entry.origin.field } : {}), message,
    })))
  }
  return new Map([...map].map(([name, { origin: _o, implicit: _i, ...e }]) => [name, e]))
}

// A home directory (/home/<user>) belongs to the owner of the files a profile puts in it (profileCheck
// makes sure they agree); never to root by accident, never to a file's owner elsewhere.
function homeOwners(entries: PlannedEntry[]): Map<string, { uid: number; gid: number }> {
  const homes = new Map<string, { uid: number; gid: number }>()
  for (const e of entries) {
    const home = e.type === 'file' && e.origin.field?.[0] === 'files' ? homeOf(e.name) : undefined
    if (home !== undefined && !homes.has(home)) homes.set(home, { uid: e.uid, gid: e.gid })
  }
  return homes
}

export function sortedEntries(files: FileMap): OverlayEntry[] {
  return [...files.values()].sort((a, b) => cmp(a.name, b.name))
}
