// Shared by the boot tests: one work folder per scenario, the overlay built by hand (or given as a path).
import os from 'node:os'
import path from 'node:path'
import fs from 'node:fs/promises'
import { bootOverlay, type BootReport } from '../../scripts/boot/bootOverlay.js'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'
import { TEST_CACHE } from '../testSupport.js'
import { overlayFiles, packOverlay, type Scenario } from './overlayFixture.js'

export const bootTimeoutS = Number(process.env.HOSTBAKE_BOOT_TIMEOUT) || 60
// the harness kernel ci/setup.sh prepared into the test cache
export const bootKernel = () => locateBootKernel(TEST_CACHE)

export function workDirFor(name: string): string {
  return path.join(os.tmpdir(), `hostbake-boot-${name}-${process.pid}`)
}

/** Boots a scenario; `apkovl` overrides the hand-made overlay (e.g. one rendered from a profile). */
export async function bootScenario(s: Scenario, apkovl?: string): Promise<BootReport> {
  const work = workDirFor(s.name)
  const ovlDir = `${work}-ovl`
  await fs.mkdir(ovlDir, { recursive: true })
  try {
    const ovl = apkovl ?? (await packOverlay(ovlDir, s.overlay.host, overlayFiles(s.overlay)))
    return await bootOverlay({
      apkovl: ovl, machine: s.machine, expect: s.expect,
      workDir: work, timeoutS: bootTimeoutS, log: () => {}, kernel: bootKernel(),
    })
  } finally {
    await fs.rm(ovlDir, { recursive: true, force: true })
  }
}

export function describeReport(r: BootReport): string {
  const lines = r.checks.map((c) => `  ${c.pass ? 'PASS' : 'FAIL'} ${c.name} ${c.detail}`)
  return [
    `ok=${r.ok} ${r.passed} passed, ${r.failed} failed, sentinel=${r.sentinel} timedOut=${r.timedOut} wall=${r.wallS.toFixed(2)}s`,
    ...lines,
    ...(r.ok ? [] : [`serial log: ${r.serialLogPath}`, r.tail ?? '']),
  ].join('\n')
}
