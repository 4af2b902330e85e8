// Output safety: never through or over a non-regular file or an input; an overlay holding a secret is 0600;
// a full disk or a signal mid-build leaves no temp file and says which overlays were written.
import test from 'ava'
import { execFileSync, spawn } from 'node:child_process'
import { chmod, link, lstat, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { profileYaml, runCli, tempDir } from '../testSupport.js'

const twin = packagePath('profiles', 'twin-nic.yaml')

test('a device node, a FIFO, a directory or a symlink at the output path is refused and left as it was', async (t) => {
  const dir = await tempDir(t)
  execFileSync('mknod', [path.join(dir, 'null'), 'c', '1', '3'])
  execFileSync('mkfifo', [path.join(dir, 'fifo')])
  await mkdir(path.join(dir, 'adir'))
  await writeFile(path.join(dir, 'target'), 'keep')
  await symlink(path.join(dir, 'target'), path.join(dir, 'link'))
  for (const [out, kind] of [['null', /a device node/], ['fifo', /a FIFO/], ['adir', /a directory/], ['link', /a symlink/]] as const) {
    const r = await runCli(['render', twin, '-o', path.join(dir, out)])
    t.is(r.code, 2, out)
    t.regex(r.stderr, kind)
  }
  t.true((await lstat(path.join(dir, 'null'))).isCharacterDevice(), 'the device node survives')
  t.true((await lstat(path.join(dir, 'link'))).isSymbolicLink())
  t.is(await readFile(path.join(dir, 'target'), 'utf8'), 'keep')
  // build: the overlay's own name taken by a device node
  const out = path.join(dir, 'out')
  await mkdir(out)
  execFileSync('mknod', [path.join(out, 'twin-nic.apkovl.tar.gz'), 'c', '1', '3'])
  const r = await runCli(['build', twin, '-o', out])
  t.is(r.code, 2)
  t.true((await lstat(path.join(out, 'twin-nic.apkovl.tar.gz'))).isCharacterDevice())
  t.deepEqual(await readdir(out), ['twin-nic.apkovl.tar.gz'], 'no temp file left')
})

test('an output that is an input (the profile, a source, a hard link to one) is refused and the input kept', async (t) => {
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'motd'), 'hello')
  const p = path.join(dir, 'p.yaml')
  const text = profileYaml('files:\n  - path: /etc/motd\n    source: motd\n')
  await writeFile(p, text)
  await link(p, path.join(dir, 'hard.yaml'))
  for (const out of [p, path.join(dir, 'motd'), path.join(dir, 'hard.yaml'), `${dir}/./p.yaml`]) {
    const r = await runCli(['render', p, '-o', out])
    t.is(r.code, 2, out)
    t.regex(r.stderr, /is an input of this run/)
  }
  t.is(await readFile(p, 'utf8'), text)
  t.is(await readFile(path.join(dir, 'motd'), 'utf8'), 'hello')
})

test('the overlay file is 0600 when it holds a secret, 0644 otherwise', async (t) => {
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'secret.yaml'), profileYaml('files:\n  - { path: /etc/wireguard/wg0.conf, content: "[Interface]" }\n').replace('testhost', 'secret'))
  await writeFile(path.join(dir, 'plain.yaml'), profileYaml('files:\n  - { path: /etc/motd, content: hi }\n').replace('testhost', 'plain'))
  const r = await runCli(['build', path.join(dir, 'secret.yaml'), path.join(dir, 'plain.yaml'), '-o', path.join(dir, 'out')])
  t.is(r.code, 0, r.stderr)
  t.is((await stat(path.join(dir, 'out', 'secret.apkovl.tar.gz'))).mode & 0o777, 0o600)
  t.is((await stat(path.join(dir, 'out', 'plain.apkovl.tar.gz'))).mode & 0o777, 0o644)
  // a previous 0644 file is replaced by a 0600 one, not rewritten in place
  await chmod(path.join(dir, 'out', 'secret.apkovl.tar.gz'), 0o644)
  await runCli(['build', path.join(dir, 'secret.yaml'), '-o', path.join(dir, 'out')])
  t.is((await stat(path.join(dir, 'out', 'secret.apkovl.tar.gz'))).mode & 0o777, 0o600)
})

