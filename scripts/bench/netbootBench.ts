// Network boot benchmark: a `hostbake pxe` tree of the stand-in netboot files, netboot-uhci booted by its MAC under
// SeaBIOS and OVMF, and, as the baseline in the same run, the same profile booted directly (-kernel, the harness's
// usual path). Rounds alternate the three. Reported: medians of QEMU start -> the guest's sentinel, of the guest's
// own uptime at its report, and their difference (firmware, iPXE, downloads, bzImage decompression).
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { median } from '../shared/stats.js'
import { resolveCacheDir } from '../shared/cachePaths.js'
import { packagePath } from '../shared/packagePaths.js'
import { loadProfiles } from '../hostPipeline.js'
import { buildStandInMedia } from '../boot/standInMedia.js'
import { locateBootKernel } from '../boot/bootKernel.js'
import { bootTestProfile } from '../boot/bootTest.js'
import { bootTestNetboot } from '../boot/netbootTest.js'
import { buildPxeTree } from '../netboot/pxeBuild.js'

export interface NetbootBenchRow { variant: string; runs: number; ok: number; medianSentinelS: number; medianGuestS: number; medianBeforeKernelS: number; ratioToDirect: number }

export async function benchNetboot(rounds = 3): Promise<NetbootBenchRow[]> {
  const cache = resolveCacheDir()
  const media = await buildStandInMedia(cache)
  const profile = packagePath('test', 'netboot', 'profiles', 'netboot-uhci.yaml')
  const [loaded] = await loadProfiles([profile])
  const work = await mkdtemp(path.join(os.tmpdir(), 'hostbake-netboot-bench-'))
  try {
    const tree = path.join(work, 'tree')
    await buildPxeTree({ profiles: [profile], alpine: path.dirname(media.netboot.vmlinuz), alpineVersion: media.release, url: 'http://10.0.2.100', out: tree, log: () => {} })
    const kernel = locateBootKernel(cache)
    const samples: Record<string, { ok: boolean; sentinel?: number; guest?: number }[]> = { direct: [], bios: [], uefi: [] }
    for (let i = 0; i < rounds; i++) {
      const d = await bootTestProfile(loaded, { timeoutS: 60, keep: false, log: () => {}, kernel })
      samples.direct.push({ ok: d.ok, ...(d.sentinelAtS !== undefined ? { sentinel: d.sentinelAtS } : {}), ...(d.guestUptimeS !== undefined ? { guest: d.guestUptimeS } : {}) })
      for (const firmware of ['bios', 'uefi'] as const) {
        const r = await bootTestNetboot(loaded, { tree, firmware, timeoutS: 240 })
        samples[firmware].push({ ok: r.ok, ...(r.sentinelAtS !== undefined ? { sentinel: r.sentinelAtS } : {}), ...(r.guestUptimeS !== undefined ? { guest: r.guestUptimeS } : {}) })
        process.stderr.write(`bench: netboot ${firmware} #${i + 1} ${r.ok ? 'ok' : 'FAILED'} ${r.sentinelAtS?.toFixed(2) ?? '-'} s\n`)
      }
    }
    const med = (xs: (number | undefined)[]) => median(xs.filter((x): x is number => x !== undefined))
    const directS = med(samples.direct.map((s) => s.sentinel))
    return Object.entries(samples).map(([variant, s]) => {
      const sentinel = med(s.map((x) => x.sentinel))
      const guest = med(s.map((x) => x.guest))
      return {
        variant: variant === 'direct' ? 'direct -kernel boot (baseline)' : `network boot, ${variant === 'bios' ? 'SeaBIOS' : 'OVMF'} + iPXE ROM`,
        runs: s.length, ok: s.filter((x) => x.ok).length,
        medianSentinelS: +sentinel.toFixed(2), medianGuestS: +guest.toFixed(2), medianBeforeKernelS: +(sentinel - guest).toFixed(2),
        ratioToDirect: +(sentinel / directS).toFixed(2),
      }
    })
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

export function formatNetbootBench(rows: NetbootBenchRow[]): string {
  const out = ['variant                                              runs  ok  to-sentinel(s)  guest(s)  before-guest(s)  x direct']
  for (const r of rows) out.push(`${r.variant.padEnd(52)}${String(r.runs).padStart(5)}${String(r.ok).padStart(4)}${r.medianSentinelS.toFixed(2).padStart(16)}${r.medianGuestS.toFixed(2).padStart(10)}${r.medianBeforeKernelS.toFixed(2).padStart(17)}${r.ratioToDirect.toFixed(2).padStart(10)}`)
  return `${out.join('\n')}\n`
}

// alone: node dist/scripts/bench/netbootBench.js [ROUNDS] [--json]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchNetboot(Number(process.argv.find((a) => /^\d+$/.test(a))) || 3)
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(rows, null, 2)}\n` : formatNetbootBench(rows))
}
