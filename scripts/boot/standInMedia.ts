/**
 * standInMedia: Alpine's boot media rebuilt from the parts CI has, because Alpine's own files cannot be fetched here.
 *
 *   const media = await buildStandInMedia()          // cached in .cache/stand-in/<inputs hash>/, built once
 *   media.iso                                        // alpine-stand-in-x86_64.iso: Alpine's ISO layout and xorriso options
 *   media.netboot.vmlinuz / .initramfs / .modloop    // Alpine's netboot layout (vmlinuz-lts, initramfs-lts, modloop-lts)
 *   await writeStandInMedia('out/')                  // `hostbake boot-test --stand-in-media DIR`
 *
 * Real: Debian's kernel (bzImage, booted by isolinux and GRUB), isolinux/ldlinux from Debian's syslinux, GRUB-EFI made
 * by grub-mkimage with Alpine's module list and early config, efi.img made with mtools, the hybrid ISO made by
 * xorrisofs with mkimage's options (aports scripts/mkimg.base.sh create_image_iso; delivery-facts.md §2, §7a).
 * Stand-ins: boot/initramfs-lts is the harness's initramfs-init stand-in (guest/init.sh) built from the stock
 * feature subsets (ALPINE_ISO_FEATURES; netboot: ALPINE_NETBOOT_FEATURES) with an empty build-host modprobe.d;
 * boot/modloop-lts is a squashfs of a subset of Debian's module tree under modules/<kver>/. No apks/ repository.
 */
import { $ } from 'zx'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { ALPINE_ISO_FEATURES, ALPINE_NETBOOT_FEATURES } from '../alpine/alpineDefaults.js'
import { gzipCpio } from '../image/cpioArchive.js'
import { PACKAGE_ROOT, codeFileOf } from '../shared/packagePaths.js'
import { locateBootKernel, type BootKernel } from './bootKernel.js'
import { INITRAMFS_BUILD_CODE, buildInitramfs } from './initramfsBuild.js'

export const STAND_IN_RELEASE = '3.22.0'
export const STAND_IN_VOLID = `alpine-std ${STAND_IN_RELEASE} x86_64`
export const STAND_IN_ISO_NAME = 'alpine-stand-in-x86_64.iso'
// mkimage's generators (BASE syslinux_gen_config / grub_gen_config, profile_base defaults)
const ALPINE_ISO_APPEND = 'modules=loop,squashfs,sd-mod,usb-storage quiet'
// BASE grub_mod
export const ALPINE_GRUB_MODULES = ['all_video', 'disk', 'part_gpt', 'part_msdos', 'linux', 'normal', 'configfile', 'search',
  'search_label', 'efi_gop', 'fat', 'iso9660', 'cat', 'echo', 'ls', 'test', 'true', 'help', 'gzio', 'multiboot2', 'efi_uga']
const SYSLINUX_FILES = {
  'isolinux.bin': '/usr/lib/ISOLINUX/isolinux.bin',
  'isohdpfx.bin': '/usr/lib/ISOLINUX/isohdpfx.bin',
  'ldlinux.c32': '/usr/lib/syslinux/modules/bios/ldlinux.c32',
  'libutil.c32': '/usr/lib/syslinux/modules/bios/libutil.c32',
  'libcom32.c32': '/usr/lib/syslinux/modules/bios/libcom32.c32',
  'mboot.c32': '/usr/lib/syslinux/modules/bios/mboot.c32',
}
// the module subset: what the test machines' devices, the boot media and the rootfs stage use
const MODLOOP_SUBSET = ['drivers/vfio', 'drivers/usb', 'drivers/virtio', 'drivers/net/ethernet/intel/e1000e', 'drivers/net/ethernet/intel/e1000',
  'drivers/net/tun.ko', 'drivers/net/virtio_net.ko', 'drivers/net/net_failover.ko', 'net/core/failover.ko', 'drivers/block', 'drivers/ata', 'drivers/scsi', 'drivers/cdrom', 'drivers/firmware/qemu_fw_cfg.ko', 'fs/9p', 'fs/fat',
  'fs/nls', 'fs/ext4', 'fs/jbd2', 'fs/mbcache.ko', 'fs/isofs', 'fs/squashfs', 'fs/netfs', 'fs/fscache', 'net/9p', 'net/bridge', 'net/802',
  'net/llc', 'net/packet', 'net/ipv6', 'virt', 'lib', 'crypto', 'block', 'arch/x86/crypto']
