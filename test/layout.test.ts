// The layout is the pipeline: imports under scripts/ only run downhill, and product code never imports test code.
import test from 'ava'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { packagePath } from '../scripts/shared/packagePaths.js'

// upstream first: a module may import its own folder and anything to its left, never to its right
const STAGES = ['shared', 'alpine', 'profile', 'snapshot', 'check', 'plan', 'render', 'pack', 'write', 'hostPipeline.ts', 'image', 'netboot', 'boot', 'init', 'bench', 'commands', 'hostbake.ts', 'hostbakeLoader.ts', 'hostbakeBundle.ts']
const stageOf = (rel: string) => {
  const top = rel.split('/')[0]
  const i = STAGES.indexOf(top)
  if (i < 0) throw new Error(`scripts/${rel}: ${top} is not a known stage; add it to STAGES in pipeline order`)
  return i
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [])
}

test('imports under scripts/ run downhill only, and never into test/', (t) => {
  const root = packagePath('scripts')
  const files = sources(root)
  t.true(files.length > 20)
  const uphill: string[] = []
  for (const file of files) {
    const rel = path.relative(root, file)
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = path.relative(root, path.resolve(path.dirname(file), m[1])).replace(/\.js$/, '.ts')
      if (target.startsWith('..')) { uphill.push(`${rel} -> ${m[1]} (outside scripts/)`); continue }
      if (stageOf(target) > stageOf(rel)) uphill.push(`${rel} -> ${target}`)
    }
  }
  t.deepEqual(uphill, [])
})

test('the stage check itself catches an uphill import', (t) => {
  t.true(stageOf('check/profileCheck.ts') < stageOf('plan/hostPlan.ts'))
  t.throws(() => stageOf('nowhere/x.ts'), { message: /not a known stage/ })
})
