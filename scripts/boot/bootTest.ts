// boot-test: bake each profile, boot its overlay in QEMU on the machine its `test:` section declares,
// and take the guest's own report as the verdict. Expectations come from the plan (what hostbake bound)
// and the profile's test.expect (what the author knows about the hardware).
import { rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { onCleanup } from '../shared/cleanup.js'
import { HostbakeError, ProfileError } from '../shared/hostbakeError.js'
import { bakeHost, type BakedHost } from '../hostPipeline.js'
import type { LoadedProfile } from '../profile/profileLoad.js'
import type { BootExpect, BootReport } from './bootOverlay.js'
import type { QemuMachine } from './qemuBoot.js'
import { ALPINE_DEFAULT_MODULES } from '../alpine/alpineDefaults.js'
import type { BootKernel } from './bootKernel.js'

export interface BootTestOptions {
  /** the harness's Debian kernel, or a user's own kernel and modules */
  kernel: BootKernel
  timeoutS: number
  keep: boolean
  log: (msg: string) => void
  /** boot this overlay (hand-edited, an `lbu package` backup, another tool's) instead of the profile's own; the
   *  profile still gives the machine and the expectations */
  apkovl?: string
  /** also run the snapshot collector in the guest (BootTestResult.snapshot) */
  snapshot?: boolean
  /** diskless hosts: add the supplementary initramfs after the stock one (default true; false: a negative control) */
  supplement?: boolean
  /** boot as the harness did before its speed levers: the bench's baseline only */
  baseline?: boolean
}

export interface BootTestResult {
  profile: string
  hostname: string
  /** the overlay booted, when it was not the profile's own (--apkovl) */
  apkovl?: string
  ok: boolean
  passed: number
  failed: number
  /** no sentinel before --timeout, or a kernel panic */
  timedOut: boolean
  panicked: boolean
  accel: 'kvm' | 'tcg'
  kvmFellBack: boolean
  wallS: number
  guestUptimeS?: number
  /** seconds from QEMU start to the guest's sentinel (the part of wallS a boot medium can be compared on) */
  sentinelAtS?: number
  overheadS?: number
  /** guest uptime at each announced stage (the bench's breakdown) */
  stages?: Record<string, number>
  cmdline: string
  checks: BootReport['checks']
  workDir?: string
  serialLog?: string
  tail?: string
  /** the guest's own snapshot (collector JSON), when asked for */
  snapshot?: string
}

export function planBootMachine(loaded: LoadedProfile): QemuMachine {
  const spec = loaded.profile.test!
  return { iommu: spec.iommu ?? loaded.profile.cpu, devices: spec.devices }
}

export function planBootExpect(host: BakedHost, loaded: LoadedProfile): BootExpect {
  const spec = loaded.profile.test!
  const drivers = spec.expect.drivers ?? {}
  const guard = host.plan.runlevels.sysinit.map((s) => s.value).filter((s) => s === 'hostbake-guard')
  return {
    vfioIds: host.plan.vfioIds.map((i) => i.value),
    vfioAddresses: host.plan.vfioAddresses.map((a) => a.address),
    ...(spec.expect.groups ? { groups: spec.expect.groups } : {}),
    ...(Object.keys(drivers).length > 0 ? { drivers } : {}),
    // hostbake's own guard binds by address before hwdrivers; a hand-edited overlay that orders it later must fail
    ...(guard.length > 0 ? { beforeHwdrivers: guard } : {}),
    ...(host.plan.network ? { bridge: { name: host.plan.network.bridge, ports: host.plan.network.ports } } : {}),
    // what the profile asked to load (Alpine's own /etc/modules lines are not the profile's claim)
    loaded: host.plan.modules.map((m) => m.value).filter((m) => !(ALPINE_DEFAULT_MODULES as readonly string[]).includes(m)),
  }
}

// Profiles named on the command line must be boot-testable; a profile without `test:` is an input error.
export function requireTestSection(loaded: LoadedProfile[]): void {
  const missing = loaded.filter((l) => l.profile.test === undefined)
  if (missing.length > 0) {
    throw new ProfileError(missing.map((l) => ({ ...l.locate(['hostname'], 'no test: section: add test: { iommu, devices } to say which machine QEMU emulates'), field: 'test' })))
  }
}

// --shard I/N: the I-th of N interleaved slices of the sorted profile list (1-based, as CI matrices count).
export function selectShard<T>(items: T[], shard: string | undefined): T[] {
  if (shard === undefined) return items
  const m = /^(\d+)\/(\d+)$/.exec(shard)
  const [i, n] = m ? [Number(m[1]), Number(m[2])] : [0, 0]
  if (!m || n < 1 || i < 1 || i > n) throw new HostbakeError(`--shard ${shard}: expected I/N with 1 <= I <= N, like 2/4`)
  return items.filter((_, k) => k % n === i - 1)
}

// Work folders with unpredictable names (mkdtemp: created exclusively, mode 0700), so a symlink planted in
// /tmp cannot redirect root's writes. The pid in the prefix says whose they are.
export async function makeBootDirs(hostname: string): Promise<{ work: string; ovlDir: string }> {
  const prefix = path.join(os.tmpdir(), `hostbake-boot-${hostname}-${process.pid}-`)
  const work = await mkdtemp(prefix)
  return { work, ovlDir: await mkdtemp(`${work}-apkovl-`) }
}

/** A boot's report as boot-test reports it (every medium: direct, image). */
export function toBootTestResult(loaded: LoadedProfile, hostname: string, r: BootReport): BootTestResult {
  return {
    profile: loaded.file, hostname, ok: r.ok, passed: r.passed, failed: r.failed,
    timedOut: r.timedOut, panicked: r.panicked, accel: r.accel, kvmFellBack: r.kvmFellBack,
    wallS: +r.wallS.toFixed(2),
    ...(r.guestUptimeS !== undefined ? { guestUptimeS: r.guestUptimeS } : {}),
    ...(r.overheadS !== undefined ? { overheadS: +r.overheadS.toFixed(2) } : {}),
    ...(r.sentinelAtS !== undefined ? { sentinelAtS: +r.sentinelAtS.toFixed(2) } : {}),
    stages: r.stages, cmdline: r.cmdline, checks: r.checks,
    ...(r.workDir ? { workDir: r.workDir, serialLog: r.serialLogPath } : {}),
    ...(r.tail ? { tail: r.tail } : {}),
    ...(r.snapshot ? { snapshot: r.snapshot } : {}),
  }
}

// The supplementary initramfs `hostbake image` would add, from the boot kernel's own modules, after the stock image.
async function planSupplement(host: BakedHost, k: BootKernel): Promise<{ data: Buffer; hostname: string }> {
  const { planInitramfsModules } = await import('./initramfsBuild.js')
  const { buildSupplementInitramfs, supplementFilesOf } = await import('../image/supplementInitramfs.js')
  const stockModules = (await planInitramfsModules(k, undefined)).modules
  const s = await buildSupplementInitramfs({ hostname: host.hostname, modulesDir: k.modulesDir, baseKver: k.kver, baseModules: stockModules, files: supplementFilesOf(host.files) })
  return { data: s.data, hostname: host.hostname }
}

export async function bootTestProfile(loaded: LoadedProfile, opts: BootTestOptions): Promise<BootTestResult> {
  // loaded lazily: building and booting needs the harness, plain builds do not
  const { bootOverlay } = await import('./bootOverlay.js')
  const host = await bakeHost(loaded)
  // unique per call: the same profile may boot several times at once (bench rounds, a profile named twice)
  const { work, ovlDir } = await makeBootDirs(host.hostname)
  // interrupted (Ctrl-C, SIGTERM) at any stage: both folders go; a finished failure keeps its work folder for the log
  const forget = onCleanup(() => {
    if (!opts.keep) rmSync(work, { recursive: true, force: true })
    rmSync(ovlDir, { recursive: true, force: true })
  })
  try {
    const apkovl = opts.apkovl ? path.resolve(opts.apkovl) : path.join(ovlDir, `${host.hostname}.apkovl.tar.gz`)
    if (!opts.apkovl) await writeFile(apkovl, host.apkovl)
    const label = opts.apkovl ? `${host.hostname} (${path.basename(opts.apkovl)})` : host.hostname
    const diskless = host.plan.install === 'diskless'
    // diskless: Alpine's stock initramfs; early binding only through the supplementary initramfs (hostbake image)
    const stock = diskless ? { ...(opts.supplement === false ? {} : { supplement: await planSupplement(host, opts.kernel) }) } : undefined
    const r = await bootOverlay({
      ...(stock ? { stock } : {}),
      apkovl,
      // sys: the harness forms APPEND from the overlay's update-extlinux.conf, as update-extlinux does;
      // diskless: the command line the boot media would carry, and the apkovl found on that medium
      ...(diskless ? { cmdline: host.plan.cmdline, medium: 'disk' as const } : {}),
      machine: planBootMachine(loaded),
      expect: { ...planBootExpect(host, loaded), ...(opts.snapshot ? { snapshot: true } : {}) },
      workDir: work,
      timeoutS: opts.timeoutS,
      keep: opts.keep,
      kernel: opts.kernel,
      ...(opts.baseline ? { baseline: true } : {}),
      log: (m) => opts.log(`${label}: ${m.replace(/^\S+: /, '')}`),
    })
    return { ...toBootTestResult(loaded, host.hostname, r), ...(opts.apkovl ? { apkovl: opts.apkovl } : {}) }
  } finally {
    forget()
    await rm(ovlDir, { recursive: true, force: true })
  }
}
