// A YAML (or JSON: YAML 1.2 reads it) document checked against a zod schema, with every problem located
// as file:line:col field. Profiles and host snapshots load through here.
import { readFile } from 'node:fs/promises'
import { Document, LineCounter, isMap, isSeq, parseDocument, type Node } from 'yaml'
import { z } from 'zod'
import { ProfileError, formatFieldPath, type ProfileProblem } from '../shared/hostbakeError.js'

// An input file's text, or an error that names it (exit 2 like any bad input).
export async function readInput(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    throw new ProfileError([{ file, field: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}` }])
  }
}

export type Locate = (fieldPath: readonly PropertyKey[], message: string, keyOf?: string) => ProfileProblem

export function parseDocumentAs<S extends z.ZodType>(schema: S, text: string, file: string, notAMapping: string): { data: z.output<S>; locate: Locate } {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: '1.2' })
  const locate: Locate = (fieldPath, message, keyOf) => locateProblem(doc, lineCounter, file, fieldPath, message, keyOf)

  const yamlProblems: ProfileProblem[] = [...doc.errors, ...doc.warnings].map((e) => {
    const pos = lineCounter.linePos(e.pos[0])
    return { file, line: pos.line, col: pos.col, field: '', message: `YAML: ${e.message.split('\n')[0]}` }
  })
  if (doc.errors.length > 0) throw new ProfileError(yamlProblems)
  if (!isMap(doc.contents)) {
    throw new ProfileError([{ file, line: 1, col: 1, field: '', message: notAMapping }])
  }

  const data = doc.toJS({ maxAliasCount: 100 }) as unknown
  const parsed = schema.safeParse(data)
  if (!parsed.success) throw new ProfileError(parsed.error.issues.flatMap((i) => zodProblems(schema, i, locate, data)))
  return { data: parsed.data, locate }
}

// The keys a strict object accepts at a field path, for "unknown field" messages.
export function allowedKeysAt(schema: z.ZodType, fieldPath: readonly PropertyKey[]): string[] {
  let node: z.ZodType = schema
  const unwrap = (n: z.ZodType): z.ZodType => {
    for (;;) {
      const def = n._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType }
      if (def.innerType) n = def.innerType
      else if (def.type === 'pipe' && def.in) n = def.in
      else return n
    }
  }
  for (const part of fieldPath) {
    node = unwrap(node)
    if (node instanceof z.ZodArray && typeof part === 'number') node = node.element as z.ZodType
    else if (node instanceof z.ZodObject && typeof part === 'string' && part in node.shape) node = node.shape[part] as z.ZodType
    else return []
  }
  node = unwrap(node)
  return node instanceof z.ZodObject ? Object.keys(node.shape).filter((k) => k !== '$schema') : []
}

function valueAt(data: unknown, fieldPath: readonly PropertyKey[]): unknown {
  return fieldPath.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), data)
}

function zodProblems(schema: z.ZodType, issue: z.core.$ZodIssue, locate: Locate, data: unknown): ProfileProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(schema, issue.path)
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

