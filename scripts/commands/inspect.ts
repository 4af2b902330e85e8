// hostbake inspect: IOMMU groups, drivers and USB devices of a snapshot, with what the host must keep.
import { loadSnapshot } from '../snapshot/snapshotLoad.js'
import { formatInspect, inspectGroups } from '../snapshot/snapshotInspect.js'
import { flag, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const snap = await loadSnapshot(args.positionals[0])
  process.stdout.write(flag(args.values.json) ? `${JSON.stringify(inspectGroups(snap), null, 2)}\n` : formatInspect(snap))
  return 0
}
