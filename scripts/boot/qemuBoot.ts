// Runs one QEMU guest, bounded: serial console to a log file, stops at the guest's sentinel line, at the timeout,
// or on SIGINT/SIGTERM of this process. No QEMU outlives the call (killed in finally, and by the signal handler).
import { $, type ProcessPromise } from 'zx'
import { createWriteStream } from 'node:fs'
import { sentinelPattern } from './bootReport.js'

export type IommuKind = 'intel' | 'amd' | 'none'

export interface QemuMachine {
  iommu: IommuKind
  /** verbatim `-device` arguments (slots, root ports and bridges included) */
  devices: string[]
}

export interface QemuRun {
  machine: QemuMachine
  kernel: string
  initrd: string
  append: string
  /** extra QEMU arguments, appended after the machine's devices (boot medium, modloop share) */
  extra: string[]
  serialLog: string
  pidFile: string
  timeoutS: number
}

export interface QemuResult {
  exitCode: number | null
  timedOut: boolean
  sawSentinel: boolean
  qemuWallS: number
  /** seconds from QEMU start to the sentinel line on the serial console */
  sentinelAtS?: number
}

/** KVM hangs on the CI machines: TCG unless HOSTBAKE_ACCEL=kvm asks otherwise. */
export function pickAccel(): string {
  return process.env.HOSTBAKE_ACCEL === 'kvm' ? 'kvm' : 'tcg'
}

export function qemuArgs(run: QemuRun): string[] {
  const iommu =
    run.machine.iommu === 'intel' ? ['-device', 'intel-iommu,intremap=on,caching-mode=on']
    : run.machine.iommu === 'amd' ? ['-device', 'amd-iommu,intremap=on']
    : []
  return [
    '-accel', pickAccel(),
    // split irqchip: required by the vIOMMU's interrupt remapping. No SATA/SMBus/PS2: their drivers' probes cost
    // ~0.8 s of TCG time and they are never passed through (add them back with -device if a test needs them)
    '-machine', 'q35,kernel-irqchip=split,sata=off,smbus=off,i8042=off',
    '-m', '512', '-smp', '1',
    // no default VGA/NIC/serial: the guest's PCI topology is exactly what the test declares
    '-nodefaults', '-nic', 'none', '-display', 'none', '-monitor', 'none',
    '-serial', 'stdio', '-no-reboot',
    ...iommu,
    ...run.machine.devices.flatMap((d) => ['-device', d]),
    ...run.extra,
    '-kernel', run.kernel, '-initrd', run.initrd, '-append', run.append,
    '-pidfile', run.pidFile,
  ]
}

/** SIGKILL, tolerating a process that already exited (zx throws synchronously then). */
function killNow(p: ProcessPromise): Promise<void> {
  try {
    return p.kill('SIGKILL').catch(() => {})
  } catch {
    return Promise.resolve()
  }
}

const live = new Set<ProcessPromise>()
let handlersInstalled = false
function onSignal(signal: NodeJS.Signals) {
  for (const p of live) void killNow(p)
  live.clear()
  process.exitCode = signal === 'SIGINT' ? 130 : 143
  // leave the process: QEMU is gone; any finally blocks still pending are moot
  setImmediate(() => process.exit(process.exitCode))
}
function trackLive(p: ProcessPromise) {
  if (!handlersInstalled) {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    handlersInstalled = true
  }
  live.add(p)
}
function untrack(p: ProcessPromise) {
  live.delete(p)
  if (live.size === 0 && handlersInstalled) {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    handlersInstalled = false
  }
}

export async function runQemu(run: QemuRun): Promise<QemuResult> {
  const started = performance.now()
  const log = createWriteStream(run.serialLog)
  let sawSentinel = false
  let timedOut = false
  let sentinelAtS: number | undefined
  let tail = ''
  // exec: the shell zx starts is replaced by QEMU, so killing the process kills QEMU itself
  const p = $({ quiet: true, nothrow: true, stdio: ['ignore', 'pipe', 'pipe'] })`exec qemu-system-x86_64 ${qemuArgs(run)}`
  trackLive(p)
  let grace: NodeJS.Timeout | undefined
  const timer = setTimeout(() => {
    timedOut = true
    void killNow(p)
  }, run.timeoutS * 1000)
  try {
    p.stdout.on('data', (chunk: Buffer) => {
      log.write(chunk)
      tail = (tail + chunk.toString('utf8')).slice(-4096)
      if (!sawSentinel && sentinelPattern.test(tail)) {
        sawSentinel = true
        sentinelAtS = (performance.now() - started) / 1000
        // the guest powers off right after its report; don't wait the full timeout if it doesn't
        grace = setTimeout(() => void killNow(p), 3000)
      }
    })
    p.stderr.on('data', (chunk: Buffer) => log.write(chunk))
    const out = await p
    return { exitCode: out.exitCode, timedOut, sawSentinel, sentinelAtS, qemuWallS: (performance.now() - started) / 1000 }
  } finally {
    clearTimeout(timer)
    clearTimeout(grace)
    if (p.exitCode === null) await killNow(p)
    await p.nothrow()
    untrack(p)
    await new Promise<void>((resolve) => log.end(resolve))
  }
}
