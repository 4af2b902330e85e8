/**
 * probeOverlay: the test build of a host's overlay (`hostbake image --probe`): the overlay plus hostbake's
 * in-overlay probe, so an image made from a real Alpine ISO (whose init is Alpine's own) reports the guest checks.
 *
 *   const files = addProbe(host.files, await readProbeFiles(cacheDir))   // then packApkovl(files)
 *
 * Adds (nothing else changes):
 *   etc/init.d/hostbake-probe          sysinit, `before *`: records drivers and modules before mdev/modloop/hwdrivers
 *   etc/init.d/hostbake-probe-report   default, `after *`: the checks, the sentinel on ttyS0, poweroff
 *   etc/runlevels/{sysinit,default}/   their links (absolute targets, as Alpine's rc_add writes them)
 *   etc/hostbake/probe/probe.sh, checks.sh (guest/checks.sh: the stand-in init's own checks), vfio-probe (static)
 * A test build: the report half powers the machine off when QEMU hands it expectations; it never belongs on a host.
 */
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { packagePath } from '../shared/packagePaths.js'
import type { FileMap, OverlayEntry } from '../render/overlayRender.js'

export const PROBE_SERVICES = { record: 'hostbake-probe', report: 'hostbake-probe-report' } as const
export const PROBE_DIR = 'etc/hostbake/probe'
/** The entry boot-test looks for to know an image carries the probe. */
export const PROBE_MARKER = `etc/init.d/${PROBE_SERVICES.report}`

export interface ProbeFiles {
  record: Buffer
  report: Buffer
  probeSh: Buffer
  checksSh: Buffer
  vfioProbe: Buffer
}

const guest = (name: string) => packagePath('scripts', 'boot', 'guest', name)

/** The probe's parts: scripts from the package, the static VFIO probe from the boot-test cache. */
export async function readProbeFiles(cacheDir: string): Promise<ProbeFiles> {
  const vfioProbe = path.join(cacheDir, 'boot', 'vfio-probe')
  if (!existsSync(vfioProbe)) {
    throw new HostbakeError(`--probe carries the static VFIO probe, and ${vfioProbe} does not exist`, { hint: `hostbake boot-test --prepare --cache ${cacheDir} builds it (gcc and libc6-dev)` })
  }
  return {
    record: await fs.readFile(guest('hostbake-probe.initd')),
    report: await fs.readFile(guest('hostbake-probe-report.initd')),
    probeSh: await fs.readFile(guest('probe.sh')),
    checksSh: await fs.readFile(guest('checks.sh')),
    vfioProbe: await fs.readFile(vfioProbe),
  }
}

/** The overlay with the probe added; a profile file already at one of the probe's paths is an error. */
export function addProbe(files: FileMap, probe: ProbeFiles): FileMap {
  const out: FileMap = new Map(files)
  const file = (name: string, data: Buffer, mode: number): OverlayEntry => ({ name, type: 'file', mode, uid: 0, gid: 0, data })
  const link = (name: string, target: string): OverlayEntry => ({ name, type: 'symlink', mode: 0o777, uid: 0, gid: 0, target })
  const adds = [
    file(`etc/init.d/${PROBE_SERVICES.record}`, probe.record, 0o755),
    file(`etc/init.d/${PROBE_SERVICES.report}`, probe.report, 0o755),
    link(`etc/runlevels/sysinit/${PROBE_SERVICES.record}`, `/etc/init.d/${PROBE_SERVICES.record}`),
    link(`etc/runlevels/default/${PROBE_SERVICES.report}`, `/etc/init.d/${PROBE_SERVICES.report}`),
    file(`${PROBE_DIR}/probe.sh`, probe.probeSh, 0o755),
    file(`${PROBE_DIR}/checks.sh`, probe.checksSh, 0o644),
    file(`${PROBE_DIR}/vfio-probe`, probe.vfioProbe, 0o755),
  ]
  const clash = adds.filter((e) => out.has(e.name)).map((e) => `/${e.name}`)
  if (clash.length > 0) throw new HostbakeError(`--probe adds ${clash.join(', ')}, which the overlay already has: build the test image from a profile without them`)
  for (const e of adds) {
    // explicit parent directories, as the renderer writes them (busybox tar would make missing ones 0755 anyway)
    for (let dir = path.posix.dirname(e.name); dir !== '.'; dir = path.posix.dirname(dir)) {
      if (!out.has(`${dir}/`)) out.set(`${dir}/`, { name: `${dir}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0 })
    }
    out.set(e.name, e)
  }
  return out
}
