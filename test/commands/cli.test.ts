// The CLI as a user runs it: the built bin, real processes, real files.
import test from 'ava'
import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, writeFile, lstat } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { CLI, BUNDLED_PROFILES, runCli, tempDir } from '../testSupport.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'

const run = promisify(execFile)
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

test('build with no argument bakes every bundled profile and prints the paths', async (t) => {
  const out = await tempDir(t)
  const r = await runCli(['build', '-o', out])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.toString().trim().split('\n').sort(), BUNDLED_PROFILES.map((n) => path.join(out, `${n}.apkovl.tar.gz`)).sort())
  t.deepEqual((await readdir(out)).sort(), BUNDLED_PROFILES.map((n) => `${n}.apkovl.tar.gz`).sort(), 'no temp files left')
})

test('build --json reports path, sha256, bytes and the file list', async (t) => {
  const out = await tempDir(t)
  const r = await runCli(['build', 'profiles/twin-nic.yaml', '-o', out, '--json'])
  t.is(r.code, 0, r.stderr)
  const [rep] = JSON.parse(r.stdout.toString())
  const data = await readFile(rep.path)
  t.is(rep.sha256, sha256(data))
  t.is(rep.bytes, data.length)
  t.true(rep.files.includes('etc/hostbake/vfio-override.sh'))
  const { stdout } = await run('/bin/busybox', ['tar', '-tzf', rep.path])
  t.deepEqual(stdout.trim().split('\n'), rep.files)
})

test('render -o - writes the tarball to stdout, logs stay on stderr', async (t) => {
  const r = await runCli(['render', 'profiles/homeassistant.yaml', '-o', '-'])
  t.is(r.code, 0, r.stderr)
  const p = spawnSync('/bin/busybox', ['tar', '-tz'], { input: r.stdout })
  t.is(p.status, 0)
  t.true(p.stdout.toString().split('\n').includes('etc/modprobe.d/vfio.conf'))
})

