// hostbake build: every profile -> <outdir>/<hostname>.apkovl.tar.gz. Everything is baked in memory first:
// a bad profile stops the run before any file is written; a write that fails (a full disk) or a signal
// stops it saying which overlays were written, with no temp file left.
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { bakeHost, describeBaked, loadChecked } from '../hostPipeline.js'
import { writeOutputs } from '../write/outputWrite.js'
import { flag, log, profileFiles, str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const outDir = str(args.values.output) ?? 'apkovl'
  const loaded = await loadChecked(await profileFiles(args, 'build'), str(args.values.snapshot), { sourceRoot: str(args.values['source-root']) })
  const baked = await Promise.all(loaded.map((l) => bakeHost(l)))
  await mkdir(outDir, { recursive: true })
  const outputs = baked.map((host) => ({ host, path: path.join(outDir, `${host.hostname}.apkovl.tar.gz`), data: host.apkovl, mode: host.mode }))
  await writeOutputs(outputs, { inputs: baked.flatMap((h) => h.inputs), log })
  const written = outputs.map((o) => describeBaked(o.host, o.path))
  if (flag(args.values.json)) process.stdout.write(`${JSON.stringify(written, null, 2)}\n`)
  else process.stdout.write(written.map((w) => `${w.path}\n`).join(''))
  log(`baked ${written.length} host${written.length === 1 ? '' : 's'} into ${outDir}/`)
  return 0
}
