// hostbake as a user gets it: `npm pack`, installed into an empty prefix, run from a folder that has nothing
// of this clone — init, build and one real boot-test with a JUnit report. Proves nothing depends on a clone.
import test from 'ava'
import { spawnSync, type SpawnSyncOptions } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { parse } from 'junit2json'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { TEST_CACHE, tempDir } from '../testSupport.js'

function sh(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...opts })
  return { code: r.status, out: String(r.stdout ?? ''), err: String(r.stderr ?? '') }
}

test('npm pack -> npm i -g into an empty prefix -> hostbake init, build and boot-test from an unrelated folder', async (t) => {
  const work = await tempDir(t, 'hostbake-install-')
  const pack = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: packagePath() }) // dist/ is built by npm test
  t.is(pack.code, 0, pack.err)
  const tgz = path.join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!)
  const listing = sh('tar', ['-tzf', tgz]).out.split('\n')
  t.false(listing.some((f) => f.startsWith('package/test/') || f.startsWith('package/dist/test/') || f.startsWith('package/.cache/')), 'no tests or caches shipped')
  t.true(listing.includes('package/scripts/boot/guest/init.sh') && listing.includes('package/dist/bin/hostbake.js'))

  const prefix = path.join(work, 'prefix')
  const inst = sh('npm', ['i', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tgz])
  t.is(inst.code, 0, inst.err)
  const env = { ...process.env, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}`, HOSTBAKE_CACHE: '' }
  const home = path.join(work, 'home') // a user's folder: nothing of the clone's
  const run = (args: string[], cwd: string) => sh('hostbake', args, { cwd, env })
  const version = run(['--version'], work)
  t.is(version.code, 0, version.err)
  t.is(version.out.trim(), JSON.parse(await readFile(packagePath('package.json'), 'utf8')).version)

  t.is(run(['init', home], work).code, 0)
  const build = run(['build'], home)
  t.is(build.code, 0, build.err)
  t.true(existsSync(path.join(home, 'apkovl', 'vmhost.apkovl.tar.gz')))
  // --cache: the kernel this test run already prepared (a user's first boot-test prepares its own through apt)
  const boot = run(['boot-test', '--cache', TEST_CACHE, '--junit', 'junit.xml'], home)
  t.is(boot.code, 0, boot.err)
  t.regex(boot.err, /PASS vmhost \(profiles\/vmhost\.yaml\)/)
  const junit = await parse(await readFile(path.join(home, 'junit.xml'), 'utf8')) as any
  t.is(junit.tests, 1)
  t.is(junit.failures, 0)
})
