// The pipeline a host goes through: load -> check -> plan -> render -> pack. Writing is the caller's.
import { createHash } from 'node:crypto'
import { readdir, realpath } from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError, ProfileError, type ProfileProblem } from './shared/hostbakeError.js'
import { planHost, type HostPlan } from './plan/hostPlan.js'
import { loadSources, parseProfileLoose, type LoadedProfile, type ParsedProfile, type SourceOptions } from './profile/profileLoad.js'
import { CHECK_READS, checkProfile } from './check/profileCheck.js'
import type { CheckOptions } from './check/contradictionCheck.js'
import { readInput, type Locate } from './profile/documentLoad.js'
import type { Profile } from './profile/profileSchema.js'
import { renderOverlay, sortedEntries, type FileMap } from './render/overlayRender.js'
import { apkovlMode, packApkovl } from './pack/apkovlPack.js'
import { checkAgainstSnapshot, checkGuestsOnHost, pinToSnapshot } from './check/snapshotCheck.js'
import type { Snapshot } from './snapshot/snapshotSchema.js'

export interface BakedHost {
  file: string
  hostname: string
  plan: HostPlan
  files: FileMap
  apkovl: Buffer
  mode: number // of the overlay file: 0600 when it holds a secret
  inputs: string[] // every file read for it: the output must not replace one
}

// Profiles, checked against a host snapshot when one is given (a snapshot describes one host).
export async function loadChecked(files: string[], snapshot: string | undefined, opts: SourceOptions = {}): Promise<LoadedProfile[]> {
  const loaded = await loadProfiles(files, { ...opts, snapshot: snapshot !== undefined })
  if (snapshot === undefined) return loaded
  if (loaded.length !== 1) throw new HostbakeError('--snapshot describes one host: give one PROFILE with it')
  const { loadSnapshot } = await import('./snapshot/snapshotLoad.js')
  return [applySnapshot(loaded[0], await loadSnapshot(snapshot), snapshot)]
}

// What loadProfile rendered to check the file map: bakeHost reuses it (a pinned profile is a new object).
const renderedAtLoad = new WeakMap<LoadedProfile, { plan: HostPlan; files: FileMap }>()

export interface LoadOptions extends SourceOptions, CheckOptions {}

// load + check: a profile of the right shape that also makes sense, or every problem located in its file:
// all shape problems, every check that can still run on the rest, unreadable sources, entry conflicts.
export async function loadProfile(file: string, opts: LoadOptions = {}): Promise<LoadedProfile> {
  const text = await readInput(file)
  const parsed = parseProfileLoose(text, file)
  const problems = [...parsed.problems, ...checkParsed(parsed, opts)]
  const profile = parsed.profile ?? parsed.salvaged?.profile
  let sources = new Map<number, Buffer>()
  const inputs = [await realpath(file).catch(() => file)]
  if (profile && !parsed.salvaged?.removed.has('files')) {
    const r = await loadSources(profile, file, parsed.locate, opts)
    problems.push(...r.problems)
    sources = r.sources
    inputs.push(...r.inputs)
  }
  const loaded: LoadedProfile = { file, profile: profile!, sources, locate: parsed.locate, inputs }
  // the file map is checked at load too (every problem in one report); kept for renderHost without a snapshot
  if (parsed.profile && !problems.some((p) => p.field.startsWith('files')) && parsed.profile.passthrough.usb.length === 0) {
    const plan = planHost(parsed.profile)
    try {
      renderedAtLoad.set(loaded, { plan, files: renderLocated(loaded, plan) })
    } catch (err) {
      if (!(err instanceof ProfileError)) throw err
      problems.push(...err.problems)
    }
  }
  if (problems.length > 0) throw new ProfileError(sortProblems(problems))
  return loaded
}

// The same for text in memory (tests, the benchmark).
export function parseProfileText(text: string, file: string, opts: CheckOptions = {}): { profile: Profile; locate: Locate } {
  const parsed = parseProfileLoose(text, file)
  const problems = [...parsed.problems, ...checkParsed(parsed, opts)]
  if (problems.length > 0) throw new ProfileError(sortProblems(problems))
  return { profile: parsed.profile!, locate: parsed.locate }
}

// Checks over the whole profile, or over what is left of it without the fields whose shape is wrong
// (an issue that reads a dropped field is left out: it could be a consequence of dropping it).
function checkParsed(parsed: ParsedProfile, opts: CheckOptions): ProfileProblem[] {
  if (parsed.profile) return checkProfile(parsed.profile, opts).map((i) => parsed.locate(i.path, i.message))
  if (!parsed.salvaged) return []
  const { profile, removed } = parsed.salvaged
  return checkProfile(profile, opts)
    .filter((i) => ![String(i.path[0]), ...(CHECK_READS[String(i.path[0])] ?? [])].some((k) => removed.has(k)))
    .map((i) => parsed.locate(i.path, i.message))
}

const sortProblems = (problems: ProfileProblem[]) => problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0))

export async function listProfiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => path.join(dir, n))
}

