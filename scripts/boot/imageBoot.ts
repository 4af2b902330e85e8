/**
 * imageBoot: boots a bootable ISO/USB image (hostbake image's output) through real firmware and its real boot
 * loader, and returns the guest's own verdict, like bootOverlay does for a direct kernel boot.
 *
 *   const r = await bootImage({ image: 'vmhost.iso', firmware: 'uefi', medium: 'usb', machine, expect, workDir, timeoutS: 120 })
 *
 *   firmware  bios: SeaBIOS -> isolinux (boot/syslinux/syslinux.cfg)
 *             uefi: OVMF (Debian's ovmf, a fresh copy of OVMF_VARS per boot) -> GRUB-EFI from efi.img (boot/grub/grub.cfg)
 *   medium    cdrom: -cdrom on q35's AHCI; usb: the image as a raw stick on qemu-xhci + usb-storage (the hybrid MBR/GPT)
 *   expect    the usual expectations plus: the default menu entry's command line (/proc/cmdline must carry it),
 *             the supplementary initramfs's host (or 'none' for the rescue entry), rescue
 * The expectations reach the guest through QEMU's fw_cfg (opt/hostbake/expect): nothing is added to the image.
 * The menu's command line is read from the image itself, so a user's own image is judged by what it says.
 */
import { $ } from 'zx'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { PROBE_MARKER } from '../image/probeOverlay.js'
import { prepareWorkDir, renderBootExpect, type BootExpect, type BootReport } from './bootOverlay.js'
import { readGuestVerdict } from './bootReport.js'
import { withBootSlot } from './bootSchedule.js'
import { renderExpect } from './initramfsBuild.js'
import { runQemu, type QemuMachine } from './qemuBoot.js'

export type Firmware = 'bios' | 'uefi'
export type Medium = 'cdrom' | 'usb'
export const FIRMWARES: readonly Firmware[] = ['bios', 'uefi']
export const MEDIA: readonly Medium[] = ['cdrom', 'usb']

const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd'
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd'

export interface ImageExpect extends BootExpect {
  /** the supplementary initramfs's host name, or 'none' (rescue) */
  supplement: string
  rescue?: boolean
  /** paths the initramfs stage must hold (the override hook when binding by address) */
  initramfsFiles?: string[]
  /** the image's overlay carries hostbake's probe (image --probe): the report is the probe's, never the stand-in init's */
  probe?: boolean
}

export interface ImageBootOptions {
  image: string
  firmware: Firmware
  medium: Medium
  machine: QemuMachine
  expect: ImageExpect
  workDir: string
  timeoutS: number
  keep?: boolean
  log?: (msg: string) => void
  /** the default entry of the menu this firmware reads, when the caller has read it already (readImageMenu) */
  menu?: MenuDefault
}

export interface MenuDefault {
  label: string
  append: string
  initrds: string[]
}

/** The entry a menu boots without a key pressed: syslinux DEFAULT <label>, GRUB `set default=N` (0 if unset). */
export function readMenuDefault(text: string, loader: 'syslinux' | 'grub'): MenuDefault | undefined {
  if (loader === 'syslinux') {
    const def = /^\s*DEFAULT\s+(\S+)/im.exec(text)?.[1]
    const blocks = text.split(/^\s*LABEL\s+/im).slice(1)
    const block = blocks.find((b) => b.split(/\s/)[0] === def) ?? blocks[0]
    if (!block) return undefined
    return {
      label: block.split(/\s/)[0],
      append: /^\s*APPEND\s+(.*)$/im.exec(block)?.[1].trim() ?? '',
      initrds: (/^\s*INITRD\s+(\S+)/im.exec(block)?.[1] ?? '').split(',').filter(Boolean),
    }
  }
  const n = Number(/^\s*set\s+default=(\d+)/m.exec(text)?.[1] ?? 0)
  const entries = [...text.matchAll(/menuentry\s+"([^"]*)"[^{]*\{([^}]*)\}/g)]
  const e = entries[n] ?? entries[0]
  if (!e) return undefined
  const linux = /^\s*linux\s+(\S+)\s*(.*)$/m.exec(e[2])
  return { label: e[1], append: linux?.[2].trim() ?? '', initrds: (/^\s*initrd\s+(.*)$/m.exec(e[2])?.[1] ?? '').trim().split(/\s+/).filter(Boolean) }
}

/** Whether the image's overlay (/<host>.apkovl.tar.gz) carries hostbake's probe (`hostbake image --probe`). */
export async function readImageProbe(image: string, hostname: string, workDir: string): Promise<boolean> {
  const out = path.join(workDir, 'overlay.apkovl.tar.gz')
  const x = await $({ quiet: true, nothrow: true })`xorriso -osirrox on -indev ${image} -extract ${`/${hostname}.apkovl.tar.gz`} ${out}`.timeout('60s')
  if (x.exitCode !== 0 || !existsSync(out)) return false
  const list = await $({ quiet: true, nothrow: true })`tar -tzf ${out}`.timeout('30s')
  return list.stdout.split('\n').includes(PROBE_MARKER)
}

