// Start-up: `hostbake --help` and `hostbake build` of one host, against `node -e 0` in the same run (alternating
// rounds), so the machine's own Node start-up is the baseline. Targets: --help 150 ms, one build 300 ms.
// The bin is the esbuild bundle (hostbakeBundle.ts); the same commands through the unbundled tsc output show what it saves.
// Alone (npm run bench:startup): `node dist/scripts/bench/startupBench.js [ROUNDS] [--json]`, on the benchmark's first profile.
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { packagePath } from '../shared/packagePaths.js'
import { median } from '../shared/stats.js'
import { profileText } from './benchProfiles.js'

export interface StartupBench {
  rounds: number
  medianMs: { nodeBaseline: number; help: number; buildOne: number }
  overNodeMs: { help: number; buildOne: number }
  ratioToNode: { help: number; buildOne: number }
  targetsMet: { help150ms: boolean; buildOne300ms: boolean }
  unbundledMedianMs?: { help: number; buildOne: number }
}

function timedMs(args: string[]): number {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().slice(0, 500)}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}

export function benchStartup(cli: string, profile: string, outDir: string, rounds = 15, unbundledCli?: string): StartupBench {
  const node: number[] = []
  const help: number[] = []
  const build: number[] = []
  const unbundled = { help: [] as number[], build: [] as number[] }
  for (let i = 0; i < rounds; i++) {
    node.push(timedMs(['-e', '0']))
    help.push(timedMs([cli, '--help']))
    build.push(timedMs([cli, 'build', profile, '-o', outDir]))
    if (unbundledCli) {
      unbundled.help.push(timedMs([unbundledCli, '--help']))
      unbundled.build.push(timedMs([unbundledCli, 'build', profile, '-o', outDir]))
    }
  }
  const m = { nodeBaseline: median(node), help: median(help), buildOne: median(build) }
  const r1 = (x: number) => +x.toFixed(1)
  return {
    rounds,
    medianMs: { nodeBaseline: r1(m.nodeBaseline), help: r1(m.help), buildOne: r1(m.buildOne) },
    overNodeMs: { help: r1(m.help - m.nodeBaseline), buildOne: r1(m.buildOne - m.nodeBaseline) },
    ratioToNode: { help: +(m.help / m.nodeBaseline).toFixed(2), buildOne: +(m.buildOne / m.nodeBaseline).toFixed(2) },
    targetsMet: { help150ms: m.help <= 150, buildOne300ms: m.buildOne <= 300 },
    ...(unbundledCli ? { unbundledMedianMs: { help: r1(median(unbundled.help)), buildOne: r1(median(unbundled.build)) } } : {}),
  }
}

export function formatStartupBench(s: StartupBench): string {
  return `bench: start-up (median of ${s.rounds}): node -e 0 ${s.medianMs.nodeBaseline} ms; hostbake --help ${s.medianMs.help} ms ` +
    `(${s.ratioToNode.help}x node, target 150 ms: ${s.targetsMet.help150ms ? 'met' : 'NOT met'}); build of one host ${s.medianMs.buildOne} ms ` +
    `(${s.ratioToNode.buildOne}x node, target 300 ms: ${s.targetsMet.buildOne300ms ? 'met' : 'NOT met'})` +
    (s.unbundledMedianMs ? `; unbundled (dist/scripts/hostbake.js): --help ${s.unbundledMedianMs.help} ms, build of one host ${s.unbundledMedianMs.buildOne} ms` : '') + '\n'
}

// The bin package.json names (what users run), and the unbundled entry beside it.
export async function startupClis(): Promise<{ cli: string; unbundled: string }> {
  const bin = JSON.parse(await readFile(packagePath('package.json'), 'utf8')).bin.hostbake as string
  return { cli: packagePath(bin), unbundled: packagePath('dist', 'scripts', 'hostbake.js') }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rounds = Number(process.argv.find((a) => /^\d+$/.test(a))) || 15
  const work = await mkdtemp(path.join(os.tmpdir(), 'hostbake-startup-'))
  try {
    const profile = path.join(work, 'profiles', 'host0000.yaml')
    await mkdir(path.dirname(profile))
    await writeFile(profile, profileText(0))
    const { cli, unbundled } = await startupClis()
    const result = benchStartup(cli, profile, path.join(work, 'one'), rounds, unbundled)
    process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(result, null, 2)}\n` : formatStartupBench(result))
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
