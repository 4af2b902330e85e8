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
import { packagePath } from '../shared/packagePaths.js'
import { benchBoot, formatBootBench } from './bootBench.js'
import { benchNetboot, formatNetbootBench } from './netbootBench.js'
import { benchStartup, formatStartupBench } from './startupBench.js'
import { benchImage, formatImageBench } from './imageBench.js'

const HOSTS = Number(process.env.BENCH_HOSTS ?? 1000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const BOOT_ROUNDS = Number(process.env.BENCH_BOOT_ROUNDS ?? 3)
const IMAGE_ROUNDS = Number(process.env.BENCH_IMAGE_ROUNDS ?? 3)

// Four kinds of host, as in profiles/: ids + preempt, by address, AMD diskless with a key, GPU.
function profileText(i: number): string {
  const name = `host${String(i).padStart(4, '0')}`
  const hex = (n: number) => n.toString(16).padStart(4, '0')
  switch (i % 4) {
    case 0: return `hostname: ${name}\ncpu: intel\nboot: { kernelOpts: [quiet, rootfstype=ext4] }\nmodules: [tun]\npackages: [libvirt-daemon, qemu-img, qemu-system-x86_64]\nnetwork: { ports: [eth0] }\nservices: { default: [libvirtd, libvirt-guests] }\npassthrough:\n  devices: [{ id: "8086:${hex(0x3a67 + (i % 5))}" }, { id: "8086:3a6c" }]\n  preempt: [igb]\n  allowUnsafeInterrupts: true\n`
    case 1: return `hostname: ${name}\ncpu: intel\nboot: { root: "UUID=3f1c2b9e-5a4d-4c1e-9b7a-${hex(i)}6e8f0a1b" }\npackages: [libvirt-daemon, qemu-system-x86_64]\nservices: { default: [libvirtd] }\npassthrough:\n  devices: [{ address: "0000:0${i % 8}:00.0", id: "8086:10d3" }]\n  preempt: [e1000e]\n`
    case 2: return `hostname: ${name}\ncpu: amd\ninstall: diskless\nalpine: { release: "3.21" }\npackages: [libvirt-daemon]\nservices: { default: [sshd] }\npassthrough:\n  devices: [{ id: "8086:1521" }]\n  preempt: [igb]\nfiles:\n  - { path: /root/.ssh/authorized_keys, content: "ssh-ed25519 AAAA${i} admin", mode: "0600" }\n`
    default: return `hostname: ${name}\ncpu: intel\nalpine: { release: "3.18" }\nmodules: [tun]\npassthrough:\n  devices: [{ id: "10de:13c2" }, { id: "10de:0fbb" }, { id: "1b73:1100" }]\n  preempt: [nouveau, snd_hda_intel, uhci_hcd]\n`
  }
}

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
    const cli = packagePath('dist', 'scripts', 'hostbake.js')
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
      startup: benchStartup(cli, profiles[0].file, path.join(work, 'one')),
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
