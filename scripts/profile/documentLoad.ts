// A YAML (or JSON: YAML 1.2 reads it) document checked against a zod schema, with every problem located
// as file:line:col field. Profiles and host snapshots load through here.
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { Document, LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml'
import * as z from 'zod'
import { ProfileError, formatFieldPath, type ProfileProblem } from '../shared/hostbakeError.js'

// What a profile or a snapshot may be: a few hundred KiB at most (a YAML file of megabytes is not a profile).
export const INPUT_LIMITS = { profileBytes: 1 << 20, snapshotBytes: 8 << 20, depth: 32, aliases: 100 }

// An input file's text, or an error that names it (exit 2 like any bad input). Only regular files (a FIFO
// or a device would block or never end), at most maxBytes, and valid UTF-8 (never silently replaced by U+FFFD).
export async function readInput(file: string, maxBytes = INPUT_LIMITS.profileBytes): Promise<string> {
  const fail = (message: string, line?: number): never => {
    throw new ProfileError([{ file, ...(line !== undefined ? { line, col: 1 } : {}), field: '', message }])
  }
  let data: Buffer
  try {
    const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK)
    try {
      const st = await fh.stat()
      if (!st.isFile()) fail('not a regular file')
      if (st.size > maxBytes) fail(`${st.size} bytes: larger than the ${maxBytes} bytes an input may have`)
      data = await fh.readFile()
      if (data.length > maxBytes) fail(`larger than the ${maxBytes} bytes an input may have`)
    } finally {
      await fh.close()
    }
  } catch (err) {
    if (err instanceof ProfileError) throw err
    return fail(`cannot read: ${(err as NodeJS.ErrnoException).code ?? err}`)
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data)
  } catch {
    // the first byte that is not UTF-8, by line: decode prefixes until one fails
    let good = 0
    for (let lo = 0, hi = data.length; lo < hi;) {
      const mid = (lo + hi + 1) >> 1
      try { new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(0, mid)); good = mid; lo = mid } catch { hi = mid - 1 }
    }
    const line = data.subarray(0, good).toString('utf8').split('\n').length
    return fail('not UTF-8 text (an invalid byte sequence); save the file as UTF-8', line)
  }
}

export type Locate = (fieldPath: readonly PropertyKey[], message: string, keyOf?: string) => ProfileProblem

export function parseDocumentAs<S extends z.ZodType>(schema: S, text: string, file: string, notAMapping: string): { data: z.output<S>; locate: Locate } {
  const r = parseDocumentLoose(schema, text, file, notAMapping)
  if (r.problems.length > 0) throw new ProfileError(r.problems)
  return { data: r.data as z.output<S>, locate: r.locate }
}

export interface LooseDocument<T> {
  data?: T // set when the document matches the schema
  raw?: unknown // the plain data, when the YAML itself is sound (for a second, salvaging parse)
  problems: ProfileProblem[]
  locate: Locate
}

// Tags a profile or a snapshot may carry: YAML's core schema. Anything else (!include, !!binary, !!set) is refused.
const CORE_TAGS = new Set(['tag:yaml.org,2002:str', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float', 'tag:yaml.org,2002:bool',
  'tag:yaml.org,2002:null', 'tag:yaml.org,2002:map', 'tag:yaml.org,2002:seq'])

