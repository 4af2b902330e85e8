// The pipeline a host goes through: load -> check -> plan -> render -> pack. Writing is the caller's.
import { createHash } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError, ProfileError } from './shared/hostbakeError.js'
import { planHost, type HostPlan } from './plan/hostPlan.js'
import { parseProfileDocument, readProfile, type LoadedProfile } from './profile/profileLoad.js'
import { checkProfile } from './check/profileCheck.js'
import type { Locate } from './profile/documentLoad.js'
import type { Profile } from './profile/profileSchema.js'
import { renderOverlay, sortedEntries, type FileMap } from './render/overlayRender.js'
import { packApkovl } from './pack/apkovlPack.js'
import { checkAgainstSnapshot, pinToSnapshot } from './check/snapshotCheck.js'
import type { Snapshot } from './snapshot/snapshotSchema.js'

export interface BakedHost {
  file: string
  hostname: string
  plan: HostPlan
  files: FileMap
  apkovl: Buffer
}

// Profiles, checked against a host snapshot when one is given (a snapshot describes one host).
export async function loadChecked(files: string[], snapshot: string | undefined): Promise<LoadedProfile[]> {
  const loaded = await loadProfiles(files)
  if (snapshot === undefined) return loaded
  if (loaded.length !== 1) throw new HostbakeError('--snapshot describes one host: give one PROFILE with it')
  const { loadSnapshot } = await import('./snapshot/snapshotLoad.js')
  return [applySnapshot(loaded[0], await loadSnapshot(snapshot), snapshot)]
}

// load + check: a profile of the right shape that also makes sense, or every problem located in its file.
export async function loadProfile(file: string): Promise<LoadedProfile> {
  const loaded = await readProfile(file)
  checkLoaded(loaded.profile, loaded.locate)
  return loaded
}

// The same for text in memory (tests, the benchmark).
export function parseProfileText(text: string, file: string): { profile: Profile; locate: Locate } {
  const parsed = parseProfileDocument(text, file)
  checkLoaded(parsed.profile, parsed.locate)
  return parsed
}

function checkLoaded(profile: Profile, locate: Locate): void {
  const issues = checkProfile(profile)
  if (issues.length > 0) throw new ProfileError(issues.map((i) => locate(i.path, i.message)))
}

export async function listProfiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => path.join(dir, n))
}

// Load every profile before anything is baked: all problems of all profiles in one report.
export async function loadProfiles(files: string[]): Promise<LoadedProfile[]> {
  if (files.length === 0) throw new HostbakeError('no profiles given and none found in profiles/', { hint: 'hostbake build profiles/myhost.yaml' })
  const results = await Promise.allSettled(files.map((f) => loadProfile(f)))
  const problems = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
  if (problems.length > 0) {
    if (problems.every((p) => p instanceof ProfileError)) throw new ProfileError(problems.flatMap((p: ProfileError) => p.problems))
    throw problems.find((p) => !(p instanceof ProfileError))
  }
  const loaded = results.map((r) => (r as PromiseFulfilledResult<LoadedProfile>).value)
  const byHost = new Map<string, string>()
  for (const l of loaded) {
    const other = byHost.get(l.profile.hostname)
    if (other) throw new ProfileError([{ file: l.file, field: 'hostname', message: `${l.profile.hostname} is also the hostname of ${other}: both would write ${l.profile.hostname}.apkovl.tar.gz` }])
    byHost.set(l.profile.hostname, l.file)
  }
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
  return { ...loaded, profile: pinned.profile, snapshot: snapFile, fingerprint: pinned.fingerprint }
}

// load -> plan -> render, without packing (what `show` needs)
export function renderHost(loaded: LoadedProfile): { plan: HostPlan; files: FileMap } {
  if (loaded.profile.passthrough.usb.length > 0 && loaded.snapshot === undefined) {
    throw new ProfileError([loaded.locate(['passthrough', 'usb'], 'USB devices resolve to their controller through a host snapshot: add --snapshot host.json (hostbake snapshot --collector makes one)')])
  }
  const plan = planHost(loaded.profile, loaded.fingerprint)
  try {
    return { plan, files: renderOverlay(plan, loaded.profile, loaded.sources) }
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
  return { file: loaded.file, hostname: plan.hostname, plan, files, apkovl: await packApkovl(files) }
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
