// load: YAML text -> validated Profile, with every problem located as file:line:col field.
// Shape is checked by the zod schema (documentLoad), meaning later by check/; file sources are read
// here so that everything after loading is pure.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { ProfileError, type ProfileProblem } from '../shared/hostbakeError.js'
import { parseDocumentAs, readInput, type Locate } from './documentLoad.js'
import { profileSchema, type Profile } from './profileSchema.js'
import type { Fingerprint } from './profileRules.js'

export interface LoadedProfile {
  file: string // as the user named it, for messages
  profile: Profile
  sources: Map<number, Buffer> // files[i].source contents, read at load time
  locate: Locate // field path -> file:line:col, for problems found after loading
  snapshot?: string // the host snapshot the profile was checked against (USB devices resolved)
  fingerprint?: Map<string, Fingerprint> // per passed function, what the boot-time guard compares
  host?: HostContext // what the snapshot says about the host itself: merged into the plan
}

// The host's own boot configuration, as a format-2 snapshot records it (null: not recorded or not there).
export interface HostSystem {
  world: string[] | null
  modules: string[] | null
  repositories: string[] | null
  mkinitfsFeatures: string | null
  extlinux: { root: string; modules: string; defaultKernelOpts: string } | null
  grub: { cmdlineLinuxDefault: string; cmdlineLinux: string } | null
  efi: boolean
  bootloader: 'extlinux' | 'grub' | null
}

// From a snapshot, for the plan: the host's system files and the drivers that hold the passed functions.
export interface HostContext {
  name: string
  system: HostSystem | null
  drivers: { address: string; driver: string | null; module: string | null }[]
}

export async function readProfile(file: string): Promise<LoadedProfile> {
  const text = await readInput(file)
  const { profile, locate } = parseProfileDocument(text, file)
  const sources = await loadSources(profile, file, locate)
  return { file, profile, sources, locate }
}

// Pure part of loading: text -> a Profile of the right shape, or ProfileError. Meaning is check's (hostPipeline).
export function parseProfileDocument(text: string, file: string): { profile: Profile; locate: Locate } {
  const { data, locate } = parseDocumentAs(profileSchema, text, file, 'expected a YAML mapping (hostname: ..., cpu: ...) at the top level')
  return { profile: data, locate }
}

async function loadSources(profile: Profile, file: string, locate: Locate): Promise<Map<number, Buffer>> {
  const sources = new Map<number, Buffer>()
  const problems: ProfileProblem[] = []
  const base = path.dirname(file)
  await Promise.all(profile.files.map(async (f, i) => {
    if (f.source === undefined) return
    try {
      sources.set(i, await readFile(path.resolve(base, f.source)))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      problems.push(locate(['files', i, 'source'], `cannot read ${f.source} (relative to ${base}): ${code ?? err}`))
    }
  }))
  if (problems.length > 0) throw new ProfileError(problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)))
  return sources
}
