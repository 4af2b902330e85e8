// The bin as users get it (hostbakeBundle.ts, hostbakeLoader.ts): one bundle, lazy per verb, run through a code cache
// that only ever changes speed. Start-up times themselves are measured in npm run bench (startupBench.ts), not here.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { codeFileOf, packagePath } from '../scripts/shared/packagePaths.js'
import { CLI, profileYaml, tempDir } from './testSupport.js'

// Every module file a run loads: ES modules through a load hook, CommonJS ones from require.cache at exit.
const PRELOADS = {
  'hooks.mjs': "import { appendFileSync } from 'node:fs'\nexport async function load(url, context, next) { appendFileSync(process.env.LOADED_LOG, url + '\\n'); return next(url, context) }\n",
  'register.mjs': "import { register } from 'node:module'\nregister(new URL('./hooks.mjs', import.meta.url))\n",
  'at-exit.cjs': "process.on('exit', () => require('node:fs').appendFileSync(process.env.LOADED_LOG, Object.keys(require.cache).join('\\n') + '\\n'))\n",
}

function runLoaded(dir: string, args: string[]) {
  const tools = path.join(dir, 'tools')
  mkdirSync(tools, { recursive: true })
  for (const [name, text] of Object.entries(PRELOADS)) writeFileSync(path.join(tools, name), text)
  const log = path.join(dir, 'loaded.log')
  writeFileSync(log, '')
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(path.join(tools, 'register.mjs')).href, '--require', path.join(tools, 'at-exit.cjs'), CLI, ...args],
    { cwd: dir, env: { ...process.env, HOSTBAKE_CACHE: path.join(dir, 'cache'), LOADED_LOG: log }, encoding: 'utf8' })
  const files = readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('file:') || l.startsWith('/'))
    .map((l) => (l.startsWith('file:') ? fileURLToPath(l) : l)).filter((f) => !f.startsWith(tools))
  return { code: r.status, stderr: r.stderr, files: [...new Set(files)].map((f) => path.relative(packagePath(), f)).sort() }
}

test('build of a host loads only the bin and the precompiled templates: no zx, nothing from node_modules or dist/scripts', async (t) => {
  const dir = await tempDir(t)
  writeFileSync(path.join(dir, 'host.yaml'), profileYaml())
  const r = runLoaded(dir, ['build', 'host.yaml', '-o', 'out'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.files, ['dist/bin/hostbake.js', 'dist/overlay-templates.cjs'])
})

test('--help loads the unbundled entry, the verb table and shared modules only: no verb, nothing from node_modules', async (t) => {
  const dir = await tempDir(t)
  const r = runLoaded(dir, ['--help'])
  t.is(r.code, 0, r.stderr)
  t.true(r.files.includes('dist/scripts/commands/verbTable.js'), r.files.join('\n'))
  t.deepEqual(r.files.filter((f) => !['dist/bin/hostbake.js', 'dist/scripts/hostbake.js', 'dist/scripts/commands/verbTable.js'].includes(f) && !f.startsWith('dist/scripts/shared/')), [])
})

test('negative control: the same look at a verb that spawns processes sees zx come from node_modules', async (t) => {
  const dir = await tempDir(t)
  const r = runLoaded(dir, ['boot-test', 'x.yaml', '--timeout', '0']) // refused first thing, once its modules are loaded
  t.is(r.code, 2, r.stderr)
  t.regex(r.stderr, /--timeout 0: expected a number of seconds/)
  t.true(r.files.some((f) => f.startsWith('node_modules/zx/')), r.files.join('\n'))
})

test('the bundle runs in strict mode and carries no import.meta of its own (the loader passes its URL in)', (t) => {
  const bundle = readFileSync(packagePath('dist', 'bin', 'hostbake.cjs'), 'utf8')
  t.is(bundle.split('\n').find((l) => l.trim() !== ''), '"use strict";')
  t.false(bundle.includes('import.meta'))
})

test('code cache: written by a verb\'s first run under the bundle\'s hash, then used as is; a damaged one is refused and replaced; an unwritable folder only costs speed; the overlay never changes', async (t) => {
  const dir = await tempDir(t)
  writeFileSync(path.join(dir, 'host.yaml'), profileYaml())
  const cache = path.join(dir, 'cache')
  const codeCache = path.join(cache, 'code-cache')
  let output = ''
  // V8's --profile-deserialization names the size of each code cache it deserializes
  const build = (out: string, hostbakeCache = cache) => {
    const r = spawnSync(process.execPath, ['--profile-deserialization', CLI, 'build', 'host.yaml', '-o', out], { cwd: dir, env: { ...process.env, HOSTBAKE_CACHE: hostbakeCache }, encoding: 'utf8' })
    t.is(r.status, 0, r.stderr)
    output = r.stdout + r.stderr // V8 prints to stdout
    return readFileSync(path.join(dir, out, `${/hostname: (\S+)/.exec(profileYaml())![1]}.apkovl.tar.gz`))
  }
  const deserialized = (size: number) => output.includes(`[Deserializing from ${size} bytes`)
  const first = build('a')
  const id = createHash('sha256').update(readFileSync(packagePath('dist', 'bin', 'hostbake.cjs'), 'utf8')).digest('hex').slice(0, 16)
  const name = `${id}-${process.version}-${process.arch}-build.bin`
  t.deepEqual(readdirSync(codeCache), [name])
  const file = path.join(codeCache, name)
  const written = statSync(file)
  t.true(written.size > 10_000)
  t.true(build('b').equals(first))
  t.true(deserialized(written.size), 'V8 read the cache')
  t.is(statSync(file).mtimeMs, written.mtimeMs, 'accepted by V8: not written again')

  writeFileSync(file, Buffer.alloc(written.size, 0x5a))
  t.true(build('c').equals(first))
  t.false(deserialized(written.size), 'refused by V8')
  t.not(readFileSync(file)[0], 0x5a, 'replaced')
  t.deepEqual(readdirSync(codeCache), [name], 'no temp file left')

  const notADir = path.join(dir, 'a-file')
  writeFileSync(notADir, '')
  t.true(build('d', notADir).equals(first))
})

test('cache keys of the boot harness hash the same code file from the bin as from the modules themselves', (t) => {
  const bundleUrl = pathToFileURL(packagePath('dist', 'bin', 'hostbake.cjs')).href
  t.is(codeFileOf(bundleUrl, 'dist/scripts/boot/initramfsBuild.js'), packagePath('dist', 'scripts', 'boot', 'initramfsBuild.js'))
  t.is(codeFileOf(pathToFileURL('/src/scripts/boot/initramfsBuild.ts').href, 'dist/scripts/boot/initramfsBuild.js'), '/src/scripts/boot/initramfsBuild.ts')
  // every such file the bundle names exists (a renamed module would key on a missing file)
  const named = [...readFileSync(packagePath('dist', 'bin', 'hostbake.cjs'), 'utf8').matchAll(/codeFileOf\(__hostbakeImportMetaUrl, "([^"]+)"\)/g)].map((m) => m[1])
  t.deepEqual(named.sort(), ['dist/scripts/boot/initramfsBuild.js', 'dist/scripts/boot/standInMedia.js'])
  for (const f of named) t.true(existsSync(packagePath(f)), f)
})