// Alpine builds its media with SOURCE_DATE_EPOCH (BASE); so do we: the stand-in is the same bytes every build
const STAND_IN_EPOCH = 1748563200 // 2025-05-30, the day of alpine-standard-3.22.0

export interface StandInMedia {
  iso: string
  netboot: { vmlinuz: string; initramfs: string; modloop: string }
  kver: string
  release: string
  volid: string
}

// this module's code and the initramfs builder's: part of the cache key
const here = codeFileOf(import.meta.url, 'dist/scripts/boot/standInMedia.js')

async function hashInputs(kernel: BootKernel): Promise<string> {
  const h = createHash('sha256')
  const featuresDir = path.join(PACKAGE_ROOT, 'scripts', 'boot', 'features.d')
  const files = [here, INITRAMFS_BUILD_CODE, path.join(PACKAGE_ROOT, 'scripts', 'boot', 'guest', 'init.sh'), path.join(PACKAGE_ROOT, 'scripts', 'boot', 'guest', 'checks.sh'),
    path.join(PACKAGE_ROOT, 'scripts', 'snapshot', 'snapshotCollector.sh'),
    ...(await fs.readdir(featuresDir)).sort().map((f) => path.join(featuresDir, f))]
  for (const f of files) h.update(await fs.readFile(f))
  for (const f of [kernel.probe, vmlinuzOf(kernel), '/bin/busybox', '/usr/bin/kmod', ...Object.values(SYSLINUX_FILES)]) {
    const st = await fs.stat(f)
    h.update(`${f}:${st.size}:${st.mtimeMs}\n`)
  }
  return h.digest('hex').slice(0, 16)
}

const vmlinuzOf = (kernel: BootKernel) => path.join(kernel.root, 'boot', `vmlinuz-${kernel.kver}`)

let building: Promise<StandInMedia> | undefined
/** Builds (once per inputs, cached; once per process) the stand-in ISO and netboot files. */
export function buildStandInMedia(cacheDir = path.join(PACKAGE_ROOT, '.cache')): Promise<StandInMedia> {
  building ??= buildNow(cacheDir)
  building.catch(() => { building = undefined })
  return building
}

