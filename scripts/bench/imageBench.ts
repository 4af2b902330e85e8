// Image benchmark (part of `npm run bench`): hostbake image on the stand-in Alpine ISO, against a baseline in the
// same run (a bare `xorriso -boot_image any replay` adding only the overlay: what any remaster costs), and the boot
// to the guest's sentinel per firmware and medium, through the image's own menus. Medians of ROUNDS runs each.
// Alone: node dist/scripts/bench/imageBench.js [ROUNDS]
import { $ } from 'zx'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildStandInMedia } from '../boot/standInMedia.js'
import { bootTestImage } from '../boot/imageBootTest.js'
import { FIRMWARES, MEDIA } from '../boot/imageBoot.js'
import { buildImage } from '../image/imageBuild.js'
import { loadProfile } from '../hostPipeline.js'
import { resolveCacheDir } from '../shared/cachePaths.js'
import { packagePath } from '../shared/packagePaths.js'
import { median } from '../shared/stats.js'

export interface ImageBench {
  rounds: number
  remaster: { medianS: number; readMedianS: number; buildMedianS: number; baselineReplayMedianS: number; ratioToReplay: number }
  boots: { firmware: string; medium: string; runs: number; ok: number; medianSentinelS: number; medianGuestS: number }[]
}

const round3 = (n: number) => +n.toFixed(3)

export async function benchImage(rounds = 3): Promise<ImageBench> {
  const media = await buildStandInMedia(resolveCacheDir())
  const loaded = await loadProfile(packagePath('test', 'image', 'profiles', 'vmhost.yaml'))
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'hostbake-image-bench-'))
  try {
    const total: number[] = []
    const read: number[] = []
    const build: number[] = []
    const replay: number[] = []
    const ovl = path.join(work, 'vmhost.apkovl.tar.gz')
    await fs.writeFile(ovl, 'x')
    let image = ''
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now()
      const r = await buildImage({ loaded, base: media.iso, output: path.join(work, 'vmhost.iso') })
      total.push((performance.now() - t0) / 1000)
      read.push(r.timings.readS)
      build.push(r.timings.buildS)
      image = r.output
      const t1 = performance.now()
      const out = path.join(work, `replay-${i}.iso`)
      await $({ quiet: true })`xorriso -indev ${media.iso} -outdev ${`stdio:${out}`} -boot_image any replay -map ${ovl} /vmhost.apkovl.tar.gz -commit`
      replay.push((performance.now() - t1) / 1000)
      await fs.rm(out)
      process.stderr.write(`bench: image #${i + 1} ${total[i].toFixed(2)} s (read ${read[i].toFixed(2)}, build ${build[i].toFixed(2)}), bare replay ${replay[i].toFixed(2)} s\n`)
    }
    const boots: ImageBench['boots'] = []
    for (const firmware of FIRMWARES) {
      for (const medium of MEDIA) {
        const rs = []
        for (let i = 0; i < rounds; i++) {
          const r = await bootTestImage(loaded, { image, firmware, medium, timeoutS: 240, keep: false, log: () => {} })
          process.stderr.write(`bench: image boot ${firmware} ${medium} #${i + 1} ${r.ok ? 'ok' : 'FAILED'} sentinel at ${r.sentinelAtS ?? '-'} s\n`)
          rs.push(r)
        }
        boots.push({
          firmware, medium, runs: rs.length, ok: rs.filter((r) => r.ok).length,
          medianSentinelS: round3(median(rs.flatMap((r) => (r.sentinelAtS === undefined ? [] : [r.sentinelAtS])))),
          medianGuestS: round3(median(rs.flatMap((r) => (r.guestUptimeS === undefined ? [] : [r.guestUptimeS])))),
        })
      }
    }
    return {
      rounds,
      remaster: {
        medianS: round3(median(total)), readMedianS: round3(median(read)), buildMedianS: round3(median(build)),
        baselineReplayMedianS: round3(median(replay)), ratioToReplay: +(median(total) / median(replay)).toFixed(1),
      },
      boots,
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true })
  }
}

export function formatImageBench(b: ImageBench): string {
  const out = [`image: ${b.remaster.medianS} s median (reading ISO + modloop ${b.remaster.readMedianS} s, supplement + menus + remaster ${b.remaster.buildMedianS} s); ` +
    `bare xorriso replay ${b.remaster.baselineReplayMedianS} s (x${b.remaster.ratioToReplay})`, 'firmware  medium  runs  ok  sentinel(s)  guest(s)']
  for (const r of b.boots) out.push(`${r.firmware.padEnd(10)}${r.medium.padEnd(8)}${String(r.runs).padStart(4)}${String(r.ok).padStart(4)}${r.medianSentinelS.toFixed(2).padStart(13)}${r.medianGuestS.toFixed(2).padStart(10)}`)
  return `${out.join('\n')}\n`
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rounds = Number(process.argv.find((a) => /^\d+$/.test(a))) || 3
  const b = await benchImage(rounds)
  process.stdout.write(`${JSON.stringify(b, null, 2)}\n`)
  process.stderr.write(formatImageBench(b))
}
