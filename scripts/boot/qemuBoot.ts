// Runs one QEMU guest, bounded: serial console to a log file, stops at the guest's sentinel line, at the timeout,
// or on SIGINT/SIGTERM of this process. No QEMU outlives the call (killed in finally, and by the signal handler).
import { $, type ProcessPromise } from 'zx'
import { accessSync, constants, createWriteStream, writeFileSync } from 'node:fs'
import { sentinelPattern } from './bootReport.js'
import { onCleanup } from '../shared/cleanup.js'
import { HostbakeError } from '../shared/hostbakeError.js'
import { testDeviceProblems } from '../profile/testDevices.js'
import { shellWord } from '../shared/shellQuote.js'

export type IommuKind = 'intel' | 'amd' | 'none'

export interface QemuMachine {
  iommu: IommuKind
  /** verbatim `-device` arguments (slots, root ports and bridges included) */
  devices: string[]
}

export interface QemuRun {
  machine: QemuMachine
  /** direct kernel boot; without it the firmware boots whatever `extra` attaches (hostbake image) */
  kernel?: string
  initrd?: string
  append?: string
  /** keep q35's AHCI controller (a -cdrom needs it) */
  sata?: boolean
  /** extra QEMU arguments, appended after the machine's devices (boot medium, modloop share) */
  extra: string[]
  serialLog: string
  pidFile: string
  timeoutS: number
  /** default: tcg, or kvm when HOSTBAKE_ACCEL=kvm and /dev/kvm is usable */
  accel?: 'kvm' | 'tcg'
}

export interface QemuResult {
  exitCode: number | null
  timedOut: boolean
  /** the kernel panicked (QEMU stopped early) */
  panicked: boolean
  sawSentinel: boolean
  qemuWallS: number
  /** seconds from QEMU start to the sentinel line on the serial console */
  sentinelAtS?: number
  /** the accelerator the result came from (tcg after a KVM hang) */
  accel: 'kvm' | 'tcg'
  /** KVM was asked for, the guest stayed silent, and the boot was redone under TCG */
  kvmFellBack: boolean
}

/** KVM boots hang on the CI machines: TCG unless HOSTBAKE_ACCEL=kvm asks for KVM and /dev/kvm is usable. */
export function pickAccel(): 'kvm' | 'tcg' {
  if (process.env.HOSTBAKE_ACCEL !== 'kvm') return 'tcg'
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK)
    return 'kvm'
  } catch {
    process.stderr.write('boot: /dev/kvm not usable, falling back to TCG\n')
    return 'tcg'
  }
}

