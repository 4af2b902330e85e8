// hostbake diff OLD NEW: what moved between two host snapshots (exit 1 when anything did, as diff(1)).
import { HostbakeError } from '../shared/hostbakeError.js'
import { diffSnapshots } from '../snapshot/snapshotDiff.js'
import { loadSnapshot } from '../snapshot/snapshotLoad.js'
import { log, str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  // `diff OLD NEW`, or the older spelling `diff --snapshot OLD NEW`
  const files = [...(str(args.values.snapshot) ? [str(args.values.snapshot)!] : []), ...args.positionals]
  if (files.length !== 2) throw new HostbakeError('diff takes two snapshots: OLD NEW', { hint: 'hostbake diff hosts/vmhost-2024.json hosts/vmhost.json' })
  const [old, now] = files
  const lines = diffSnapshots(await loadSnapshot(old), await loadSnapshot(now))
  process.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : '')
  log(lines.length > 0 ? `${lines.length} change${lines.length === 1 ? '' : 's'} from ${old} to ${now}` : `no change from ${old} to ${now}`)
  return lines.length > 0 ? 1 : 0
}
