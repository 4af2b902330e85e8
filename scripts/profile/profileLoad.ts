// load: YAML text -> validated Profile, with every problem located as file:line:col field.
// Shape is checked by the zod schema (documentLoad), meaning later by check/; file sources are read
// here so that everything after loading is pure.
import { constants } from 'node:fs'
import { open, readlink, realpath } from 'node:fs/promises'
import path from 'node:path'
import { type ProfileProblem } from '../shared/hostbakeError.js'
import { parseDocumentLoose, type Locate } from './documentLoad.js'
import { profileSchema, type Profile } from './profileSchema.js'
import type { Fingerprint } from './profileRules.js'

export interface LoadedProfile {
  file: string // as the user named it, for messages
  profile: Profile
  sources: Map<number, Buffer> // files[i].source contents, read at load time
  locate: Locate // field path -> file:line:col, for problems found after loading
  snapshot?: string // the host snapshot the profile was checked against (USB devices resolved)
  fingerprint?: Map<string, Fingerprint> // per passed function, what the boot-time guard compares
  inputs?: string[] // real paths of every file read (profile, sources, snapshot): an output must not replace one
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

export interface ParsedProfile {
  profile?: Profile // the whole profile, when its shape is right
  salvaged?: { profile: Profile; removed: Set<string> } // otherwise, when dropping the bad top-level fields leaves a valid one
  problems: ProfileProblem[]
  locate: Locate
}

const NOT_A_MAPPING = 'expected a YAML mapping (hostname: ..., cpu: ...) at the top level'
// Required fields get a stand-in so the other fields can still be checked.
const STAND_INS: Record<string, unknown> = { hostname: 'salvaged', cpu: 'intel' }

// Pure part of loading: text -> a Profile of the right shape, or its problems (plus, to check the rest, a
// salvaged profile without the fields that had them). Meaning is check's (hostPipeline).
export function parseProfileLoose(text: string, file: string): ParsedProfile {
  const doc = parseDocumentLoose(profileSchema, text, file, NOT_A_MAPPING)
  if (doc.data !== undefined) return { profile: doc.data, problems: [], locate: doc.locate }
  if (doc.raw === null || typeof doc.raw !== 'object' || Array.isArray(doc.raw)) return { problems: doc.problems, locate: doc.locate }
  const removed = new Set(doc.problems.map((p) => p.field.split(/[.[]/)[0]))
  if (removed.has('')) return { problems: doc.problems, locate: doc.locate }
  const rest: Record<string, unknown> = { ...(doc.raw as Record<string, unknown>) }
  for (const key of removed) {
    if (key in STAND_INS) rest[key] = STAND_INS[key]
    else delete rest[key]
  }
  const again = profileSchema.safeParse(rest)
  return { problems: doc.problems, locate: doc.locate, ...(again.success ? { salvaged: { profile: again.data, removed } } : {}) }
}

// Where files[].source may read from: the profile's own folder, or a folder the user names (--source-root).
export interface SourceOptions {
  sourceRoot?: string
}

export const SOURCE_MAX_BYTES = 16 << 20

// Every files[].source, read from inside the source root only: no absolute paths, no .., no symlink that
// leaves the root, only regular files (no devices, FIFOs, /proc or /sys). Problems are returned, not thrown.
export async function loadSources(profile: Profile, file: string, locate: Locate, opts: SourceOptions = {}): Promise<{ sources: Map<number, Buffer>; inputs: string[]; problems: ProfileProblem[] }> {
  const sources = new Map<number, Buffer>()
  const inputs: string[] = []
  const problems: ProfileProblem[] = []
  const root = opts.sourceRoot ?? path.dirname(file)
  await Promise.all(profile.files.map(async (f, i) => {
    if (f.source === undefined) return
    const r = await readSource(root, f.source, opts.sourceRoot !== undefined ? `the source root ${root}` : `the profile's folder ${root}`)
    if (typeof r === 'string') problems.push(locate(['files', i, 'source'], r))
    else {
      sources.set(i, r.data)
      inputs.push(r.real)
    }
  }))
  return { sources, inputs, problems }
}

async function readSource(root: string, rel: string, named: string): Promise<{ data: Buffer; real: string } | string> {
  if (path.isAbsolute(rel)) return `${rel}: absolute paths are refused; name a file inside ${named} (relative to it)`
  if (rel.split(/[\\/]/).includes('..')) return `${rel}: .. is refused; sources come from inside ${named}`
  let realRoot: string
  let real: string
  try {
    realRoot = await realpath(root)
  } catch (err) {
    return `cannot use ${named}: ${(err as NodeJS.ErrnoException).code ?? err}`
  }
  if (/^\/(proc|sys|dev)(\/|$)/.test(realRoot)) return `${named} is under /proc, /sys or /dev: sources come from ordinary files`
  try {
    real = await realpath(path.join(realRoot, rel))
  } catch (err) {
    return `cannot read ${rel} (in ${named}): ${(err as NodeJS.ErrnoException).code ?? err}`
  }
  if (real !== realRoot && !real.startsWith(`${realRoot === '/' ? '' : realRoot}/`)) return `${rel} leads out of ${named} (to ${real}): sources stay inside it`
  let fh
  try {
    // O_NONBLOCK: a FIFO must not hang the build; O_NOFOLLOW: the last step was resolved above
    fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    return `cannot read ${rel} (in ${named}): ${(err as NodeJS.ErrnoException).code ?? err}`
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) return `${rel} is not a regular file (a device, FIFO, socket or directory)`
    if (st.size > SOURCE_MAX_BYTES) return `${rel} has ${st.size} bytes; a source may have at most ${SOURCE_MAX_BYTES}`
    // what was opened is what was checked (a symlink swapped in between would show here)
    const opened = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => real)
    if (opened !== real) return `${rel} changed while it was read`
    const data = await fh.readFile()
    if (data.length > SOURCE_MAX_BYTES) return `${rel} has more than ${SOURCE_MAX_BYTES} bytes`
    return { data, real }
  } finally {
    await fh.close()
  }
}
