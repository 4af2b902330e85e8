// load: YAML text -> validated Profile, with every problem located as file:line:col field.
// Shape is checked by the zod schema, meaning by checkProfile; file sources are read here so that
// everything after loading is pure.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { Document, LineCounter, isMap, isSeq, parseDocument, type Node } from 'yaml'
import type { z } from 'zod'
import { ProfileError, formatFieldPath, type ProfileProblem } from './hostbakeError.js'
import { allowedKeysAt, profileSchema, type Profile } from './profileSchema.js'
import { checkProfile, type CheckIssue } from './profileCheck.js'

export interface LoadedProfile {
  file: string // as the user named it, for messages
  profile: Profile
  sources: Map<number, Buffer> // files[i].source contents, read at load time
  locate: Locate // field path -> file:line:col, for problems found after loading
}

export async function loadProfile(file: string): Promise<LoadedProfile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ProfileError([{ file, field: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}` }])
  }
  const { profile, locate } = parseProfileText(text, file)
  const sources = await loadSources(profile, file, locate)
  return { file, profile, sources, locate }
}

export type Locate = (fieldPath: readonly PropertyKey[], message: string, keyOf?: string) => ProfileProblem

// Pure part of loading, exported for tests and the benchmark: text -> Profile or ProfileError.
export function parseProfileText(text: string, file: string): { profile: Profile; locate: Locate } {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: '1.2' })
  const locate: Locate = (fieldPath, message, keyOf) => locateProblem(doc, lineCounter, file, fieldPath, message, keyOf)

  const yamlProblems: ProfileProblem[] = [...doc.errors, ...doc.warnings].map((e) => {
    const pos = lineCounter.linePos(e.pos[0])
    return { file, line: pos.line, col: pos.col, field: '', message: `YAML: ${e.message.split('\n')[0]}` }
  })
  if (doc.errors.length > 0) throw new ProfileError(yamlProblems)
  if (!isMap(doc.contents)) {
    throw new ProfileError([{ file, line: 1, col: 1, field: '', message: 'expected a YAML mapping (hostname: ..., cpu: ...) at the top level' }])
  }

  const data = doc.toJS({ maxAliasCount: 100 }) as unknown
  const parsed = profileSchema.safeParse(data)
  if (!parsed.success) throw new ProfileError(parsed.error.issues.flatMap((i) => zodProblems(i, locate, data)))

  const issues: CheckIssue[] = checkProfile(parsed.data)
  if (issues.length > 0) throw new ProfileError(issues.map((i) => locate(i.path, i.message)))
  return { profile: parsed.data, locate }
}

function valueAt(data: unknown, fieldPath: readonly PropertyKey[]): unknown {
  return fieldPath.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), data)
}

function zodProblems(issue: z.core.$ZodIssue, locate: Locate, data: unknown): ProfileProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(issue.path)
    return issue.keys.map((k) => locate([...issue.path, k], `unknown field; allowed here: ${allowed.join(', ')}`, k))
  }
  if (valueAt(data, issue.path) === undefined && issue.path.length > 0) {
    return [locate(issue.path, `required field missing: ${issue.message.replace(/^Invalid (input|option): /, '').replace(/, received undefined$/, '')}`)]
  }
  return [locate(issue.path, issue.message.replace(/^Invalid input: /, ''))]
}

// Point at the deepest YAML node that exists on the path; for an unknown key, at the key itself.
function locateProblem(
  doc: Document,
  lineCounter: LineCounter,
  file: string,
  fieldPath: readonly PropertyKey[],
  message: string,
  keyOf?: string,
): ProfileProblem {
  let node: Node | null = doc.contents as Node
  let offset = node?.range?.[0] ?? 0
  for (let i = 0; i < fieldPath.length && node; i++) {
    const part = fieldPath[i]
    const last = i === fieldPath.length - 1
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === String(part))
      if (!pair) break
      const keyNode = pair.key as Node | null
      if (last && keyOf !== undefined && keyNode?.range) { offset = keyNode.range[0]; break }
      const value = pair.value as Node | null
      offset = value?.range?.[0] ?? keyNode?.range?.[0] ?? offset
      node = value
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part] as Node | undefined
      if (!item) break
      offset = item.range?.[0] ?? offset
      node = item
    } else break
  }
  const pos = lineCounter.linePos(offset)
  return { file, line: pos.line, col: pos.col, field: formatFieldPath(fieldPath), message }
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
