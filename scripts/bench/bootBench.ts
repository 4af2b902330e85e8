// Boot benchmark: boots every boot-testable profile (profiles/ with a test: section, test/boot/profiles/)
// ROUNDS times as the harness boots now and as its baseline (the same Alpine-shaped module tree, without the speed
// levers: ASLR left on in the guest, no initcall blacklist), interleaved in one run, and reports per profile and
// variant the median wall time, the harness overhead (wall minus the guest's uptime at its report) and the median
// guest uptime at each stage. `npm run bench` runs it after the
// overlay benchmark; alone: node dist/scripts/boot/bootBench.js [ROUNDS] [--json]
import { median } from '../shared/stats.js'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { locateBootKernel } from '../boot/bootKernel.js'
import { resolveCacheDir } from '../shared/cachePaths.js'
import { bootTestProfile } from '../boot/bootTest.js'
import { loadProfiles } from '../hostPipeline.js'
import { mapLimit } from '../write/outputWrite.js'
import { packagePath } from '../shared/packagePaths.js'

export interface BootBenchRow {
  profile: string
  /** current: the harness as it boots; baseline: without its speed levers (BootOptions.baseline) */
  variant: BootVariant
  runs: number
  ok: number
  medianWallS: number
  medianGuestS: number
  medianOverheadS: number
  /** median guest uptime at each stage the guest announces */
  stages: Record<string, number>
}

export type BootVariant = 'baseline' | 'current'
// the guest's stages in boot order: kernel -> /init ("initramfs"), coldplug + medium ("apkovl"), root mount or
// unpack ("rootfs"), modloop, own services + hwdrivers ("modules"), /etc/modules + networking ("checks")
const STAGES = ['initramfs', 'apkovl', 'rootfs', 'modloop', 'modules', 'checks'] as const

async function yamlIn(dir: string): Promise<string[]> {
  return (await readdir(packagePath(dir))).filter((f) => f.endsWith('.yaml')).sort().map((f) => packagePath(dir, f))
}

/** Boots every boot-testable profile ROUNDS times in each variant, interleaved (one run, same load). */
export async function benchBoot(rounds = 3, variants: BootVariant[] = ['baseline', 'current']): Promise<{ rows: BootBenchRow[]; suiteWallS: number }> {
  const loaded = (await loadProfiles([...(await yamlIn('profiles')), ...(await yamlIn('test/boot/profiles'))]))
    .filter((l) => l.profile.test !== undefined)
  const kernel = locateBootKernel(resolveCacheDir())
  if (kernel.modulesDir === path.join(kernel.root, 'lib/modules', kernel.kver)) throw new Error('no Alpine-shaped module tree prepared (scripts/boot/module-tree.sh)')
  const started = performance.now()
  const runs = loaded.flatMap((l) => Array.from({ length: rounds }, (_, i) => variants.map((variant) => ({ l, i, variant })))).flat()
  // all handed over at once: the harness's machine-wide slots bound the parallelism
  const results = await mapLimit(runs, runs.length, async ({ l, i, variant }) => {
    const r = await bootTestProfile(l, { timeoutS: 90, keep: false, log: () => {}, kernel, baseline: variant === 'baseline' })
    process.stderr.write(`bench: ${r.hostname} ${variant} #${i + 1} ${r.ok ? 'ok' : 'FAILED'} ${r.wallS.toFixed(2)} s\n`)
    return { variant, r }
  })
  const suiteWallS = (performance.now() - started) / 1000
  const med = (xs: (number | undefined)[]) => +median(xs.filter((x): x is number => x !== undefined)).toFixed(2)
  const rows = loaded.flatMap((l) => variants.map((variant) => {
    const rs = results.filter((x) => x.variant === variant && x.r.profile === l.file).map((x) => x.r)
    return {
      profile: path.relative(packagePath(), l.file), variant, runs: rs.length, ok: rs.filter((r) => r.ok).length,
      medianWallS: med(rs.map((r) => r.wallS)), medianGuestS: med(rs.map((r) => r.guestUptimeS)), medianOverheadS: med(rs.map((r) => r.overheadS)),
      stages: Object.fromEntries(STAGES.map((st) => [st, med(rs.map((r) => r.stages?.[st]))])),
    }
  }))
  return { rows, suiteWallS: +suiteWallS.toFixed(1) }
}

export function formatBootBench({ rows, suiteWallS }: { rows: BootBenchRow[]; suiteWallS: number }): string {
  const head = `${'profile'.padEnd(40)} variant  runs ok  wall(s) guest(s) overh(s) | stage uptimes (s): ${STAGES.join(' ')}`
  const out = [head]
  for (const r of rows) {
    out.push(`${r.profile.padEnd(40)} ${r.variant.padEnd(9)}${String(r.runs).padStart(4)}${String(r.ok).padStart(3)}${r.medianWallS.toFixed(2).padStart(9)}${r.medianGuestS.toFixed(2).padStart(9)}${r.medianOverheadS.toFixed(2).padStart(9)} | ${STAGES.map((st) => (Number.isFinite(r.stages[st]) ? r.stages[st].toFixed(2) : '-').padStart(st.length)).join(' ')}`)
  }
  for (const variant of [...new Set(rows.map((r) => r.variant))]) {
    const mine = rows.filter((r) => r.variant === variant)
    out.push(`${variant}: median of per-profile medians: wall ${median(mine.map((r) => r.medianWallS)).toFixed(2)} s, guest ${median(mine.map((r) => r.medianGuestS)).toFixed(2)} s`)
  }
  const pairs = rows.filter((r) => r.variant === 'current').flatMap((c) => rows.filter((b) => b.variant === 'baseline' && b.profile === c.profile).map((b) => ({ d: c.medianWallS - b.medianWallS, q: c.medianWallS / b.medianWallS })))
  if (pairs.length > 0) out.push(`current - baseline (wall, median over profiles): ${median(pairs.map((p) => p.d)).toFixed(2)} s, ratio ${median(pairs.map((p) => p.q)).toFixed(2)}`)
  out.push(`suite: ${rows.reduce((n, r) => n + r.runs, 0)} boots in ${suiteWallS} s`)
  return `${out.join('\n')}\n`
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rounds = Number(process.argv.find((a) => /^\d+$/.test(a))) || 3
  const result = await benchBoot(rounds)
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(result, null, 2)}\n` : formatBootBench(result))
}
