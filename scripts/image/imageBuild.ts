/**
 * imageBuild: a diskless host's bootable ISO/USB image, from the user's Alpine ISO.
 *
 *   const r = await buildImage({ loaded, base: 'alpine-extended-3.22.0-x86_64.iso', output: 'vmhost.iso' })
 *
 * check inputs (profile fit, ISO checksum and layout, release) -> read the modloop -> supplementary initramfs ->
 * menus -> remaster. Adds /<host>.apkovl.tar.gz (Alpine's initramfs finds it at the top level of the boot medium),
 * /boot/hostbake-<host>.cpio.gz, and rewrites /boot/syslinux/syslinux.cfg and /boot/grub/grub.cfg.
 * Nothing is written to `output` unless every step succeeded.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ProfileError } from '../shared/hostbakeError.js'
import { bakeHost, type BakedHost } from '../hostPipeline.js'
import type { LoadedProfile } from '../profile/profileLoad.js'
import { overlayMtime, packApkovl } from '../pack/apkovlPack.js'
import { addProbe, type ProbeFiles } from './probeOverlay.js'
import { readBaseIso, readSerial, readTimeouts, type BaseIso } from './isoInput.js'
import { renderMenus, type MenuPlan } from './menuRender.js'
import { remasterIso } from './isoRemaster.js'
import { readModloop } from './modloopRead.js'
import {
  buildSupplementInitramfs, readInitramfsModules, supplementFilesOf, supplementName, type Supplement,
} from './supplementInitramfs.js'

export interface ImageOptions {
  loaded: LoadedProfile
  base: string
  sha256?: string
  output: string
  log?: (msg: string) => void
  /** a test build: the overlay carries hostbake's probe (readProbeFiles), which reports the guest checks and powers off */
  probe?: ProbeFiles
  /** tests only: boot the rescue entry by default */
  defaultEntry?: 0 | 1
  /** negative controls only: leave the supplement out of one menu; take the vfio modules from another module tree */
  omitSupplementFrom?: 'syslinux' | 'grub'
  modulesDirOverride?: string
}

export interface ImageResult {
  output: string
  sha256: string
  bytes: number
  hostname: string
  /** a test build (--probe): never for a host */
  probe: boolean
  base: { release: string; volid: string; sha256: string; flavor: string }
  supplement: { path: string; kver: string; modules: string[]; bytes: number }
  menus: MenuPlan
  /** seconds: reading the ISO and its modloop, the rest (supplement, menus, remaster) */
  timings: { readS: number; buildS: number }
}

// An ISO boots diskless (no root=), so only a diskless profile describes the host it makes.
export function checkImageProfile(loaded: LoadedProfile): void {
  if (loaded.profile.install !== 'diskless') {
    throw new ProfileError([loaded.locate(['install'], 'hostbake image makes a boot medium for a host that runs from RAM: set install: diskless')])
  }
}

export function checkRelease(loaded: LoadedProfile, base: BaseIso): void {
  const want = loaded.profile.alpine.release
  if (want !== base.branch) {
    throw new ProfileError([loaded.locate(['alpine', 'release'], `alpine.release is ${want}, but ${base.path} is Alpine ${base.release} (.alpine-release: "${base.releaseLine}"): make them agree`)])
  }
}

export async function buildImage(opts: ImageOptions): Promise<ImageResult> {
  const log = opts.log ?? (() => {})
  const started = performance.now()
  checkImageProfile(opts.loaded)
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'hostbake-image-'))
  try {
    log(`checking ${opts.base}`)
    const base = await readBaseIso(opts.base, opts.sha256, path.join(work, 'base'))
    checkRelease(opts.loaded, base)
    const host: BakedHost = await bakeHost(opts.loaded)
    const stock = await readInitramfsModules(base.files.initramfs)
    const modulesDir = opts.modulesDirOverride ?? (await readModloop(base.files.modloop, path.join(work, 'modloop')))
    const readS = (performance.now() - started) / 1000
    log(`Alpine ${base.release} (${base.volid}), kernel ${stock.kver}: supplementary initramfs`)
    const epochS = Math.floor(overlayMtime().getTime() / 1000)
    const supp: Supplement = await buildSupplementInitramfs({
      hostname: host.hostname, modulesDir, baseKver: stock.kver, baseModules: stock.modules, files: supplementFilesOf(host.files), mtime: epochS,
    })
    const suppPath = `/boot/${supplementName(host.hostname)}`
    const image = opts.loaded.profile.image
    const menus = renderMenus({
      plan: host.plan, supplement: suppPath,
      ...(image?.console ? { console: image.console } : {}),
      ...(image?.timeout !== undefined ? { timeoutS: image.timeout } : {}),
      base: { flavor: base.flavor, kernel: base.kernel, initramfs: base.initramfs, ucode: base.ucode, timeouts: readTimeouts(base), serial: readSerial(base.syslinuxCfg) },
      ...(opts.defaultEntry !== undefined ? { defaultEntry: opts.defaultEntry } : {}),
      ...(opts.omitSupplementFrom ? { omitSupplementFrom: opts.omitSupplementFrom } : {}),
    })
    log(`remastering into ${opts.output}`)
    await remasterIso(opts.base, opts.output, [
      { isoPath: `/${host.hostname}.apkovl.tar.gz`, data: opts.probe ? await packApkovl(addProbe(host.files, opts.probe)) : host.apkovl },
      { isoPath: suppPath, data: supp.data },
      { isoPath: '/boot/syslinux/syslinux.cfg', data: Buffer.from(menus.syslinux) },
      { isoPath: '/boot/grub/grub.cfg', data: Buffer.from(menus.grub) },
    ], epochS, work)
    const out = await fs.readFile(opts.output)
    return {
      output: opts.output, sha256: createHash('sha256').update(out).digest('hex'), bytes: out.length, hostname: host.hostname, probe: !!opts.probe,
      base: { release: base.release, volid: base.volid, sha256: base.sha256, flavor: base.flavor },
      supplement: { path: suppPath, kver: supp.kver, modules: supp.modules, bytes: supp.data.length },
      menus: menus.plan,
      timings: { readS: +readS.toFixed(3), buildS: +((performance.now() - started) / 1000 - readS).toFixed(3) },
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true })
  }
}