async function buildNow(cacheDir: string): Promise<StandInMedia> {
  const kernel = locateBootKernel(cacheDir)
  const dir = path.join(cacheDir, 'stand-in', await hashInputs(kernel))
  const media: StandInMedia = {
    iso: path.join(dir, STAND_IN_ISO_NAME),
    netboot: { vmlinuz: path.join(dir, 'netboot', 'vmlinuz-lts'), initramfs: path.join(dir, 'netboot', 'initramfs-lts'), modloop: path.join(dir, 'netboot', 'modloop-lts') },
    kver: kernel.kver, release: STAND_IN_RELEASE, volid: STAND_IN_VOLID,
  }
  if (existsSync(path.join(dir, '.ready'))) {
    // marks it in use for pruneStandIns
    const t = new Date()
    await fs.utimes(dir, t, t).catch(() => {})
    return media
  }
  process.stderr.write(`hostbake: building the stand-in Alpine media in ${dir} (once)\n`)
  await fs.rm(dir, { recursive: true, force: true })
  const tmp = `${dir}.${process.pid}.tmp`
  await fs.rm(tmp, { recursive: true, force: true })
  try {
    const iso = path.join(tmp, 'isoroot')
    await fs.mkdir(path.join(iso, 'boot', 'syslinux'), { recursive: true })
    await fs.mkdir(path.join(iso, 'boot', 'grub'), { recursive: true })
    await fs.mkdir(path.join(iso, 'efi', 'boot'), { recursive: true })
    await fs.mkdir(path.join(tmp, 'netboot'), { recursive: true })
    // --- kernel section (update-kernel --media): vmlinuz, initramfs, modloop, config, System.map
    await fs.copyFile(vmlinuzOf(kernel), path.join(iso, 'boot', 'vmlinuz-lts'))
    await fs.copyFile(path.join(kernel.root, 'boot', `config-${kernel.kver}`), path.join(iso, 'boot', 'config-lts'))
    await fs.copyFile(path.join(kernel.root, 'boot', `System.map-${kernel.kver}`), path.join(iso, 'boot', 'System.map-lts'))
    await buildStockImage(kernel, ALPINE_ISO_FEATURES, path.join(iso, 'boot', 'initramfs-lts'), path.join(tmp, 'stage-iso'))
    await buildModloop(kernel, path.join(iso, 'boot', 'modloop-lts'), path.join(tmp, 'stage-modloop'))
    // --- syslinux section (BASE build_syslinux, syslinux_gen_config)
    for (const [name, src] of Object.entries(SYSLINUX_FILES)) await fs.copyFile(src, path.join(iso, 'boot', 'syslinux', name))
    await fs.writeFile(path.join(iso, 'boot', 'syslinux', 'syslinux.cfg'),
      `TIMEOUT 10\nPROMPT 1\nDEFAULT lts\n\nLABEL lts\n\tMENU LABEL Linux lts\n\tKERNEL /boot/vmlinuz-lts\n\tINITRD /boot/initramfs-lts\n\tFDTDIR /boot/dtbs-lts\n\tAPPEND ${ALPINE_ISO_APPEND}\n`)
    // --- grub section (BASE grub_gen_config, build_grub_efi with grub_gen_earlyconf)
    await fs.writeFile(path.join(iso, 'boot', 'grub', 'grub.cfg'),
      `set timeout=1\n\nmenuentry "Linux lts" {\n\tlinux\t/boot/vmlinuz-lts ${ALPINE_ISO_APPEND}\n\tinitrd\t/boot/initramfs-lts\n}\n`)
    const early = path.join(tmp, 'grub_early.cfg')
    await fs.writeFile(early, `search --no-floppy --set=root --label "${STAND_IN_VOLID}"\nset prefix=($root)/boot/grub\n`)
    await $({ quiet: true })`grub-mkimage --config=${early} --prefix=/boot/grub --output=${path.join(iso, 'efi', 'boot', 'bootx64.efi')} --format=x86_64-efi --compression=xz ${ALPINE_GRUB_MODULES}`.timeout('60s')
    // --- efi.img (BASE create_image_iso): a 1.44 MB FAT holding efi/boot/bootx64.efi
    const efiImg = path.join(iso, 'boot', 'grub', 'efi.img')
    const env = { ...process.env, SOURCE_DATE_EPOCH: String(STAND_IN_EPOCH), MTOOLS_SKIP_CHECK: '1' }
    await $({ quiet: true, env })`mformat -i ${efiImg} -C -f 1440 -N 0 ::`.timeout('20s')
    await $({ quiet: true, env })`mcopy -i ${efiImg} -s -m ${path.join(iso, 'efi')} ::`.timeout('20s')
    await fs.writeFile(path.join(iso, '.alpine-release'), `alpine-standard-${STAND_IN_RELEASE} 250530\n`)
    // --- the hybrid ISO, mkimage's xorrisofs options
    await $({ quiet: true, env })`xorrisofs -quiet -output ${path.join(tmp, STAND_IN_ISO_NAME)} -full-iso9660-filenames -joliet -rational-rock -sysid LINUX -volid ${STAND_IN_VOLID} -isohybrid-mbr ${path.join(iso, 'boot', 'syslinux', 'isohdpfx.bin')} -eltorito-boot boot/syslinux/isolinux.bin -eltorito-catalog boot/syslinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table -eltorito-alt-boot -e boot/grub/efi.img -no-emul-boot -isohybrid-gpt-basdat -follow-links ${iso}`.timeout('120s')
    // --- netboot (mkimg.netboot.sh): vmlinuz, its own initramfs features, the same modloop
    await fs.copyFile(path.join(iso, 'boot', 'vmlinuz-lts'), path.join(tmp, 'netboot', 'vmlinuz-lts'))
    await fs.copyFile(path.join(iso, 'boot', 'modloop-lts'), path.join(tmp, 'netboot', 'modloop-lts'))
    await buildStockImage(kernel, ALPINE_NETBOOT_FEATURES, path.join(tmp, 'netboot', 'initramfs-lts'), path.join(tmp, 'stage-netboot'))
    await fs.rm(iso, { recursive: true, force: true })
    await fs.writeFile(path.join(tmp, '.ready'), '')
    await fs.rename(tmp, dir).catch(async (err) => {
      // another process finished the same build first: use theirs
      if (!existsSync(path.join(dir, '.ready'))) throw err
      await fs.rm(tmp, { recursive: true, force: true })
    })
    await pruneStandIns(path.dirname(dir), dir)
    return media
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true })
    throw err
  }
}

