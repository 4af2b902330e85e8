// Parses the guest's own report from the serial log: `hostbake-guest: PASS|FAIL <name> <detail>` lines,
// `hostbake-guest: uptime <s>`, and the sentinel `hostbake-guest: N passed, N failed`.
import { readFile } from 'node:fs/promises'

export const guestPrefix = 'hostbake-guest'
export const sentinelPattern = /^hostbake-guest: (\d+) passed, (\d+) failed\r?$/m

export interface BootCheck {
  name: string
  pass: boolean
  detail: string
}

export interface GuestReport {
  checks: BootCheck[]
  /** counts from the sentinel line; undefined when the guest never printed it */
  sentinel?: { passed: number; failed: number }
  guestUptimeS?: number
  /** the snapshot collector's JSON, when the guest was asked to run it */
  snapshot?: string
  /** `stage <name> <uptime>` markers, for timing */
  stages: Record<string, number>
}

export function parseGuestReport(serial: string): GuestReport {
  const checks: BootCheck[] = []
  const stages: Record<string, number> = {}
  let guestUptimeS: number | undefined
  let snapshot: string | undefined
  for (const raw of serial.split('\n')) {
    const line = raw.replace(/\r$/, '')
    let m = /^hostbake-guest: (PASS|FAIL) (\S+) ?(.*)$/.exec(line)
    if (m) {
      checks.push({ name: m[2], pass: m[1] === 'PASS', detail: m[3] })
      continue
    }
    if ((m = /^hostbake-guest: uptime ([\d.]+)$/.exec(line))) guestUptimeS = Number(m[1])
    else if ((m = /^hostbake-guest: snapshot (\{.*)$/.exec(line))) snapshot = m[1]
    else if ((m = /^hostbake-guest: stage (\S+) .*?([\d.]+)$/.exec(line))) stages[m[1]] = Number(m[2])
  }
  const s = sentinelPattern.exec(serial)
  const sentinel = s ? { passed: Number(s[1]), failed: Number(s[2]) } : undefined
  return { checks, sentinel, guestUptimeS, stages, ...(snapshot ? { snapshot } : {}) }
}

/** The last lines of the serial log, for a failure message. */
export function logTail(serial: string, lines = 40): string {
  if (serial.trim() === '') return '(the serial log is empty: the guest printed nothing, `quiet` hides the kernel)'
  return serial.split('\n').slice(-lines).join('\n')
}

export interface GuestVerdict {
  guest: GuestReport
  passed: number
  failed: number
  /** a pass is the guest's own: its sentinel says 0 failed, agrees with the checks it printed, and there was one */
  ok: boolean
  /** the serial log's last lines, when the verdict is not a clean pass */
  tail?: string
}

export async function readGuestVerdict(serialLogPath: string): Promise<GuestVerdict> {
  return judgeGuestReport(await readFile(serialLogPath, 'utf8'))
}

/** The pass rule, on the serial log's text. */
export function judgeGuestReport(serial: string): GuestVerdict {
  const guest = parseGuestReport(serial)
  const passed = guest.checks.filter((c) => c.pass).length
  const failed = guest.checks.length - passed
  const ok = !!guest.sentinel && guest.sentinel.failed === 0 && guest.sentinel.passed === passed && passed > 0 && failed === 0
  return { guest, passed, failed, ok, ...(ok ? {} : { tail: logTail(serial) }) }
}
