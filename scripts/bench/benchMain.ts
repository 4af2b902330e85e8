// npm run bench: bake 1,000 generated host profiles with the hostbake CLI, and in the same run make
// the same overlays the way aports' genapkovl-dhcp.sh does (mkdir + heredocs + rc_add + tar | gzip -9n
// per host). Reports medians and the ratio; each variant runs ROUNDS times, alternating. Then the boot
// benchmark: wall time per boot-testable profile and the harness overhead (wall minus guest uptime).
// BENCH_BOOT_ROUNDS=0 skips the boots, BENCH_IMAGE_ROUNDS=0 the image builds and boots (imageBench). The CLI's start-up is measured against `node -e 0` (startupBench).
import { median } from '../shared/stats.js'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { bakeHost } from '../hostPipeline.js'
import { parseProfileText } from '../hostPipeline.js'
import { sortedEntries } from '../render/overlayRender.js'
import { benchBoot, formatBootBench } from './bootBench.js'
import { benchNetboot, formatNetbootBench } from './netbootBench.js'
import { benchStartup, formatStartupBench, startupClis } from './startupBench.js'
import { profileText } from './benchProfiles.js'
import { benchImage, formatImageBench } from './imageBench.js'

const HOSTS = Number(process.env.BENCH_HOSTS ?? 1000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const BOOT_ROUNDS = Number(process.env.BENCH_BOOT_ROUNDS ?? 3)
const IMAGE_ROUNDS = Number(process.env.BENCH_IMAGE_ROUNDS ?? 3)

// The genapkovl-dhcp.sh way: a shell function per file, one tar | gzip per host.
async function shellScript(profiles: { file: string; text: string }[], outDir: string): Promise<string> {
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`
  const lines = [
    'set -e', 'umask 022',
    'makefile() { OWNER="$1"; PERMS="$2"; FILENAME="$3"; cat > "$FILENAME"; chown "$OWNER" "$FILENAME"; chmod "$PERMS" "$FILENAME"; }',
    'rc_add() { mkdir -p "$tmp"/etc/runlevels/"$2"; ln -sf /etc/init.d/"$1" "$tmp"/etc/runlevels/"$2"/"$1"; }',
  ]
  for (const p of profiles) {
    const host = await bakeHost({ file: p.file, profile: parseProfileText(p.text, p.file).profile, sources: new Map(), locate: () => { throw new Error('unused') } })
    lines.push('tmp="$(mktemp -d)"')
    for (const e of sortedEntries(host.files)) {
      if (e.type === 'directory') lines.push(`mkdir -p "$tmp"/${q(e.name)}`, `chmod ${e.mode.toString(8)} "$tmp"/${q(e.name)}`)
      else if (e.type === 'symlink') {
        const [, , level, svc] = e.name.split('/')
        lines.push(`rc_add ${q(svc)} ${level}`)
      } else {
        lines.push(`makefile ${e.uid}:${e.gid} ${e.mode.toString(8)} "$tmp"/${q(e.name)} <<'EOF_HOSTBAKE'`, e.data!.toString('utf8').replace(/\n$/, ''), 'EOF_HOSTBAKE')
      }
    }
    const tops = [...new Set(sortedEntries(host.files).map((e) => e.name.split('/')[0]))].map(q).join(' ')
    lines.push(`tar -c -C "$tmp" ${tops} | gzip -9n > ${q(path.join(outDir, `${host.hostname}.apkovl.tar.gz`))}`, 'rm -rf "$tmp"')
  }
  return `${lines.join('\n')}\n`
}

function timed(cmd: string, args: string[], opts: { input?: string } = {}): number {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'], input: opts.input, maxBuffer: 1 << 26 })
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.toString().slice(0, 2000)}`)
  return secs
}


async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'hostbake-bench-'))
  try {
    const profDir = path.join(work, 'profiles')
    await mkdir(profDir)
    const profiles = Array.from({ length: HOSTS }, (_, i) => ({ file: path.join(profDir, `host${String(i).padStart(4, '0')}.yaml`), text: profileText(i) }))
    await Promise.all(profiles.map((p) => writeFile(p.file, p.text)))
    const shOut = path.join(work, 'sh-out')
    const hbOut = path.join(work, 'hb-out')
    await mkdir(shOut)
    const script = await shellScript(profiles, shOut)
    await writeFile(path.join(work, 'genapkovl.sh'), script)
    const { cli, unbundled } = await startupClis() // the bin users run (a bundle), and the unbundled entry
    const hb: number[] = []
    const sh: number[] = []
    process.stderr.write(`bench: ${HOSTS} hosts, ${ROUNDS} rounds each (hostbake CLI, one process; genapkovl-style sh)\n`)
    for (let r = 0; r < ROUNDS; r++) {
      await rm(hbOut, { recursive: true, force: true })
      hb.push(timed(process.execPath, [cli, 'build', ...profiles.map((p) => p.file), '-o', hbOut]))
      sh.push(timed('/bin/sh', [path.join(work, 'genapkovl.sh')]))
      process.stderr.write(`  round ${r + 1}: hostbake ${hb[r].toFixed(2)} s, shell ${sh[r].toFixed(2)} s\n`)
    }
    const made = (await readdir(hbOut)).length
    if (made !== HOSTS || (await readdir(shOut)).length !== HOSTS) throw new Error(`expected ${HOSTS} overlays, hostbake made ${made}`)
    const hbMed = median(hb)
    const shMed = median(sh)
    const report = {
      hosts: HOSTS,
      rounds: ROUNDS,
      hostbake: { medianSeconds: +hbMed.toFixed(3), hostsPerSecond: +(HOSTS / hbMed).toFixed(0), msPerHost: +((hbMed * 1000) / HOSTS).toFixed(3) },
      shellBaseline: { medianSeconds: +shMed.toFixed(3), hostsPerSecond: +(HOSTS / shMed).toFixed(0), msPerHost: +((shMed * 1000) / HOSTS).toFixed(3) },
      speedupVsShell: +(shMed / hbMed).toFixed(1),
      startup: benchStartup(cli, profiles[0].file, path.join(work, 'one'), 15, unbundled),
      boot: BOOT_ROUNDS > 0 ? await benchBoot(BOOT_ROUNDS) : undefined,
      netboot: BOOT_ROUNDS > 0 ? await benchNetboot(BOOT_ROUNDS) : undefined,
      image: IMAGE_ROUNDS > 0 ? await benchImage(IMAGE_ROUNDS) : undefined,
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    process.stderr.write(`bench: hostbake ${report.hostbake.hostsPerSecond} hosts/s (${report.hostbake.msPerHost} ms/host), ` +
      `shell ${report.shellBaseline.hostsPerSecond} hosts/s: ${report.speedupVsShell}x\n`)
    process.stderr.write(formatStartupBench(report.startup))
    if (report.boot) process.stderr.write(formatBootBench(report.boot))
    if (report.netboot) process.stderr.write(formatNetbootBench(report.netboot))
    if (report.image) process.stderr.write(formatImageBench(report.image))
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

await main()
