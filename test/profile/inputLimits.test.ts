// Inputs that could eat the machine or smuggle data: size, aliases, nesting, tags, bytes that are not UTF-8,
// files that are not files; sources outside the profile's folder. All exit 2 naming the file, none hang.
import test from 'ava'
import fc from 'fast-check'
import { execFileSync } from 'node:child_process'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { loadProfile } from '../../scripts/hostPipeline.js'
import { INPUT_LIMITS, parseDocumentLoose } from '../../scripts/profile/documentLoad.js'
import { profileSchema } from '../../scripts/profile/profileSchema.js'
import { ProfileError } from '../../scripts/shared/hostbakeError.js'
import { profileYaml, runCli, tempDir } from '../testSupport.js'

async function problemsOf(file: string, opts = {}): Promise<string[]> {
  try {
    await loadProfile(file, opts)
    return []
  } catch (err) {
    if (!(err instanceof ProfileError)) throw err
    return err.message.split('\n')
  }
}

test('a profile larger than the cap is refused before it is parsed, naming the file', async (t) => {
  const dir = await tempDir(t)
  const big = path.join(dir, 'big.yaml')
  await writeFile(big, profileYaml(`packages:\n${'  - a\n'.repeat(INPUT_LIMITS.profileBytes / 6 + 10)}`))
  const r = await runCli(['build', big, '-o', dir])
  t.is(r.code, 2)
  t.regex(r.stderr, new RegExp(`^${big}.*larger than the ${INPUT_LIMITS.profileBytes} bytes`, 'm'))
})

test('a FIFO or a directory given as a profile is refused at once, not waited on', async (t) => {
  const dir = await tempDir(t)
  execFileSync('mkfifo', [path.join(dir, 'fifo.yaml')])
  t.regex((await problemsOf(path.join(dir, 'fifo.yaml'))).join('\n'), /fifo\.yaml not a regular file/)
  t.regex((await problemsOf(dir)).join('\n'), /not a regular file/)
})

test('alias expansion beyond the cap is exit 2 naming the file (not "unexpected error")', async (t) => {
  const dir = await tempDir(t)
  const f = path.join(dir, 'bomb.yaml')
  const levels = Array.from({ length: 8 }, (_, i) => `l${i}: &l${i} [${Array(10).fill(i === 0 ? '*a' : `*l${i - 1}`).join(', ')}]`)
  await writeFile(f, `a: &a [x, x, x, x, x, x, x, x, x, x]\n${levels.join('\n')}\n`)
  const r = await runCli(['build', f, '-o', dir])
  t.is(r.code, 2, r.stderr)
  t.regex(r.stderr, new RegExp(`^${f}:1:1 YAML: aliases expand too far`, 'm'))
  t.notRegex(r.stderr, /unexpected error/)
})

test('nesting deeper than the cap is refused, however deep (no stack overflow)', (t) => {
  for (const depth of [INPUT_LIMITS.depth + 1, 5000, 100_000]) {
    const r = parseDocumentLoose(profileSchema, `hostname: a\ncpu: intel\npackages: ${'['.repeat(depth)}${']'.repeat(depth)}\n`, 'deep.yaml', 'x')
    t.is(r.problems.length, 1, `depth ${depth}: ${r.problems.map((p) => p.message).join('; ')}`)
    t.regex(r.problems[0].message, new RegExp(`^YAML: nested (deeper than ${INPUT_LIMITS.depth} levels|too deeply)`))
  }
})

test('any tag outside YAML core is refused where it stands; core tags are fine', (t) => {
  fc.assert(fc.property(fc.constantFrom('!include', '!!binary', '!!set', '!!omap', '!!timestamp', '!env', '!!python/object'), (tag) => {
    const r = parseDocumentLoose(profileSchema, `hostname: a\ncpu: intel\nfiles:\n  - path: /etc/x\n    content: ${tag} aGk=\n`, 'tag.yaml', 'x')
    return r.problems.some((p) => p.line === 5 && /the tag \S+ is not accepted|!!timestamp expects a date/.test(p.message))
  }))
  t.deepEqual(parseDocumentLoose(profileSchema, 'hostname: !!str a\ncpu: intel\n', 'ok.yaml', 'x').problems, [])
})