// Load every profile before anything is baked: all problems of all profiles in one report.
export async function loadProfiles(files: string[], opts: LoadOptions = {}): Promise<LoadedProfile[]> {
  if (files.length === 0) throw new HostbakeError('no profiles given and none found in profiles/', { hint: 'hostbake build profiles/myhost.yaml' })
  const results = await Promise.allSettled(files.map((f) => loadProfile(f, opts)))
  const problems = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
  if (problems.length > 0) {
    if (problems.every((p) => p instanceof ProfileError)) throw new ProfileError(problems.flatMap((p: ProfileError) => p.problems))
    throw problems.find((p) => !(p instanceof ProfileError))
  }
  const loaded = results.map((r) => (r as PromiseFulfilledResult<LoadedProfile>).value)
  // every clash, not only the first
  const byHost = new Map<string, string>()
  const clashes: ProfileProblem[] = []
  for (const l of loaded) {
    const other = byHost.get(l.profile.hostname)
    if (other) clashes.push({ ...l.locate(['hostname'], `${l.profile.hostname} is also the hostname of ${other}: both would write ${l.profile.hostname}.apkovl.tar.gz`) })
    else byHost.set(l.profile.hostname, l.file)
  }
  if (clashes.length > 0) throw new ProfileError(clashes)
  checkMacsAcrossProfiles(loaded)
  return loaded
}

// One MAC boots one host: two profiles claiming it would race for one overlay URL. Every clash, both files named.
function checkMacsAcrossProfiles(loaded: LoadedProfile[]): void {
  const byMac = new Map<string, { l: LoadedProfile; i: number }>()
  const problems = []
  for (const l of loaded) {
    for (const [i, mac] of (l.profile.netboot?.mac ?? []).entries()) {
      const other = byMac.get(mac)
      if (other === undefined) { byMac.set(mac, { l, i }); continue }
      const at = other.l.locate(['netboot', 'mac', other.i], '')
      problems.push(l.locate(['netboot', 'mac', i], `${mac} is also netboot.mac of ${other.l.file}${at.line ? `:${at.line}` : ''} (hostname ${other.l.profile.hostname}): one MAC can boot only one host`))
    }
  }
  if (problems.length > 0) throw new ProfileError(problems)
}

// check against a host snapshot: problems located in the profile, USB devices expanded into functions
export function applySnapshot(loaded: LoadedProfile, snap: Snapshot, snapFile: string): LoadedProfile {
  const r = checkAgainstSnapshot(loaded.profile, snap, snapFile)
  if (r.issues.length > 0) throw new ProfileError(r.issues.map((i) => loaded.locate(i.path, i.message)))
  const pinned = pinToSnapshot(r.profile, snap, r.passed)
  // the guests again, now that USB entries are devices with addresses, names and groups
  const guestIssues = checkGuestsOnHost(pinned.profile, snap, r.passed)
  if (guestIssues.length > 0) throw new ProfileError(guestIssues.map((i) => loaded.locate(i.path, i.message)))
  const host = {
    name: snap.host ?? snapFile,
    system: snap.system,
    drivers: r.passed.filter((p) => p.driver !== 'vfio-pci').map((p) => ({ address: p.address, driver: p.driver, module: p.module })),
  }
  return { ...loaded, profile: pinned.profile, snapshot: snapFile, fingerprint: pinned.fingerprint, host, inputs: [...(loaded.inputs ?? []), path.resolve(snapFile)] }
}

// load -> plan -> render, without packing (what `show` needs)
export function renderHost(loaded: LoadedProfile): { plan: HostPlan; files: FileMap } {
  if (loaded.profile.passthrough.usb.length > 0 && loaded.snapshot === undefined) {
    throw new ProfileError([loaded.locate(['passthrough', 'usb'], 'USB devices resolve to their controller through a host snapshot: add --snapshot host.json (hostbake snapshot --collector makes one)')])
  }
  const early = renderedAtLoad.get(loaded)
  if (early) return early
  const plan = planHost(loaded.profile, loaded.fingerprint, loaded.host)
  // the guard compares ids: an address binding without one would claim a check the script cannot make
  const unguarded = plan.vfioAddresses.filter((a) => a.id === undefined)
  if (unguarded.length > 0) {
    throw new ProfileError(unguarded.map((a) => loaded.locate(['passthrough', 'devices', loaded.profile.passthrough.devices.findIndex((d) => d.address === a.address), 'address'],
      `${a.address} is bound by address alone: give its id (or build with --snapshot) so the boot-time guard can check it`)))
  }
  return { plan, files: renderLocated(loaded, plan) }
}

function renderLocated(loaded: LoadedProfile, plan: HostPlan): FileMap {
  try {
    return renderOverlay(plan, loaded.profile, loaded.sources)
  } catch (err) {
    // render knows the field, the loader knows where it is in the file
    if (err instanceof ProfileError) {
      throw new ProfileError(err.problems.map((p) => (p.fieldPath ? loaded.locate(p.fieldPath, p.message) : { ...p, file: loaded.file })))
    }
    throw err
  }
}

export async function bakeHost(loaded: LoadedProfile): Promise<BakedHost> {
  const { plan, files } = renderHost(loaded)
  return { file: loaded.file, hostname: plan.hostname, plan, files, apkovl: await packApkovl(files), mode: apkovlMode(files), inputs: loaded.inputs ?? [] }
}

export function describeBaked(host: BakedHost, outPath: string) {
  return {
    hostname: host.hostname,
    profile: host.file,
    path: outPath,
    sha256: createHash('sha256').update(host.apkovl).digest('hex'),
    bytes: host.apkovl.length,
    files: sortedEntries(host.files).map((e) => e.name),
  }
}
