// hostbake snapshot: print the collector (--collector), or run it over a tree (--sysfs DIR; / for this machine).
import { HostbakeError } from '../shared/hostbakeError.js'
import { collectSnapshot, readCollector } from '../snapshot/snapshotCollect.js'
import { writeAtomic } from '../write/outputWrite.js'
import { flag, str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const sysfs = str(args.values.sysfs)
  const output = str(args.values.output)
  if (flag(args.values.collector) === (sysfs !== undefined)) {
    throw new HostbakeError('snapshot takes --collector (print the collector) or --sysfs DIR (collect from a tree; / for this host)', { hint: 'ssh vmhost sh < <(hostbake snapshot --collector) > hosts/vmhost.json' })
  }
  const text = sysfs === undefined ? await readCollector() : await collectSnapshot(sysfs)
  if (output === undefined || output === '-') process.stdout.write(text)
  else await writeAtomic(output, Buffer.from(text))
  return 0
}
