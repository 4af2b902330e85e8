// load a snapshot: JSON (read as YAML 1.2, so problems carry file:line:col), checked by snapshotSchema.
import { INPUT_LIMITS, parseDocumentAs, readInput } from '../profile/documentLoad.js'
import { ProfileError } from '../shared/hostbakeError.js'
import { snapshotSchema, type Snapshot } from './snapshotSchema.js'

export function parseSnapshotText(text: string, file: string): Snapshot {
  if (text.trim() === '') throw new ProfileError([{ file, field: '', message: 'empty: did the collector run? (ssh host sh < collector.sh > snapshot.json)' }])
  return parseDocumentAs(snapshotSchema, text, file, 'expected a JSON object from `hostbake snapshot`').data
}

export async function loadSnapshot(file: string): Promise<Snapshot> {
  const text = await readInput(file, INPUT_LIMITS.snapshotBytes)
  return parseSnapshotText(text, file)
}