test('SOURCE_DATE_EPOCH: anything but whole seconds in range is an error; a valid one is the mtime', async (t) => {
  const dir = await tempDir(t)
  for (const bad of ['-1', '1.5', 'abc', '1e9', '99999999999999', ' 1']) {
    const r = await runCli(['render', twin, '-o', path.join(dir, 'x.tar.gz')], { env: { SOURCE_DATE_EPOCH: bad } })
    t.is(r.code, 2, bad)
    t.regex(r.stderr, /SOURCE_DATE_EPOCH/)
  }
  t.deepEqual(await readdir(dir), [])
  const r = await runCli(['render', twin, '-o', '-'], { env: { SOURCE_DATE_EPOCH: '1700000000' } })
  t.is(r.code, 0)
  const tar = gunzipSync(r.stdout)
  t.is(parseInt(tar.subarray(136, 147).toString(), 8), 1700000000)
})

test('a full disk mid-build: exit 1, the written overlays named and whole, no temp file', async (t) => {
  const dir = await tempDir(t)
  const mnt = path.join(dir, 'small')
  await mkdir(mnt)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', mnt])
  } catch {
    t.fail('cannot mount a tmpfs here: this test needs root with CAP_SYS_ADMIN')
    return
  }
  t.teardown(() => { execFileSync('umount', [mnt]) })
  const files: string[] = []
  for (let i = 0; i < 30; i++) {
    const f = path.join(dir, `h${i}.yaml`)
    // incompressible content: each overlay ~12 KB, so a few fit and the rest do not
    const blob = Buffer.from(Array.from({ length: 9000 }, (_, j) => ((j * j * 7919) ^ (i * 104729)) % 251)).toString('base64')
    await writeFile(f, profileYaml(`files:\n  - { path: /etc/blob, content: "${blob}" }\n`).replace('testhost', `h${i}`))
    files.push(f)
  }
  const r = await runCli(['build', ...files, '-o', mnt])
  t.is(r.code, 1, r.stderr)
  const m = /stopped \(ENOSPC\): wrote (\d+) of 30(?:: (.*))?$/m.exec(r.stderr)
  t.truthy(m, r.stderr)
  const written = m![2] ? m![2].split(' ') : []
  t.is(written.length, Number(m![1]))
  t.true(written.length > 0 && written.length < 30, 'some overlays fit, the rest did not')
  const left = await readdir(mnt)
  t.deepEqual(left.filter((f) => f.endsWith('.tmp')), [], 'no temp file')
  t.deepEqual(left.sort(), written.map((w) => path.basename(w)).sort(), 'exactly the named overlays are there')
  for (const w of written) t.notThrows(() => gunzipSync(execFileSync('cat', [w])), `${w} is whole`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} mid-write: exit ${signal === 'SIGINT' ? 130 : 143}, no temp file, the written outputs named`, async (t) => {
    const dir = await tempDir(t)
    const script = path.join(dir, 'write.mjs')
    const mod = pathToFileURL(packagePath('dist', 'scripts', 'write', 'outputWrite.js')).href
    await writeFile(script, `import { writeOutputs } from '${mod}'
const data = Buffer.alloc(64 << 20, 1)
const outputs = Array.from({ length: 40 }, (_, i) => ({ path: '${dir}/out/o' + i, data }))
await writeOutputs(outputs, { limit: 2, log: (m) => process.stderr.write('hostbake: ' + m + '\\n') })
`)
    await mkdir(path.join(dir, 'out'))
    const p = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    p.stderr.on('data', (d: Buffer) => { err += d.toString() })
    const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)))
    const deadline = Date.now() + 60_000
    while (!(await readdir(path.join(dir, 'out'))).some((f) => /^o\d+$/.test(f)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    p.kill(signal)
    t.is(await exited, signal === 'SIGINT' ? 130 : 143, err)
    const m = /interrupted: wrote (\d+) of 40(?:: (.*))?$/m.exec(err)
    t.truthy(m, err)
    const left = await readdir(path.join(dir, 'out'))
    t.deepEqual(left.filter((f) => f.endsWith('.tmp')), [], 'no temp file')
    t.deepEqual(left.sort(), (m![2] ?? '').split(' ').filter(Boolean).map((w) => path.basename(w)).sort())
    for (const f of left) t.is((await stat(path.join(dir, 'out', f))).size, 64 << 20, `${f} is whole`)
  })
}
