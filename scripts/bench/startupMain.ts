// npm run bench:startup: only the start-up part of npm run bench (startupBench.ts), on the benchmark's first
// generated profile in a temp folder. BENCH_STARTUP_ROUNDS sets the rounds (default 15).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { packagePath } from '../shared/packagePaths.js'
import { profileText } from './benchProfiles.js'
import { benchStartup, formatStartupBench } from './startupBench.js'

const work = await mkdtemp(path.join(os.tmpdir(), 'hostbake-startup-'))
try {
  const profile = path.join(work, 'profiles', 'host0000.yaml')
  await mkdir(path.dirname(profile))
  await writeFile(profile, profileText(0))
  const cli = packagePath(JSON.parse(await readFile(packagePath('package.json'), 'utf8')).bin.hostbake)
  const report = benchStartup(cli, profile, path.join(work, 'one'), Number(process.env.BENCH_STARTUP_ROUNDS ?? 15), packagePath('dist', 'scripts', 'hostbake.js'))
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  process.stderr.write(formatStartupBench(report))
} finally {
  await rm(work, { recursive: true, force: true })
}