export function qemuArgs(run: QemuRun): string[] {
  // the profile's test devices are checked at load; checked again here for callers of the harness API
  const bad = run.machine.devices.flatMap((d) => testDeviceProblems(d))
  if (bad.length > 0) throw new HostbakeError(`test devices refused: ${bad.join('; ')}`)
  const iommu =
    run.machine.iommu === 'intel' ? ['-device', 'intel-iommu,intremap=on,caching-mode=on']
    : run.machine.iommu === 'amd' ? ['-device', 'amd-iommu,intremap=on']
    : []
  return [
    '-accel', run.accel ?? pickAccel(),
    // split irqchip: required by the vIOMMU's interrupt remapping. No SATA/SMBus/PS2: their drivers' probes cost
    // ~0.8 s of TCG time and they are never passed through (add them back with -device if a test needs them)
    '-machine', `q35,kernel-irqchip=split,${run.sata ? '' : 'sata=off,'}smbus=off,i8042=off`,
    '-m', '512', '-smp', '1',
    // no default VGA/NIC/serial: the guest's PCI topology is exactly what the test declares
    '-nodefaults', '-nic', 'none', '-display', 'none', '-monitor', 'none',
    '-serial', 'stdio', '-no-reboot',
    ...iommu,
    // a NIC that names netdev=hostnet0 gets user networking: restricted (no way out), DHCP from QEMU
    ...(run.machine.devices.some((d) => /(^|,)netdev=hostnet0(,|$)/.test(d)) ? ['-netdev', 'user,id=hostnet0,restrict=on'] : []),
    ...run.machine.devices.flatMap((d) => ['-device', d]),
    ...run.extra,
    ...(run.kernel ? ['-kernel', run.kernel, ...(run.initrd ? ['-initrd', run.initrd] : []), ...(run.append ? ['-append', run.append] : [])] : []),
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

// A KVM guest that hangs prints nothing at all on its serial console (measured on these machines: the
// kernel never starts). Seconds of silence after which a KVM boot counts as hung and is redone under TCG.
const KVM_SILENCE_S = Number(process.env.HOSTBAKE_KVM_SILENCE_S) || 10

export async function runQemu(run: QemuRun): Promise<QemuResult> {
  const accel = run.accel ?? pickAccel()
  if (accel === 'kvm') {
    const r = await runQemuOnce({ ...run, accel }, KVM_SILENCE_S)
    if (!r.silent) return { ...r, accel, kvmFellBack: false }
    process.stderr.write(`boot: the KVM guest printed nothing in ${KVM_SILENCE_S} s (KVM boots hang on some hosts): falling back to TCG\n`)
  }
  const r = await runQemuOnce({ ...run, accel: 'tcg' })
  return { ...r, accel: 'tcg', kvmFellBack: accel === 'kvm' }
}

async function runQemuOnce(run: QemuRun, silenceS?: number): Promise<Omit<QemuResult, 'accel' | 'kvmFellBack'> & { silent: boolean }> {
  const started = performance.now()
  const log = createWriteStream(run.serialLog)
  let sawSentinel = false
  let timedOut = false
  let sentinelAtS: number | undefined
  let panicked = false
  let silent = false
  let tail = ''
  // exec: the shell zx starts is replaced by QEMU, so killing the process kills QEMU itself
  const args = qemuArgs(run)
  // the exact command, next to the serial log, to rerun a failure by hand
  writeFileSync(run.pidFile.replace(/[^/]*$/, 'qemu.cmd'), ['qemu-system-x86_64', ...args].map(shellWord).join(' ') + '\n')
  // setpriv --pdeathsig KILL (util-linux): the kernel SIGKILLs QEMU when this process dies, even by SIGKILL,
  // without any handler of ours running; exec keeps QEMU our direct child, so its parent is this process.
  // A parent that died before setpriv's prctl has left the child to init: the sh between setpriv and QEMU
  // sees another $PPID and stops there (the death signal survives both execs)
  const guard = '[ "$PPID" = "$1" ] || exit 125; shift; exec "$@"'
  const p = $({ quiet: true, nothrow: true, stdio: ['ignore', 'pipe', 'pipe'] })`exec setpriv --pdeathsig KILL sh -c ${guard} sh ${process.pid} qemu-system-x86_64 ${args}`
  // Ctrl-C / SIGTERM: QEMU is SIGKILLed synchronously, then reaped
  const untrack = onCleanup(() => { if (p.pid) process.kill(p.pid, 'SIGKILL') }, () => p.nothrow())
  let grace: NodeJS.Timeout | undefined
  const timer = setTimeout(() => {
    timedOut = true
    void killNow(p)
  }, run.timeoutS * 1000)
  const silence = silenceS === undefined ? undefined : setTimeout(() => {
    silent = true
    void killNow(p)
  }, silenceS * 1000)
  try {
    p.stdout.on('data', (chunk: Buffer) => {
      clearTimeout(silence)
      log.write(chunk)
      tail = (tail + chunk.toString('utf8')).slice(-4096)
      if (!panicked && /Kernel panic - not syncing/.test(tail)) {
        panicked = true
        // nothing follows a panic: keep a moment of trace, then stop instead of waiting for the timeout
        grace = setTimeout(() => void killNow(p), 500)
      }
      if (!sawSentinel && sentinelPattern.test(tail)) {
        sawSentinel = true
        sentinelAtS = (performance.now() - started) / 1000
        // the guest powers off right after its report; don't wait the full timeout if it doesn't
        grace = setTimeout(() => void killNow(p), 3000)
      }
    })
    p.stderr.on('data', (chunk: Buffer) => log.write(chunk))
    const out = await p
    return { exitCode: out.exitCode, timedOut, panicked, silent, sawSentinel, sentinelAtS, qemuWallS: (performance.now() - started) / 1000 }
  } finally {
    clearTimeout(timer)
    clearTimeout(silence)
    clearTimeout(grace)
    if (p.exitCode === null) await killNow(p)
    await p.nothrow()
    untrack()
    await new Promise<void>((resolve) => log.end(resolve))
  }
}
