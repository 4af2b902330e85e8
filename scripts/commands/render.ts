// hostbake render: one overlay, to a file or (-o -) to stdout.
import { bakeHost, loadChecked } from '../hostPipeline.js'
import { writeAtomic } from '../write/outputWrite.js'
import { str, writeStdout, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const output = str(args.values.output)!
  const [loaded] = await loadChecked(args.positionals, str(args.values.snapshot), { sourceRoot: str(args.values['source-root']) })
  const host = await bakeHost(loaded)
  if (output === '-') await writeStdout(host.apkovl)
  else await writeAtomic(output, host.apkovl, host.mode, host.inputs)
  return 0
}