/** The menu the given firmware reads, from the image itself. */
export async function readImageMenu(image: string, firmware: Firmware, workDir: string): Promise<MenuDefault> {
  const [isoPath, loader] = firmware === 'bios' ? ['/boot/syslinux/syslinux.cfg', 'syslinux' as const] : ['/boot/grub/grub.cfg', 'grub' as const]
  const out = path.join(workDir, path.basename(isoPath))
  const r = await $({ quiet: true, nothrow: true })`xorriso -osirrox on -indev ${image} -extract ${isoPath} ${out}`.timeout('60s')
  if (r.exitCode !== 0 || !existsSync(out)) throw new HostbakeError(`--image ${image}: no ${isoPath} in it (${r.stderr.trim().split('\n').slice(-1)[0]})`)
  const menu = readMenuDefault(await fs.readFile(out, 'utf8'), loader)
  if (!menu) throw new HostbakeError(`--image ${image}: ${isoPath} has no boot entry`)
  return menu
}

export function planImageQemu(opts: Pick<ImageBootOptions, 'image' | 'firmware' | 'medium'>, work: string, expectFile: string): string[] {
  const firmware = opts.firmware === 'uefi'
    ? ['-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${path.join(work, 'OVMF_VARS.fd')}`]
    : []
  const medium = opts.medium === 'cdrom'
    ? ['-drive', `file=${opts.image.replace(/,/g, ',,')},format=raw,if=none,id=cd0,media=cdrom,readonly=on`, '-device', 'ide-cd,drive=cd0,bus=ide.0,bootindex=1']
    : ['-device', 'qemu-xhci,id=xhci', '-drive', `file=${opts.image.replace(/,/g, ',,')},format=raw,if=none,id=stick,snapshot=on`, '-device', 'usb-storage,bus=xhci.0,drive=stick,bootindex=1']
  return [...firmware, ...medium, '-fw_cfg', `name=opt/hostbake/expect,file=${expectFile.replace(/,/g, ',,')}`]
}

export function renderImageExpect(opts: ImageBootOptions, cmdline: string): Record<string, string> {
  const e = opts.expect
  return {
    ...renderBootExpect(opts.machine.iommu, e),
    EXPECT_MEDIUM: 'image',
    EXPECT_SUPPLEMENT: e.supplement,
    EXPECT_CMDLINE: cmdline,
    EXPECT_RESCUE: e.rescue ? '1' : '',
    EXPECT_INITRAMFS_FILES: (e.initramfsFiles ?? []).join(' '),
    EXPECT_PROBE: e.probe ? '1' : '',
  }
}

export async function bootImage(opts: ImageBootOptions): Promise<BootReport & { menu: MenuDefault }> {
  return withBootSlot(() => bootImageNow(opts))
}

async function bootImageNow(opts: ImageBootOptions): Promise<BootReport & { menu: MenuDefault }> {
  const started = performance.now()
  const log = opts.log ?? ((m: string) => process.stderr.write(`boot: ${m}\n`))
  if (!existsSync(opts.image)) throw new HostbakeError(`--image ${opts.image}: no such file`)
  const image = path.resolve(opts.image)
  const work = path.resolve(opts.workDir)
  await prepareWorkDir(work)
  const serialLogPath = path.join(work, 'serial.log')
  let ok = false
  try {
    const menu = opts.menu ?? await readImageMenu(image, opts.firmware, work)
    const expectFile = path.join(work, 'expect')
    await fs.writeFile(expectFile, renderExpect(renderImageExpect(opts, menu.append)))
    // every UEFI boot gets its own VARS (OVMF writes boot entries into it; README.Debian of ovmf)
    if (opts.firmware === 'uefi') await fs.copyFile(OVMF_VARS, path.join(work, 'OVMF_VARS.fd'))
    log(`${path.basename(image)}: ${opts.firmware} ${opts.medium}, entry "${menu.label}"`)
    const run = await runQemu({
      machine: opts.machine, sata: opts.medium === 'cdrom', extra: planImageQemu({ ...opts, image }, work, expectFile),
      serialLog: serialLogPath, pidFile: path.join(work, 'qemu.pid'), timeoutS: opts.timeoutS,
    })
    const { guest, passed, failed, ok: pass, tail } = await readGuestVerdict(serialLogPath)
    ok = pass
    const wallS = (performance.now() - started) / 1000
    log(`${path.basename(image)}: ${opts.firmware} ${opts.medium}: ${ok ? 'PASS' : 'FAIL'} ${passed} passed, ${failed} failed (${wallS.toFixed(2)} s)`)
    return {
      ok, checks: guest.checks, passed, failed, sentinel: !!guest.sentinel, timedOut: run.timedOut, panicked: run.panicked, cmdline: menu.append,
      accel: run.accel, kvmFellBack: run.kvmFellBack,
      wallS, qemuWallS: run.qemuWallS, sentinelAtS: run.sentinelAtS, guestUptimeS: guest.guestUptimeS,
      overheadS: guest.guestUptimeS === undefined ? undefined : wallS - guest.guestUptimeS, stages: guest.stages,
      serialLogPath, workDir: opts.keep || !ok ? work : undefined, tail,
      initramfs: { features: [], modules: [], files: opts.expect.initramfsFiles ?? [] },
      ...(guest.snapshot ? { snapshot: guest.snapshot } : {}),
      menu,
    }
  } finally {
    if (ok && !opts.keep) await fs.rm(work, { recursive: true, force: true })
  }
}