/** Stand-in media of older inputs (~60 MB each; every harness change makes new ones) go, unless used within the
 *  hour: another process may be booting from them. */
export async function pruneStandIns(parent: string, keep: string, now = Date.now()): Promise<string[]> {
  const gone: string[] = []
  for (const name of await fs.readdir(parent)) {
    const dir = path.join(parent, name)
    if (dir === keep || name.endsWith('.tmp')) continue
    const st = await fs.stat(dir).catch(() => undefined)
    if (!st?.isDirectory() || now - st.mtimeMs < 3600_000) continue
    await fs.rm(dir, { recursive: true, force: true })
    gone.push(dir)
  }
  return gone
}

/** A stock media initramfs: the stand-in init over these features, no overlay, no expectations, gzip (mkinitfs' default). */
export async function buildStockImage(kernel: BootKernel, features: readonly string[], output: string, stageDir: string): Promise<void> {
  const empty = `${stageDir}-overlay`
  await fs.mkdir(empty, { recursive: true })
  const cpio = `${output}.cpio`
  await buildInitramfs({ kernel, overlayDir: empty, stageDir, output: cpio, stock: features })
  await fs.writeFile(output, await gzipCpio(await fs.readFile(cpio)))
  await fs.rm(cpio)
  await fs.rm(empty, { recursive: true, force: true })
  await fs.rm(stageDir, { recursive: true, force: true })
}

/** Alpine's modloop: a squashfs (xz, as update-kernel makes it) holding modules/<kver>/ with depmod's index. */
async function buildModloop(kernel: BootKernel, output: string, stage: string): Promise<void> {
  const kdir = path.join(stage, 'lib', 'modules', kernel.kver)
  for (const rel of MODLOOP_SUBSET) {
    // a single module may be compressed in the boot tree (.ko.zst, .ko.xz): take it as the tree names it
    const found = (rel.endsWith('.ko') ? ['', '.zst', '.xz', '.gz'] : ['']).map((ext) => `${rel}${ext}`)
      .find((r) => existsSync(path.join(kernel.modulesDir, 'kernel', r)))
    if (found) await fs.cp(path.join(kernel.modulesDir, 'kernel', found), path.join(kdir, 'kernel', found), { recursive: true })
  }
  for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) await fs.copyFile(path.join(kernel.modulesDir, f), path.join(kdir, f))
  await $({ quiet: true })`depmod -b ${stage} ${kernel.kver}`.timeout('60s')
  const env = { ...process.env, SOURCE_DATE_EPOCH: String(STAND_IN_EPOCH) }
  await $({ quiet: true, env })`mksquashfs ${path.join(stage, 'lib')} ${output} -noappend -comp xz -all-root -quiet`.timeout('300s')
  await fs.rm(stage, { recursive: true, force: true })
}

/** `hostbake boot-test --stand-in-media DIR`: DIR/alpine-stand-in-x86_64.iso and DIR/netboot/{vmlinuz,initramfs,modloop}-lts. */
export async function writeStandInMedia(outDir: string, cacheDir?: string): Promise<StandInMedia> {
  const media = await buildStandInMedia(cacheDir)
  await fs.mkdir(path.join(outDir, 'netboot'), { recursive: true })
  const out: StandInMedia = {
    ...media,
    iso: path.join(outDir, STAND_IN_ISO_NAME),
    netboot: { vmlinuz: path.join(outDir, 'netboot', 'vmlinuz-lts'), initramfs: path.join(outDir, 'netboot', 'initramfs-lts'), modloop: path.join(outDir, 'netboot', 'modloop-lts') },
  }
  await fs.copyFile(media.iso, out.iso)
  for (const k of ['vmlinuz', 'initramfs', 'modloop'] as const) await fs.copyFile(media.netboot[k], out.netboot[k])
  return out
}
