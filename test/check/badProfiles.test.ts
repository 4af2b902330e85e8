// The bad-profile corpus: every file must fail with exit code 2, a message naming the file, the line
// (given in its own header) and the field, and leave the output folder exactly as it was.
import test from 'ava'
import { copyFile, readFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { runCli, tempDir } from '../testSupport.js'

const dir = packagePath('test', 'bad-profiles')
const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()

test('the corpus is large enough to mean something', (t) => {
  t.true(files.length >= 30, `${files.length} bad profiles`)
})

for (const name of files) {
  test(`bad profile ${name}`, async (t) => {
    const text = await readFile(path.join(dir, name), 'utf8')
    const expectMsg = new RegExp(text.match(/^# expect: (.*)$/m)![1])
    const expectLine = Number(text.match(/^# line: (\d+)$/m)![1])
    const out = await tempDir(t)
    // A previous good build of a host with the same name must survive, and the good profile baked in
    // the same run must not be written either: nothing is written unless every profile is good.
    const previous = packagePath('test', 'golden', 'homeassistant.txt')
    await copyFile(previous, path.join(out, 'badhost.apkovl.tar.gz'))
    const before = await readFile(path.join(out, 'badhost.apkovl.tar.gz'))
    const file = path.relative(packagePath(), path.join(dir, name))
    const r = await runCli(['build', 'profiles/twin-nic.yaml', file, '-o', out])
    t.is(r.code, 2, r.stderr)
    t.is(r.stdout.length, 0, 'nothing on stdout')
    const first = r.stderr.split('\n')[0]
    t.regex(first, new RegExp(`^${file.replaceAll('.', '\\.')}:${expectLine}:\\d+ `), 'file:line:col first')
    t.regex(r.stderr, expectMsg)
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace without --verbose')
    t.deepEqual(await readdir(out), ['badhost.apkovl.tar.gz'])
    t.deepEqual(await readFile(path.join(out, 'badhost.apkovl.tar.gz')), before)
  })
}