test('show --json gives the plan with reasons; show prints them for people', async (t) => {
  const j = await runCli(['show', 'profiles/homeassistant.yaml', '--json'])
  t.is(j.code, 0, j.stderr)
  const plan = JSON.parse(j.stdout.toString())
  t.deepEqual(plan.vfioIds.map((i: { value: string }) => i.value), ['8086:3a67', '8086:3a68', '8086:3a69', '8086:3a6c'])
  t.regex(plan.cmdline, /modules=sd-mod,usb-storage,ext4,vfio,vfio-pci,vfio_iommu_type1 quiet rootfstype=ext4 intel_iommu=on iommu=pt$/)
  const h = await runCli(['show', 'profiles/homeassistant.yaml'])
  t.regex(h.stdout.toString(), /softdep igb pre: vfio-pci\s+# passthrough\.preempt/)
})

test('byte-identical rebuilds under another time zone and umask', async (t) => {
  const a = await tempDir(t)
  const b = await tempDir(t)
  const r1 = await runCli(['build', '-o', a], { env: { TZ: 'UTC' } })
  // another zone and umask; the clock is never read (entry mtimes are fixed, the gzip header has none)
  const r2 = spawnSync('/bin/sh', ['-c', `umask 077; TZ=Pacific/Kiritimati exec "${process.execPath}" "${CLI}" build -o "${b}"`], { cwd: packagePath() })
  t.is(r1.code, 0, r1.stderr)
  t.is(r2.status, 0, r2.stderr.toString())
  for (const n of BUNDLED_PROFILES) {
    t.deepEqual(await readFile(path.join(a, `${n}.apkovl.tar.gz`)), await readFile(path.join(b, `${n}.apkovl.tar.gz`)), n)
  }
})

test('SOURCE_DATE_EPOCH sets the entry mtime', async (t) => {
  const r = await runCli(['render', 'profiles/twin-nic.yaml', '-o', '-'], { env: { SOURCE_DATE_EPOCH: '1000000000' } })
  const p = spawnSync('tar', ['-tvz', '--full-time'], { input: r.stdout, env: { TZ: 'UTC' } })
  t.regex(p.stdout.toString(), /2001-09-09 01:46:40 etc\/hostname/)
})

test('user files: content and source, owners, secret default mode, .ssh owned by its user', async (t) => {
  const dir = await tempDir(t)
  await writeFile(path.join(dir, 'motd.txt'), 'welcome\n')
  await writeFile(path.join(dir, 'host.yaml'), [
    'hostname: files-host', 'cpu: amd', 'files:',
    '  - { path: /etc/motd, source: motd.txt }',
    '  - { path: /home/alice/.ssh/authorized_keys, content: "ssh-ed25519 AAAA alice", owner: "1000:1000", mode: "0600" }',
    '  - { path: /etc/wireguard/wg0.key, content: "secret" }', ''].join('\n'))
  const r = await runCli(['build', path.join(dir, 'host.yaml'), '-o', dir])
  t.is(r.code, 0, r.stderr)
  const root = path.join(dir, 'root')
  await mkdir(root)
  await run('/bin/busybox', ['tar', '-C', root, '-xzf', path.join(dir, 'files-host.apkovl.tar.gz')])
  t.is(await readFile(path.join(root, 'etc/motd'), 'utf8'), 'welcome\n')
  const key = await lstat(path.join(root, 'home/alice/.ssh/authorized_keys'))
  t.deepEqual([key.uid, key.gid, key.mode & 0o777], [1000, 1000, 0o600])
  const ssh = await lstat(path.join(root, 'home/alice/.ssh'))
  t.deepEqual([ssh.uid, ssh.mode & 0o777], [1000, 0o700])
  t.is((await lstat(path.join(root, 'etc/wireguard/wg0.key'))).mode & 0o777, 0o600, 'secret-looking files default to 0600')
})

test("real kmod parses the generated modprobe.d without complaint and sees every directive", async (t) => {
  const out = await tempDir(t)
  t.is((await runCli(['build', '-o', out])).code, 0)
  for (const n of BUNDLED_PROFILES) {
    const root = path.join(out, n)
    await mkdir(root)
    await run('/bin/busybox', ['tar', '-C', root, '-xzf', path.join(out, `${n}.apkovl.tar.gz`)])
    const conf = await readFile(path.join(root, 'etc/modprobe.d/vfio.conf'), 'utf8')
    const p = spawnSync('modprobe', ['-c', '-C', path.join(root, 'etc/modprobe.d')])
    t.is(p.status, 0)
    t.notRegex(p.stderr.toString(), /libkmod|error|ignoring/i, n)
    const seen = p.stdout.toString().split('\n')
    const directives = conf.split('\n').filter((l) => l && !l.startsWith('#'))
    t.true(directives.length > 0)
    for (const d of directives) {
      // kmod prints module names with underscores in options/install keys
      const [kw, mod, ...rest] = d.split(' ')
      const want = [kw, mod.replaceAll('-', '_'), ...rest].join(' ')
      t.true(seen.includes(want) || seen.includes(d), `${n}: kmod did not take "${d}"`)
    }
  }
})

test('the override script is valid POSIX sh (busybox ash -n)', async (t) => {
  const r = await runCli(['render', 'profiles/twin-nic.yaml', '-o', '-'])
  const dir = await tempDir(t)
  const p = spawnSync('/bin/busybox', ['tar', '-xz', '-C', dir], { input: r.stdout })
  t.is(p.status, 0)
  const sh = spawnSync('/bin/busybox', ['sh', '-n', path.join(dir, 'etc/hostbake/vfio-override.sh')])
  t.is(sh.status, 0, sh.stderr.toString())
})

test('unknown command and missing arguments exit 2 with usage', async (t) => {
  const a = await runCli(['frobnicate'])
  t.is(a.code, 2)
  t.regex(a.stderr, /unknown command 'frobnicate'/)
  const b = await runCli(['render', 'profiles/twin-nic.yaml'])
  t.is(b.code, 2)
  t.regex(b.stderr, /hostbake render needs -o\/--output/)
})
