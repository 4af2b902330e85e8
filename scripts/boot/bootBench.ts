// Boot benchmark: runs every boot scenario ROUNDS times (in parallel up to the core count) and reports, per
// scenario, the median wall time and the harness overhead (wall minus the guest's uptime at its report).
// usage: node dist/scripts/boot/bootBench.js [ROUNDS] [--json]      (stdout: the table or JSON; progress: stderr)
import os from 'node:os'
import path from 'node:path'
import fs from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import { overlayFiles, packOverlay, scenarios } from '../../test/boot/overlayFixture.js'
import { bootOverlay, type BootReport } from './bootOverlay.js'
import { runParallel } from './bootSchedule.js'

export interface BenchRow {
  scenario: string
  runs: number
  ok: number
  medianWallS: number
  medianGuestS: number
  medianOverheadS: number
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN
}

export async function benchBoot(rounds = 3): Promise<{ rows: BenchRow[]; suiteWallS: number }> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'hostbake-bench-'))
  const started = performance.now()
  try {
    const apkovls = new Map<string, string>()
    for (const s of scenarios) apkovls.set(s.name, await packOverlay(base, s.overlay.host, overlayFiles(s.overlay)))
    const tasks = scenarios.flatMap((s) => Array.from({ length: rounds }, (_, i) => async () => {
      const r = await bootOverlay({
        apkovl: apkovls.get(s.name)!, machine: s.machine, expect: s.expect, cmdline: s.cmdline, medium: s.medium,
        workDir: path.join(base, `${s.name}-${i}`), timeoutS: 60, log: () => {},
      })
      // a negative control "works" when it fails as designed
      const asDesigned = s.mustFail ? r.sentinel && !r.ok : r.ok
      process.stderr.write(`bench: ${s.name} #${i + 1} ${asDesigned ? 'ok' : 'UNEXPECTED'} ${r.wallS.toFixed(2)} s\n`)
      if (!asDesigned) {
        const failed = r.checks.filter((c) => !c.pass).map((c) => c.name).join(' ')
        process.stderr.write(`bench:   sentinel=${r.sentinel} timedOut=${r.timedOut} panicked=${r.panicked} failed=[${failed}]\n${r.tail ?? ''}\n`)
      }
      return { name: s.name, r, asDesigned }
    }))
    const results = await runParallel(tasks)
    const rows = scenarios.map((s) => {
      const mine = results.filter((x) => x.name === s.name)
      const rs: BootReport[] = mine.map((x) => x.r)
      return {
        scenario: s.name, runs: rs.length, ok: mine.filter((x) => x.asDesigned).length,
        medianWallS: median(rs.map((r) => r.wallS)),
        medianGuestS: median(rs.flatMap((r) => (r.guestUptimeS === undefined ? [] : [r.guestUptimeS]))),
        medianOverheadS: median(rs.flatMap((r) => (r.overheadS === undefined ? [] : [r.overheadS]))),
      }
    })
    return { rows, suiteWallS: (performance.now() - started) / 1000 }
  } finally {
    await fs.rm(base, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rounds = Number(process.argv.find((a) => /^\d+$/.test(a))) || 3
  const { rows, suiteWallS } = await benchBoot(rounds)
  if (process.argv.includes('--json')) console.log(JSON.stringify({ rows, suiteWallS }, null, 2))
  else {
    console.log('scenario                      runs  ok  wall(s)  guest(s)  overhead(s)')
    for (const r of rows) {
      console.log(`${r.scenario.padEnd(30)}${String(r.runs).padStart(4)}${String(r.ok).padStart(4)}${r.medianWallS.toFixed(2).padStart(9)}${r.medianGuestS.toFixed(2).padStart(10)}${r.medianOverheadS.toFixed(2).padStart(13)}`)
    }
    console.log(`suite: ${rows.reduce((n, r) => n + r.runs, 0)} boots in ${suiteWallS.toFixed(1)} s`)
  }
}
