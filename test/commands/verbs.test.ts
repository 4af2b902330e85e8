// The CLI's contract with people and scripts: per-verb options and help, --version, exit codes.
import test from 'ava'
import { readFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { runCli, tempDir } from '../testSupport.js'
import { VERBS } from '../../scripts/commands/verbTable.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'

test('--version prints the package version', async (t) => {
  const r = await runCli(['--version'])
  t.is(r.code, 0)
  t.is(r.stdout.toString().trim(), JSON.parse(await readFile(packagePath('package.json'), 'utf8')).version)
})

test('no verb: usage on stderr, exit 2; --help: usage on stdout, exit 0', async (t) => {
  const none = await runCli([])
  t.is(none.code, 2)
  t.is(none.stdout.length, 0)
  t.regex(none.stderr, /usage: hostbake VERB/)
  const help = await runCli(['--help'])
  t.is(help.code, 0)
  for (const verb of Object.keys(VERBS)) t.regex(help.stdout.toString(), new RegExp(`^  ${verb} `, 'm'), verb)
})

test('each verb has its own --help with its usage and an example; help VERB says the same', async (t) => {
  const seen = new Set<string>()
  for (const verb of ['build', 'boot-test', 'schema', 'init']) {
    const r = await runCli([verb, '--help'])
    t.is(r.code, 0, verb)
    const text = r.stdout.toString()
    t.true(text.startsWith(`usage: hostbake ${VERBS[verb].usage}`), verb)
    t.regex(text, /example: hostbake /)
    seen.add(text)
    t.is((await runCli(['help', verb])).stdout.toString(), text)
  }
  t.is(seen.size, 4, 'four verbs, four different help texts')
})

test('options are strict per verb: another verb\'s option is an error naming its owner', async (t) => {
  const r = await runCli(['schema', '--kernel', 'x'])
  t.is(r.code, 2)
  t.regex(r.stderr, /hostbake schema: --kernel is an option of boot-test, not of schema/)
  const u = await runCli(['build', '--frobnicate'])
  t.is(u.code, 2)
  t.regex(u.stderr, /hostbake build: unknown option --frobnicate/)
  const extra = await runCli(['show', 'profiles/twin-nic.yaml', 'profiles/amd-router.yaml'])
  t.is(extra.code, 2)
  t.regex(extra.stderr, /hostbake show takes at most 1 argument/)
})

test('build reads ./profiles of the folder it runs in and writes ./apkovl there; --examples bakes the bundled ones', async (t) => {
  const dir = await tempDir(t)
  await mkdir(path.join(dir, 'profiles'))
  const twin = await readFile(packagePath('profiles', 'twin-nic.yaml'), 'utf8')
  await import('node:fs/promises').then((fs) => fs.writeFile(path.join(dir, 'profiles', 'mine.yaml'), twin.replace('hostname: twin-nic', 'hostname: mine')))
  const r = await runCli(['build'], { cwd: dir })
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.toString().trim(), path.join('apkovl', 'mine.apkovl.tar.gz'))
  const ex = await runCli(['build', '--examples', '-o', 'ex'], { cwd: dir })
  t.is(ex.code, 0, ex.stderr)
  t.true(ex.stdout.toString().split('\n').includes(path.join('ex', 'homeassistant.apkovl.tar.gz')))
  const empty = await tempDir(t)
  const none = await runCli(['build'], { cwd: empty })
  t.is(none.code, 2)
  t.regex(none.stderr, /no profiles in profiles\//)
  t.regex(none.stderr, /hostbake init/)
})

test('diff OLD NEW works without --snapshot; snapshot --sysfs of a tree without PCI devices is an error', async (t) => {
  const dir = await tempDir(t)
  const noPci = await runCli(['snapshot', '--sysfs', dir])
  t.is(noPci.code, 2)
  t.regex(noPci.stderr, /no PCI devices under/)
  const bad = await runCli(['diff', 'only-one.json'])
  t.is(bad.code, 2)
  t.regex(bad.stderr, /diff takes two snapshots/)
})

test('hostnames used twice: every clash is printed, located at its hostname line, and nothing is written', async (t) => {
  const dir = await tempDir(t)
  const { writeFile } = await import('node:fs/promises')
  for (const [f, h] of [['a.yaml', 'same'], ['b.yaml', 'same'], ['c.yaml', 'other'], ['d.yaml', 'other']]) {
    await writeFile(path.join(dir, f), `cpu: amd\nhostname: ${h}\n`)
  }
  const r = await runCli(['build', '--profiles', dir, '-o', path.join(dir, 'out')])
  t.is(r.code, 2)
  t.regex(r.stderr, /b\.yaml:2:\d+ hostname: same is also the hostname of .*a\.yaml/)
  t.regex(r.stderr, /d\.yaml:2:\d+ hostname: other is also the hostname of .*c\.yaml/)
  t.false((await import('node:fs')).existsSync(path.join(dir, 'out')))
})
