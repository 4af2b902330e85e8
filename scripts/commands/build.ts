// hostbake build: every profile -> <outdir>/<hostname>.apkovl.tar.gz. Everything is baked in memory first:
// a bad profile stops the run before any file is written.
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { bakeHost, describeBaked, loadChecked } from '../hostPipeline.js'
import { mapLimit, writeAtomic } from '../write/outputWrite.js'
import { flag, log, profileFiles, str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const outDir = str(args.values.output) ?? 'apkovl'
  const loaded = await loadChecked(await profileFiles(args, 'build'), str(args.values.snapshot))
  const baked = await Promise.all(loaded.map((l) => bakeHost(l)))
  await mkdir(outDir, { recursive: true })
  const written = await mapLimit(baked, 16, async (host) => {
    const out = path.join(outDir, `${host.hostname}.apkovl.tar.gz`)
    await writeAtomic(out, host.apkovl)
    return describeBaked(host, out)
  })
  if (flag(args.values.json)) process.stdout.write(`${JSON.stringify(written, null, 2)}\n`)
  else process.stdout.write(written.map((w) => `${w.path}\n`).join(''))
  log(`baked ${written.length} host${written.length === 1 ? '' : 's'} into ${outDir}/`)
  return 0
}
