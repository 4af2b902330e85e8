// The bad-profile corpus, one folder per class: every file must fail with exit code 2, a message naming
// the file, the line (given in its own header) and the field, and leave the output folder exactly as it was.
import test, { type ExecutionContext } from 'ava'
import { availableParallelism } from 'node:os'
import { copyFile, readFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { runCli, tempDir, type CliResult } from '../testSupport.js'

const dir = packagePath('test', 'bad-profiles')
const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.yaml') && !f.split(path.sep).includes('fixtures')).sort()
const classes = new Set(files.map((f) => f.split(path.sep)[0]))

// ava starts every test of a file at once: at most this many CLI processes run together
const limit = Math.max(1, Math.floor(availableParallelism() / 2))
let running = 0
const waiting: (() => void)[] = []
async function runLimited(args: string[]): Promise<CliResult> {
  if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
  running++
  try {
    return await runCli(args)
  } finally {
    running--
    waiting.shift()?.()
  }
}

test('the corpus is large enough to mean something, and organised by class', (t) => {
  t.true(files.length >= 100, `${files.length} bad profiles`)
  t.true(files.every((f) => f.includes(path.sep)), 'every bad profile sits in a class folder')
  for (const c of ['yaml', 'shape', 'kernel', 'passthrough', 'services', 'paths', 'entries', 'owners', 'secrets', 'sources', 'guests', 'test-devices']) {
    t.true(classes.has(c), `class ${c}`)
  }
})

// One CLI run per class (all its profiles and a good one, as a user's `hostbake build` would get them):
// every problem of every profile is printed, exit 2, and nothing written. Each file's test then finds its
// own expected problem at its own line. A run per file would cost ~0.3 s of CPU each, for 130+ files.
const runs = new Map<string, Promise<{ r: CliResult; out: string; before: Buffer }>>()
function runClass(cls: string, t: ExecutionContext) {
  let run = runs.get(cls)
  if (!run) {
    run = (async () => {
      const out = await tempDir(t, `hostbake-bad-${cls}-`)
      // A previous good build of a host with the same name must survive, and the good profile baked in
      // the same run must not be written either: nothing is written unless every profile is good.
      await copyFile(packagePath('test', 'golden', 'homeassistant.txt'), path.join(out, 'badhost.apkovl.tar.gz'))
      const before = await readFile(path.join(out, 'badhost.apkovl.tar.gz'))
      const mine = files.filter((f) => f.split(path.sep)[0] === cls).map((f) => path.relative(packagePath(), path.join(dir, f)))
      return { r: await runLimited(['build', 'profiles/twin-nic.yaml', ...mine, '-o', out]), out, before }
    })()
    runs.set(cls, run)
  }
  return run
}

for (const name of files) {
  test(`bad profile ${name}`, async (t) => {
    const text = await readFile(path.join(dir, name), 'latin1') // headers are ASCII; the body may be any bytes
    const expectMsg = new RegExp(text.match(/^# expect: (.*)$/m)![1])
    const expectLine = Number(text.match(/^# line: (\d+)$/m)![1])
    const { r, out, before } = await runClass(name.split(path.sep)[0], t)
    const file = path.relative(packagePath(), path.join(dir, name))
    t.is(r.code, 2, r.stderr)
    t.is(r.stdout.length, 0, 'nothing on stdout')
    const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    const mine = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`))
    t.true(mine.length > 0, `${file} is named`)
    for (const l of mine) t.regex(l, new RegExp(`^${escaped}:\\d+:\\d+ `), 'file:line:col first')
    t.true(mine.some((l) => new RegExp(`^${escaped}:${expectLine}:\\d+ .*${expectMsg.source}`).test(l)), `expected at line ${expectLine}: ${expectMsg.source}\n${mine.join('\n')}`)
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace without --verbose')
    t.deepEqual(await readdir(out), ['badhost.apkovl.tar.gz'])
    t.deepEqual(await readFile(path.join(out, 'badhost.apkovl.tar.gz')), before)
  })
}
