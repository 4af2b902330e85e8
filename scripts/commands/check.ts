// hostbake check: does the profile fit the host its snapshot describes?
import { loadChecked, renderHost } from '../hostPipeline.js'
import { str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const snapshot = str(args.values.snapshot)!
  const [loaded] = await loadChecked(args.positionals, snapshot, { sourceRoot: str(args.values['source-root']) })
  const { plan } = renderHost(loaded)
  const fns = [...plan.vfioIds.map((i) => i.value), ...plan.vfioAddresses.map((a) => a.address)]
  process.stdout.write(`${loaded.file}: fits ${snapshot} (vfio-pci gets ${fns.join(', ') || 'nothing'})\n`)
  return 0
}
