// hostbake show: the resolved plan, each item with its reason (--json: the plan as data).
import { loadChecked, renderHost } from '../hostPipeline.js'
import { formatPlan } from '../plan/planFormat.js'
import { sortedEntries } from '../render/overlayRender.js'
import { flag, str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const [loaded] = await loadChecked(args.positionals, str(args.values.snapshot), { sourceRoot: str(args.values['source-root']) })
  const { plan, files } = renderHost(loaded)
  process.stdout.write(flag(args.values.json) ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan, sortedEntries(files).map((e) => e.name)))
  return 0
}
