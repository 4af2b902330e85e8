// hostbake check: does the profile fit the host its snapshot describes?
import { loadChecked, renderHost } from '../hostPipeline.js'
import { str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const snapshot = str(args.values.snapshot)!
  const [loaded] = await loadChecked(args.positionals, snapshot, { sourceRoot: str(args.values['source-root']) })
  const { plan } = renderHost(loaded)
  const fns = [...plan.vfioIds.map((i) => i.value), ...plan.vfioAddresses.map((a) => a.address)]
  process.stdout.write(`${loaded.file}: fits ${snapshot} (vfio-pci gets ${fns.join(', ') || 'nothing'})\n`)
  // what fits but deserves a look (a preempted driver that drives nothing, setup-disk's rewrite): show says it too
  for (const n of plan.notices) process.stderr.write(`hostbake: note: ${n}\n`)
  return 0
}