test('bytes that are not UTF-8, anywhere, are refused with the line they are on', async (t) => {
  const dir = await tempDir(t)
  await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.constantFrom([0xff], [0xc3], [0xe2, 0x28, 0xa1], [0xed, 0xa0, 0x80]), async (extra, bad) => {
    const head = Buffer.from(`hostname: a\ncpu: intel\n${'# c\n'.repeat(extra)}files:\n  - path: /etc/motd\n    content: "caf`)
    const f = path.join(dir, `u${extra}-${bad[0]}.yaml`)
    await writeFile(f, Buffer.concat([head, Buffer.from(bad), Buffer.from('"\n')]))
    const problems = await problemsOf(f)
    return problems.length === 1 && problems[0].startsWith(`${f}:${5 + extra}:1 `) && /not UTF-8/.test(problems[0])
  }), { numRuns: 20 })
  t.pass()
})

test('every problem is printed: all shape problems and the checks that can still run on the other fields', async (t) => {
  const dir = await tempDir(t)
  const f = path.join(dir, 'many.yaml')
  await writeFile(f, [
    'hostname: UPPER', // shape
    'cpu: intel',
    'boot:',
    '  kernelOpts: [pcie_acs_override=downstream]', // check (boot)
    'packages: ["bad pkg"]', // shape
    'files:',
    '  - { path: /etc/../shadow, content: x }', // check (files)
    '  - { path: /root/.ssh/id_ed25519, content: k, mode: "0644" }', // check (files)
    'storage:',
    '  pools: [{ name: p, path: /tmp }]', // check (storage)
    'test:',
    '  devices: ["loader,file=/etc/shadow"]', // check (test)
    '',
  ].join('\n'))
  const problems = (await problemsOf(f)).join('\n')
  for (const field of ['hostname', 'packages\\[0\\]', 'boot.kernelOpts\\[0\\]', 'files\\[0\\].path', 'files\\[1\\].mode', 'storage.pools\\[0\\].path', 'test.devices\\[0\\]']) {
    t.regex(problems, new RegExp(`^${f}:\\d+:\\d+ ${field}: `, 'm'), field)
  }
})

test('sources: only regular files inside the profile folder (or --source-root); symlinks inside it are fine', async (t) => {
  const dir = await tempDir(t)
  const outside = await tempDir(t)
  await writeFile(path.join(outside, 'secret'), 'token')
  await mkdir(path.join(dir, 'keys'))
  await writeFile(path.join(dir, 'keys', 'motd'), 'hello')
  await symlink('keys/motd', path.join(dir, 'inside-link'))
  await symlink(path.join(outside, 'secret'), path.join(dir, 'outside-link'))
  await symlink('/proc/self/environ', path.join(dir, 'environ'))
  execFileSync('mkfifo', [path.join(dir, 'fifo')])
  execFileSync('mknod', [path.join(dir, 'nulldev'), 'c', '1', '3'])
  const profile = (source: string) => profileYaml(`files:\n  - path: /etc/motd\n    source: ${source}\n`)
  const cases: [string, RegExp | null][] = [
    ['keys/motd', null], ['inside-link', null], ['./keys/motd', null],
    ['outside-link', /leads out of the profile's folder/], ['environ', /leads out/], ['fifo', /not a regular file/], ['nulldev', /not a regular file/],
    ['keys', /not a regular file/], [path.join(outside, 'secret'), /absolute paths are refused/], ['../secret', /\.\. is refused/],
    ['keys/../../secret', /\.\. is refused/], ['/etc/shadow', /absolute paths are refused/], ['/proc/self/environ', /absolute/],
  ]
  for (const [source, want] of cases) {
    const f = path.join(dir, 'p.yaml')
    await writeFile(f, profile(source))
    const problems = (await problemsOf(f)).join('\n')
    if (want === null) t.is(problems, '', source)
    else t.regex(problems, new RegExp(`p\\.yaml:5:\\d+ files\\[0\\]\\.source: .*${want.source}`), source)
  }
  // --source-root names another folder: the profile's own is then not the root
  const f = path.join(outside, 'p.yaml')
  await writeFile(f, profile('keys/motd'))
  t.regex((await problemsOf(f)).join('\n'), /cannot read keys\/motd/)
  t.deepEqual(await problemsOf(f, { sourceRoot: dir }), [])
  const r = await runCli(['render', f, '--source-root', dir, '-o', path.join(outside, 'x.apkovl.tar.gz')])
  t.is(r.code, 0, r.stderr)
})
