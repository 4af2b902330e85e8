// boot-test --image: boot a bootable image (hostbake image's, or one a user made) on the machine PROFILE's test:
// section declares, through real firmware and the image's own boot menu, with PROFILE's expectations.
// The default menu entry decides what is expected: the host entry binds (and must show the supplementary
// initramfs); an entry marked hostbake.rescue must leave every device to its own driver.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { bakeHost } from '../hostPipeline.js'
import type { LoadedProfile } from '../profile/profileLoad.js'
import { planBootExpect, planBootMachine, toBootTestResult, type BootTestResult } from './bootTest.js'
import { bootImage, type Firmware, type ImageExpect, type Medium } from './imageBoot.js'

export interface ImageBootTestOptions {
  image: string
  firmware: Firmware
  medium: Medium
  timeoutS: number
  keep: boolean
  log: (msg: string) => void
  /** rescue boots: drivers that must hold these addresses (the devices' own) */
  rescueDrivers?: Record<string, string>
}

export type ImageBootTestResult = BootTestResult & {
  firmware: Firmware; medium: Medium; entry: string; sentinelAtS?: number
  /** the image's overlay carries hostbake's probe: the report came from it (stage probe-report), not from an init */
  probe: boolean
}


export async function bootTestImage(loaded: LoadedProfile, opts: ImageBootTestOptions): Promise<ImageBootTestResult> {
  const host = await bakeHost(loaded)
  const expect = planBootExpect(host, loaded)
  // unpredictable, 0700 (a planted name in /tmp cannot take its place)
  const work = await mkdtemp(path.join(os.tmpdir(), `hostbake-image-boot-${host.hostname}-${opts.firmware}-${opts.medium}-`))
  const { readImageMenu, readImageProbe } = await import('./imageBoot.js')
  const peek = await mkdtemp(path.join(os.tmpdir(), 'hostbake-menu-'))
  const [menu, probe] = await Promise.all([readImageMenu(opts.image, opts.firmware, peek), readImageProbe(opts.image, host.hostname, peek)])
    .finally(() => rm(peek, { recursive: true, force: true }))
  const rescue = /(^|\s)hostbake\.rescue(\s|$)/.test(menu.append)
  const imageExpect: ImageExpect = rescue
    ? { vfioIds: [], vfioAddresses: [], drivers: { ...expect.drivers, ...opts.rescueDrivers }, supplement: 'none', rescue: true, ...(expect.loaded ? { loaded: expect.loaded } : {}) }
    : { ...expect, supplement: host.hostname, initramfsFiles: host.plan.vfioFiles.map((f) => f.value) }
  imageExpect.probe = probe
  const r = await bootImage({
    image: opts.image, firmware: opts.firmware, medium: opts.medium, machine: planBootMachine(loaded), expect: imageExpect,
    workDir: work, timeoutS: opts.timeoutS, keep: opts.keep, menu,
    log: (m) => opts.log(`${host.hostname}: ${m}`),
  })
  return { ...toBootTestResult(loaded, host.hostname, r), firmware: opts.firmware, medium: opts.medium, entry: r.menu.label, probe }
}
