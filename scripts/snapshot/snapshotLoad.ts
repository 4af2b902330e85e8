// load a snapshot: JSON (read as YAML 1.2, so problems carry file:line:col), checked by snapshotSchema.
// The format number is read first, then the document is checked against that format (1 is upgraded).
import { INPUT_LIMITS, parseDocumentAs, readInput } from '../profile/documentLoad.js'
import { ProfileError } from '../shared/hostbakeError.js'
import { snapshotV1Schema, snapshotV2Schema, snapshotVersionSchema, upgradeSnapshot, type Snapshot } from './snapshotSchema.js'

const NOT_AN_OBJECT = 'expected a JSON object from `hostbake snapshot`'

export function parseSnapshotText(text: string, file: string): Snapshot {
  if (text.trim() === '') throw new ProfileError([{ file, field: '', message: 'empty: did the collector run? (ssh host sh < collector.sh > snapshot.json)' }])
  const { data: version } = parseDocumentAs(snapshotVersionSchema, text, file, NOT_AN_OBJECT)
  if (version.hostbakeSnapshot === 1) return upgradeSnapshot(parseDocumentAs(snapshotV1Schema, text, file, NOT_AN_OBJECT).data)
  return parseDocumentAs(snapshotV2Schema, text, file, NOT_AN_OBJECT).data
}

export async function loadSnapshot(file: string): Promise<Snapshot> {
  const text = await readInput(file, INPUT_LIMITS.snapshotBytes)
  return parseSnapshotText(text, file)
}