// Every problem the document has, located: YAML syntax, tags, nesting, aliases, then every zod issue.
export function parseDocumentLoose<S extends z.ZodType>(schema: S, text: string, file: string, notAMapping: string): LooseDocument<z.output<S>> {
  const lineCounter = new LineCounter()
  const at = (offset: number) => lineCounter.linePos(offset)
  let doc: Document
  try {
    doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: '1.2' })
  } catch (err) {
    // the parser recurses: a pathological nesting can exhaust the stack before any check of ours runs
    const locate: Locate = (fieldPath, message) => ({ file, field: formatFieldPath(fieldPath), message })
    return { problems: [{ file, field: '', message: `YAML: cannot be parsed (${err instanceof RangeError ? 'nested too deeply' : String(err)})` }], locate }
  }
  const locate: Locate = (fieldPath, message, keyOf) => locateProblem(doc, lineCounter, file, fieldPath, message, keyOf)

  // unresolved tags are reported by checkNodes, with every other tag it refuses
  // the parser recurses: a nesting thousands deep ends in a RangeError, said once and in our words
  let tooDeep = false
  const yamlProblems: ProfileProblem[] = [...doc.errors, ...doc.warnings.filter((w) => w.code !== 'TAG_RESOLVE_FAILED')].flatMap((e) => {
    const pos = at(e.pos[0])
    const deep = /Maximum call stack size exceeded/.test(e.message)
    if (deep && tooDeep) return []
    tooDeep ||= deep
    return [{ file, line: pos.line, col: pos.col, field: '', message: deep ? `YAML: nested deeper than ${INPUT_LIMITS.depth} levels` : `YAML: ${e.message.split('\n')[0]}` }]
  })
  if (doc.errors.length > 0) return { problems: yamlProblems, locate }
  const shape = checkNodes(doc, file, at, text)
  if (yamlProblems.length + shape.length > 0) return { problems: [...yamlProblems, ...shape], locate }
  if (!isMap(doc.contents)) return { problems: [{ file, line: 1, col: 1, field: '', message: notAMapping }], locate }

  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: INPUT_LIMITS.aliases }) as unknown
  } catch (err) {
    return { problems: [{ file, line: 1, col: 1, field: '', message: `YAML: aliases expand too far (${(err as Error).message.replace(/ indicates.*/, '')}; at most ${INPUT_LIMITS.aliases} uses of an anchor's content)` }], locate }
  }
  const parsed = schema.safeParse(data)
  if (!parsed.success) return { raw: data, problems: parsed.error.issues.flatMap((i) => zodProblems(schema, i, locate, data)), locate }
  return { data: parsed.data, raw: data, problems: [], locate }
}

// Walk the node tree without recursion: nesting depth, tags outside YAML's core schema, and values a flow list split.
function checkNodes(doc: Document, file: string, at: (offset: number) => { line: number; col: number }, text: string): ProfileProblem[] {
  const problems: ProfileProblem[] = []
  const stack: [unknown, number, PropertyKey[]][] = [[doc.contents, 1, []]]
  let tooDeep = false
  while (stack.length > 0) {
    const [node, depth, fieldPath] = stack.pop()!
    if (node === null || typeof node !== 'object') continue
    const n = node as Node & { tag?: string; range?: [number, number, number] }
    const pos = at(n.range?.[0] ?? 0)
    if (isScalar(n) || isMap(n) || isSeq(n)) {
      if (n.tag !== undefined && !CORE_TAGS.has(n.tag)) problems.push({ file, line: pos.line, col: pos.col, field: '', message: `YAML: the tag ${n.tag.replace('tag:yaml.org,2002:', '!!')} is not accepted (plain values only)` })
    }
    if (isSeq(n) && n.flow) problems.push(...checkSplitValues(n.items, text, file, at, fieldPath))
    if (isMap(n) || isSeq(n)) {
      if (depth > INPUT_LIMITS.depth) {
        if (!tooDeep) problems.push({ file, line: pos.line, col: pos.col, field: '', message: `YAML: nested deeper than ${INPUT_LIMITS.depth} levels` })
        tooDeep = true
        continue
      }
      ;(n.items as unknown[]).forEach((item, i) => {
        if (isPair(item)) {
          const key = isScalar(item.key) ? String(item.key.value) : String(item.key)
          stack.push([item.key, depth + 1, fieldPath], [item.value, depth + 1, [...fieldPath, key]])
        } else stack.push([item, depth + 1, [...fieldPath, i]])
      })
    }
  }
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
}

// In a flow list every comma starts an item: `[console=ttyS0,115200]` is two items, "console=ttyS0" and "115200".
// A plain item right after a bare comma (no space) that follows a `key=value` item is a value list split in two.
function checkSplitValues(items: unknown[], text: string, file: string, at: (offset: number) => { line: number; col: number }, fieldPath: PropertyKey[]): ProfileProblem[] {
  const problems: ProfileProblem[] = []
  for (let i = 1; i < items.length; i++) {
    const prev = items[i - 1]
    const item = items[i]
    if (!isScalar(prev) || !isScalar(item) || prev.type !== 'PLAIN' || item.type !== 'PLAIN' || !item.range) continue
    if (!String(prev.value).includes('=') || text[item.range[0] - 1] !== ',') continue
    const pos = at(item.range[0])
    const joined = `${String(prev.value)},${String(item.value)}`
    problems.push({ file, line: pos.line, col: pos.col, field: formatFieldPath([...fieldPath, i]), message: `"${String(item.value)}" follows "${String(prev.value)}" after a bare comma: in a [ ] list every comma starts a new item, so this value was split in two. Quote the whole option ("${joined}"), or put a space after the comma if they are two items` })
  }
  return problems
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

