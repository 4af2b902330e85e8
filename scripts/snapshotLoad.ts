// load a snapshot: JSON (read as YAML 1.2, so problems carry file:line:col), checked by snapshotSchema.
import { readFile } from 'node:fs/promises'
import { parseDocumentAs } from './documentLoad.js'
import { ProfileError } from './hostbakeError.js'
import { snapshotSchema, type Snapshot } from './snapshotSchema.js'

export function parseSnapshotText(text: string, file: string): Snapshot {
  if (text.trim() === '') throw new ProfileError([{ file, field: '', message: 'empty: did the collector run? (ssh host sh < collector.sh > snapshot.json)' }])
  return parseDocumentAs(snapshotSchema, text, file, 'expected a JSON object from `hostbake snapshot`').data
}

export async function loadSnapshot(file: string): Promise<Snapshot> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ProfileError([{ file, field: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}` }])
  }
  return parseSnapshotText(text, file)
}
