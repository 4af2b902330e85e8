// Golden overlays: every bundled profile's rendered file map, compared exactly with a reviewed copy.
// Refresh on purpose only: UPDATE_GOLDEN=1 npm test, then read the diff.
import test from 'ava'
import { readFile, writeFile } from 'node:fs/promises'
import { bakeHost } from '../../scripts/hostPipeline.js'
import { loadProfile } from '../../scripts/hostPipeline.js'
import { sortedEntries, type FileMap } from '../../scripts/render/overlayRender.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { BUNDLED_PROFILES } from '../testSupport.js'

export function describeOverlay(files: FileMap): string {
  const out: string[] = []
  for (const e of sortedEntries(files)) {
    const mode = e.mode.toString(8).padStart(4, '0')
    out.push(`${e.type.padEnd(9)} ${mode} ${e.uid}:${e.gid} ${e.name}${e.target ? ` -> ${e.target}` : ''}`)
  }
  for (const e of sortedEntries(files)) {
    if (e.type === 'file') out.push('', `===== ${e.name}`, e.data!.toString('utf8').replace(/\n$/, ''))
  }
  return `${out.join('\n')}\n`
}

for (const name of BUNDLED_PROFILES) {
  test(`golden overlay: ${name}`, async (t) => {
    const host = await bakeHost(await loadProfile(packagePath('profiles', `${name}.yaml`)))
    const actual = describeOverlay(host.files)
    const goldenFile = packagePath('test', 'golden', `${name}.txt`)
    if (process.env.UPDATE_GOLDEN === '1') await writeFile(goldenFile, actual)
    const golden = await readFile(goldenFile, 'utf8').catch(() => '(missing: run UPDATE_GOLDEN=1 npm test and review it)')
    t.is(actual, golden)
  })
}
