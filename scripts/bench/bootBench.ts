// Boot benchmark: boots every boot-testable profile (profiles/ with a test: section, test/boot/profiles/)
// ROUNDS times on each module tree (Debian's own, as the previous harness booted, and the Alpine-shaped one),
// interleaved in one run, and reports per profile and tree the median wall time, the harness overhead (wall minus
// the guest's uptime at its report) and the median guest uptime at each stage. `npm run bench` runs it after the
// overlay benchmark; alone: node dist/scripts/boot/bootBench.js [ROUNDS] [--json]
import { median } from '../shared/stats.js'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { locateBootKernel, selectModuleTree } from '../boot/bootKernel.js'
import { resolveCacheDir } from '../shared/cachePaths.js'
import { bootTestProfile } from '../boot/bootTest.js'
import { loadProfiles } from '../hostPipeline.js'
import { mapLimit } from '../write/outputWrite.js'
import { packagePath } from '../shared/packagePaths.js'

export interface BootBenchRow {
  profile: string
  /** the module tree booted: Debian's own (the previous harness) or Alpine-shaped (compressed, unsigned) */
  tree: ModuleTree
  runs: number
  ok: number
  medianWallS: number
  medianGuestS: number
  medianOverheadS: number
  /** median guest uptime at each stage the guest announces */
  stages: Record<string, number>
}

export type ModuleTree = 'debian' | 'alpine'
// the guest's stages in boot order: kernel -> /init ("initramfs"), coldplug + medium ("apkovl"), root mount or
// unpack ("rootfs"), modloop, own services + hwdrivers ("modules"), /etc/modules + networking ("checks")
const STAGES = ['initramfs', 'apkovl', 'rootfs', 'modloop', 'modules', 'checks'] as const

async function yamlIn(dir: string): Promise<string[]> {
  return (await readdir(packagePath(dir))).filter((f) => f.endsWith('.yaml')).sort().map((f) => packagePath(dir, f))
}

/** Boots every boot-testable profile ROUNDS times on each module tree, interleaved (one run, same load). */
export async function benchBoot(rounds = 3, trees: ModuleTree[] = ['debian', 'alpine']): Promise<{ rows: BootBenchRow[]; suiteWallS: number }> {
  const loaded = (await loadProfiles([...(await yamlIn('profiles')), ...(await yamlIn('test/boot/profiles'))]))
    .filter((l) => l.profile.test !== undefined)
  const base = locateBootKernel(resolveCacheDir())
  const kernels = Object.fromEntries(trees.map((tree) => [tree, { ...base, busyboxModulesDir: undefined, modloopRoot: undefined, ...selectModuleTree(base.root, base.kver, { HOSTBAKE_MODULE_TREE: tree }) }]))
  if (trees.includes('alpine') && kernels.alpine.modulesDir === kernels.debian?.modulesDir) throw new Error('no Alpine-shaped module tree prepared (scripts/boot/module-tree.sh)')
  const started = performance.now()
  const runs = loaded.flatMap((l) => Array.from({ length: rounds }, (_, i) => trees.map((tree) => ({ l, i, tree })))).flat()
  // all handed over at once: the harness's machine-wide slots bound the parallelism
  const results = await mapLimit(runs, runs.length, async ({ l, i, tree }) => {
    const r = await bootTestProfile(l, { timeoutS: 90, keep: false, log: () => {}, kernel: kernels[tree] })
    process.stderr.write(`bench: ${r.hostname} ${tree} #${i + 1} ${r.ok ? 'ok' : 'FAILED'} ${r.wallS.toFixed(2)} s\n`)
    return { tree, r }
  })
  const suiteWallS = (performance.now() - started) / 1000
  const med = (xs: (number | undefined)[]) => +median(xs.filter((x): x is number => x !== undefined)).toFixed(2)
  const rows = loaded.flatMap((l) => trees.map((tree) => {
    const rs = results.filter((x) => x.tree === tree && x.r.profile === l.file).map((x) => x.r)
    return {
      profile: path.relative(packagePath(), l.file), tree, runs: rs.length, ok: rs.filter((r) => r.ok).length,
      medianWallS: med(rs.map((r) => r.wallS)), medianGuestS: med(rs.map((r) => r.guestUptimeS)), medianOverheadS: med(rs.map((r) => r.overheadS)),
      stages: Object.fromEntries(STAGES.map((st) => [st, med(rs.map((r) => r.stages?.[st]))])),
    }
  }))
  return { rows, suiteWallS: +suiteWallS.toFixed(1) }
}

export function formatBootBench({ rows, suiteWallS }: { rows: BootBenchRow[]; suiteWallS: number }): string {
  const head = `${'profile'.padEnd(40)}tree    runs ok  wall(s) guest(s) overh(s) | stage uptimes (s): ${STAGES.join(' ')}`
  const out = [head]
  for (const r of rows) {
    out.push(`${r.profile.padEnd(40)}${r.tree.padEnd(8)}${String(r.runs).padStart(4)}${String(r.ok).padStart(3)}${r.medianWallS.toFixed(2).padStart(9)}${r.medianGuestS.toFixed(2).padStart(9)}${r.medianOverheadS.toFixed(2).padStart(9)} | ${STAGES.map((st) => (Number.isFinite(r.stages[st]) ? r.stages[st].toFixed(2) : '-').padStart(st.length)).join(' ')}`)
  }
  for (const tree of [...new Set(rows.map((r) => r.tree))]) {
    const mine = rows.filter((r) => r.tree === tree)
    out.push(`${tree}: median of per-profile medians: wall ${median(mine.map((r) => r.medianWallS)).toFixed(2)} s, guest ${median(mine.map((r) => r.medianGuestS)).toFixed(2)} s`)
  }
  const pairs = rows.filter((r) => r.tree === 'alpine').flatMap((a) => rows.filter((d) => d.tree === 'debian' && d.profile === a.profile).map((d) => a.medianWallS - d.medianWallS))
  if (pairs.length > 0) out.push(`alpine - debian (wall, median over profiles): ${median(pairs).toFixed(2)} s`)
  out.push(`suite: ${rows.reduce((n, r) => n + r.runs, 0)} boots in ${suiteWallS} s`)
  return `${out.join('\n')}\n`
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rounds = Number(process.argv.find((a) => /^\d+$/.test(a))) || 3
  const result = await benchBoot(rounds)
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(result, null, 2)}\n` : formatBootBench(result))
}
