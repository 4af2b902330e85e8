// Boot benchmark: boots every boot-testable profile (profiles/ with a test: section, test/boot/profiles/)
// ROUNDS times, in parallel up to the core count, and reports per profile the median wall time and the
// harness overhead (wall minus the guest's uptime at its report). `npm run bench` runs it after the
// overlay benchmark; alone: node dist/scripts/boot/bootBench.js [ROUNDS] [--json]
import { median } from '../shared/stats.js'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { locateBootKernel } from '../boot/bootKernel.js'
import { resolveCacheDir } from '../shared/cachePaths.js'
import { bootTestProfile, type BootTestResult } from '../boot/bootTest.js'
import { loadProfiles } from '../hostPipeline.js'
import { mapLimit } from '../write/outputWrite.js'
import { packagePath } from '../shared/packagePaths.js'

export interface BootBenchRow {
  profile: string
  runs: number
  ok: number
  medianWallS: number
  medianGuestS: number
  medianOverheadS: number
}


async function yamlIn(dir: string): Promise<string[]> {
  return (await readdir(packagePath(dir))).filter((f) => f.endsWith('.yaml')).sort().map((f) => packagePath(dir, f))
}

export async function benchBoot(rounds = 3): Promise<{ rows: BootBenchRow[]; suiteWallS: number }> {
  const loaded = (await loadProfiles([...(await yamlIn('profiles')), ...(await yamlIn('test/boot/profiles'))]))
    .filter((l) => l.profile.test !== undefined)
  const kernel = locateBootKernel(resolveCacheDir())
  const started = performance.now()
  const runs = loaded.flatMap((l) => Array.from({ length: rounds }, (_, i) => ({ l, i })))
  // all handed over at once: the harness's machine-wide slots bound the parallelism to the core count
  const results: BootTestResult[] = await mapLimit(runs, runs.length, async ({ l, i }) => {
    const r = await bootTestProfile(l, { timeoutS: 60, keep: false, log: () => {}, kernel })
    process.stderr.write(`bench: ${r.hostname} #${i + 1} ${r.ok ? 'ok' : 'FAILED'} ${r.wallS.toFixed(2)} s\n`)
    return r
  })
  const suiteWallS = (performance.now() - started) / 1000
  const rows = loaded.map((l) => {
    const rs = results.filter((r) => r.profile === l.file)
    return {
      profile: path.relative(packagePath(), l.file), runs: rs.length, ok: rs.filter((r) => r.ok).length,
      medianWallS: +median(rs.map((r) => r.wallS)).toFixed(2),
      medianGuestS: +median(rs.flatMap((r) => (r.guestUptimeS === undefined ? [] : [r.guestUptimeS]))).toFixed(2),
      medianOverheadS: +median(rs.flatMap((r) => (r.overheadS === undefined ? [] : [r.overheadS]))).toFixed(2),
    }
  })
  return { rows, suiteWallS: +suiteWallS.toFixed(1) }
}

export function formatBootBench({ rows, suiteWallS }: { rows: BootBenchRow[]; suiteWallS: number }): string {
  const out = ['profile                                   runs  ok  wall(s)  guest(s)  overhead(s)']
  for (const r of rows) {
    out.push(`${r.profile.padEnd(42)}${String(r.runs).padStart(4)}${String(r.ok).padStart(4)}${r.medianWallS.toFixed(2).padStart(9)}${r.medianGuestS.toFixed(2).padStart(10)}${r.medianOverheadS.toFixed(2).padStart(13)}`)
  }
  out.push(`suite: ${rows.reduce((n, r) => n + r.runs, 0)} boots in ${suiteWallS} s`)
  return `${out.join('\n')}\n`
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rounds = Number(process.argv.find((a) => /^\d+$/.test(a))) || 3
  const result = await benchBoot(rounds)
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(result, null, 2)}\n` : formatBootBench(result))
}
