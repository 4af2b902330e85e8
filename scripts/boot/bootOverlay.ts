/**
 * bootOverlay: boots one apkovl in QEMU with an emulated IOMMU and returns the guest's own verdict.
 *
 *   const report = await bootOverlay({
 *     apkovl: 'out/host1.apkovl.tar.gz',
 *     machine: { iommu: 'intel', devices: ['ich9-usb-uhci1,addr=1d.0,multifunction=on', 'ich9-usb-uhci2,addr=1d.1'] },
 *     expect: { vfioIds: ['8086:2934', '8086:2935'], vfioAddresses: [], groups: [['0000:00:1d.0', '0000:00:1d.1']] },
 *     workDir: '/tmp/hb-boot-host1', timeoutS: 30,
 *   })
 *
 * Options
 *   apkovl      path to `<host>.apkovl.tar.gz`
 *   cmdline     kernel command line; default: formed from the overlay's etc/update-extlinux.conf as update-extlinux
 *               writes APPEND (`root=$root modules=$modules $default_kernel_opts`), else Alpine's ISO default
 *               (`modules=loop,squashfs,sd-mod,usb-storage quiet`); the harness's options (harnessCmdline) are appended
 *   machine     iommu: 'intel' (intel-iommu,intremap=on,caching-mode=on) | 'amd' (amd-iommu) | 'none';
 *               devices: verbatim QEMU -device arguments
 *   expect      vfioIds (vvvv:dddd bound through ids=), vfioAddresses (bound through driver_override),
 *               groups (each inner list is exactly one IOMMU group), drivers (address -> driver that must hold it)
 *   medium      'root' (default: a sys install; an ext4 root disk (virtio-blk) holding the overlay, mounted by root=, see
 *               rootDisk.ts), 'disk' (diskless: the apkovl at the top level of a vfat boot disk (virtio-blk), found by
 *               scanning block devices) or 'initrd' (the apkovl rides inside the initramfs, found as /hostbake/root/*)
 *   workDir     emptied first; removed after a pass unless keep; after a failure it keeps serial.log, qemu.cmd
 *               (the exact command, to rerun by hand), initrd.cpio and the unpacked overlay
 *   timeoutS    wall-clock bound for the QEMU run
 *   keep        keep workDir even on a pass
 *   log         progress sink (stage + elapsed); default: stderr
 *
 * Concurrency: each call holds one machine-wide boot slot (~/.cache/hostbake/slots, default: core count, override with
 * HOSTBAKE_BOOT_JOBS), so calls may be fired all at once, from several processes. SIGINT/SIGTERM while QEMU runs:
 * every QEMU is SIGKILLed and reaped, then the process exits 130/143.
 *
 * Returns a BootReport: ok is true only when the guest printed its sentinel with 0 failed and at least one check.
 * timedOut / panicked / sentinel tell why not; tail holds the serial log's last lines whenever ok is false.
 * Timings: wallS (whole call, without waiting for a boot slot), guestUptimeS (guest uptime at its report),
 * overheadS = wallS - guestUptimeS (initramfs build, QEMU/firmware start-up, teardown).
 * The kernel is Debian's (ci/setup-boot.sh); the Alpine boot emulation lives in test/boot/ (see its README).
 */
import { readGrubAppend } from './grubCmdline.js'
import { $ } from 'zx'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { buildInitramfs } from './initramfsBuild.js'
import { ALPINE_ISO_FEATURES } from '../alpine/alpineDefaults.js'
import { HostbakeError } from '../shared/hostbakeError.js'
import type { BootKernel } from './bootKernel.js'
import { readGuestVerdict, type BootCheck } from './bootReport.js'
import { withBootSlot } from './bootSchedule.js'
import { runQemu, type IommuKind, type QemuMachine } from './qemuBoot.js'
import { buildRootDisk, planRootDisk } from './rootDisk.js'

export interface BootExpect {
  vfioIds: string[]
  vfioAddresses: string[]
  groups?: string[][]
  drivers?: Record<string, string>
  /** the host bridge that must be up with these ports enslaved (after ifupdown-ng's ifup -a) */
  bridge?: { name: string; ports: string[] }
  /** modules that must be loaded (or built in) once the boot runlevel ran */
  loaded?: string[]
  /** the overlay's own sysinit services that must run before hwdrivers (their depend() must say so) */
  beforeHwdrivers?: string[]
  /** run hostbake's snapshot collector in the guest and return its JSON (BootReport.snapshot) */
  snapshot?: boolean
}

/** The expectations every boot hands the guest's checks (guest/checks.sh), whatever the medium: each boot adds
 *  its own (EXPECT_MEDIUM, what its medium must show). One place, so no medium misses a check. */
export function renderBootExpect(iommu: IommuKind, e: BootExpect): Record<string, string> {
  return {
    EXPECT_IOMMU: iommu,
    EXPECT_IDS: e.vfioIds.map((i) => i.toLowerCase()).join(' '),
    EXPECT_ADDRS: e.vfioAddresses.map((a) => a.toLowerCase()).join(' '),
    EXPECT_GROUPS: (e.groups ?? []).map((g) => g.join(',')).join(' '),
    EXPECT_DRIVERS: Object.entries(e.drivers ?? {}).map(([a, d]) => `${a}=${d}`).join(' '),
    EXPECT_BRIDGE: e.bridge?.name ?? '',
    EXPECT_BRIDGE_PORTS: (e.bridge?.ports ?? []).join(' '),
    EXPECT_LOADED: (e.loaded ?? []).join(' '),
    EXPECT_SNAPSHOT: e.snapshot ? '1' : '',
    EXPECT_BEFORE_HWDRIVERS: (e.beforeHwdrivers ?? []).join(' '),
  }
}

export interface BootOptions {
  apkovl: string
  cmdline?: string
  machine: QemuMachine
  expect: BootExpect
  medium?: 'root' | 'initrd' | 'disk'
  workDir: string
  timeoutS: number
  keep?: boolean
  log?: (msg: string) => void
  /** the harness's Debian kernel (locateBootKernel) or a user's own (prepareUserKernel) */
  kernel: BootKernel
  /** diskless: boot Alpine's stock media initramfs (ALPINE_ISO_FEATURES, no overlay mkinitfs.conf/features.d/modprobe.d),
   *  followed by this supplementary initramfs (gzip'd newc, supplementInitramfs) when given */
  stock?: { supplement?: { data: Buffer; hostname: string } }
  /** boot as the harness did before its speed levers (ASLR on, no initcall blacklist): the bench's baseline only */
  baseline?: boolean
}

export interface BootReport {
  ok: boolean
  checks: BootCheck[]
  passed: number
  failed: number
  /** the guest printed its sentinel line */
  sentinel: boolean
  timedOut: boolean
  /** accelerator of the verdict; kvmFellBack: KVM was asked for, hung silent, and TCG redid the boot */
  accel: 'kvm' | 'tcg'
  kvmFellBack: boolean
  /** the guest kernel panicked */
  panicked: boolean
  cmdline: string
  wallS: number
  qemuWallS: number
  /** QEMU start to the guest's sentinel */
  sentinelAtS?: number
  guestUptimeS?: number
  overheadS?: number
  /** guest uptime at each stage the guest announced (initramfs, apkovl, rootfs, modloop, modules, checks, ...) */
  stages: Record<string, number>
  serialLogPath: string
  /** kept work folder, when kept */
  workDir?: string
  /** serial log tail when the verdict is not a clean pass */
  tail?: string
  initramfs: { features: string[]; modules: string[]; files: string[] }
  /** the guest's own snapshot (collector JSON), when expect.snapshot asked for it */
  snapshot?: string
}

// console on the serial port; no_timer_check: under TCG with a busy host the IO-APIC timer check can fail, and
// with interrupt remapping on that is a panic ("timer doesn't work through Interrupt-remapped IO-APIC");
// cryptomgr.notests: the crypto self-tests cost ~0.4 s of TCG time and prove nothing about VFIO;
// initcall_blacklist: built-in initcalls that only self-test or register what no check uses, ~0.6 s of TCG time
// by initcall_debug (the SP800-108 KDF self-test 0.38 s, the "encrypted" key type 0.14 s, kprobe trace events 0.09 s)
/** the harness as it booted before its speed levers (initcall blacklist, ASLR off): the bench's baseline */
const baselineCmdline = 'console=ttyS0 no_timer_check cryptomgr.notests'
const harnessCmdline = `${baselineCmdline} initcall_blacklist=crypto_kdf108_init,init_encrypted,init_kprobe_trace`
const alpineIsoCmdline = 'modules=loop,squashfs,sd-mod,usb-storage quiet'

/** update-extlinux: `root=$root modules=${modules}${TYPE:+,$TYPE} $default_kernel_opts` (conf sourced as shell). */
export async function readExtlinuxAppend(overlayDir: string): Promise<string | undefined> {
  const conf = path.join(overlayDir, 'etc/update-extlinux.conf')
  if (!existsSync(conf)) return readGrubAppend(overlayDir) // a GRUB host: /etc/default/grub, as 10_linux reads it
  // TYPE is only auto-detected (blkid) when root is empty, which needs the real disk: left empty here
  const script = 'default=0 timeout=5 verbose=0; . "$1"; printf "root=%s modules=%s %s" "$root" "$modules" "$default_kernel_opts"'
  const out = await $({ quiet: true })`sh -c ${script} sh ${conf}`.timeout('5s')
  return out.stdout
}

// The work folder emptied, never removed and made again (between the two a planted symlink could take its
// name); rm of a symlink inside removes the link, not what it points to.
export async function prepareWorkDir(work: string, subdirs: readonly string[] = []): Promise<void> {
  await fs.mkdir(work, { recursive: true, mode: 0o700 })
  for (const e of await fs.readdir(work)) await fs.rm(path.join(work, e), { recursive: true, force: true })
  for (const d of subdirs) await fs.mkdir(path.join(work, d))
}

export async function bootOverlay(opts: BootOptions): Promise<BootReport> {
  return withBootSlot(() => bootOverlayNow(opts))
}

async function bootOverlayNow(opts: BootOptions): Promise<BootReport> {
  const started = performance.now()
  const log = opts.log ?? ((m: string) => process.stderr.write(`boot: ${m}\n`))
  const elapsed = () => ((performance.now() - started) / 1000).toFixed(2)
  const medium = opts.medium ?? 'root'
  const kernel = opts.kernel
  if (!existsSync(opts.apkovl)) throw new HostbakeError(`no such apkovl: ${opts.apkovl}`)
  const apkovl = path.resolve(opts.apkovl)
  const work = path.resolve(opts.workDir)
  await prepareWorkDir(work, ['overlay'])
  const serialLogPath = path.join(work, 'serial.log')
  let ok = false
  try {
    // --- unpack on the host: mkinitfs and update-extlinux read the overlay's files
    await $({ quiet: true })`tar -xzf ${apkovl} -C ${path.join(work, 'overlay')}`.timeout('20s')
    const overlayDir = path.join(work, 'overlay')
    // Alpine's kernel defaults first (later parameters win), for the harness's Debian kernel only (kernelDefaults.ts)
    const defaults = kernel.cmdlineDefaults ? `${kernel.cmdlineDefaults} ` : ''
    let base = opts.cmdline ?? (await readExtlinuxAppend(overlayDir)) ?? alpineIsoCmdline
    const rootDisk = medium === 'root' ? planRootDisk(base, path.basename(apkovl)) : undefined
    if (rootDisk) {
      base = rootDisk.cmdline
      if (rootDisk.note) log(`${path.basename(apkovl)}: ${rootDisk.note}`)
    }
    const cmdline = `${defaults}${base} ${opts.baseline ? baselineCmdline : harnessCmdline}`
    log(`${path.basename(apkovl)}: initramfs (${elapsed()} s)`)
    const modloopRoot = kernel.modloopRoot ?? path.dirname(kernel.modulesDir)
    const modloopPath = (modulesDir: string) => path.relative(modloopRoot, path.dirname(modulesDir)) || '.'
    const expect = {
      ...renderBootExpect(opts.machine.iommu, opts.expect),
      EXPECT_MEDIUM: medium,
      // the modules/ folder each rootfs modprobe reads, inside the modloop share
      EXPECT_MODLOOP_KMOD: modloopPath(kernel.modulesDir),
      EXPECT_MODLOOP_BUSYBOX: modloopPath(kernel.busyboxModulesDir ?? kernel.modulesDir),
      HARNESS_ASLR: opts.baseline ? '1' : '',
      EXPECT_SUPPLEMENT: opts.stock ? opts.stock.supplement?.hostname ?? path.basename(apkovl).replace(/\.apkovl\.tar\.gz$/, '') : '',
    }
    const initrd = path.join(work, 'initrd.cpio')
    const built = await buildInitramfs({
      kernel, overlayDir, stageDir: path.join(work, 'initramfs'), output: initrd, expect,
      embedApkovl: medium === 'initrd' ? apkovl : undefined,
      ...(opts.stock ? { stock: ALPINE_ISO_FEATURES } : {}),
    })
    // the kernel unpacks concatenated archives in order, later files replacing earlier ones (as with two initrds)
    if (opts.stock?.supplement) await fs.appendFile(initrd, opts.stock.supplement.data)
    const extra: string[] = []
    if (rootDisk) {
      // sys install: the root disk the overlay's root= names (virtio-blk, found through the initramfs' virtio feature)
      const img = path.join(work, 'root.img')
      await buildRootDisk(overlayDir, img, rootDisk)
      extra.push('-drive', `file=${img},format=raw,if=none,id=rootdisk,snapshot=on`, '-device', 'virtio-blk-pci,drive=rootdisk')
    }
    if (medium === 'disk') {
      // diskless: a FAT boot disk with the apkovl at its top level (mtools: no loop mount, no root)
      const img = path.join(work, 'medium.img')
      await $({ quiet: true })`mkfs.vfat -C -n HOSTBAKE ${img} 8192`.timeout('10s')
      await $({ quiet: true })`mcopy -i ${img} ${apkovl} ::/`.timeout('10s')
      extra.push('-drive', `file=${img},format=raw,if=none,id=bootmedium,snapshot=on`, '-device', 'virtio-blk-pci,drive=bootmedium')
    }
    // modloop stand-in: the kernel's whole module tree, read-only over virtio-9p (auto-assigned slot, after the test's devices)
    extra.push('-fsdev', `local,id=modloop,path=${modloopRoot.replace(/,/g, ',,')},security_model=none,readonly=on`,
      '-device', 'virtio-9p-pci,fsdev=modloop,mount_tag=modloop')
    log(`${path.basename(apkovl)}: qemu (${elapsed()} s)`)
    const run = await runQemu({
      machine: opts.machine, kernel: kernel.vmlinux, initrd, append: cmdline, extra,
      serialLog: serialLogPath, pidFile: path.join(work, 'qemu.pid'), timeoutS: opts.timeoutS,
    })
    const { guest, passed, failed, ok: pass, tail } = await readGuestVerdict(serialLogPath)
    ok = pass
    const wallS = (performance.now() - started) / 1000
    log(`${path.basename(apkovl)}: ${ok ? 'PASS' : 'FAIL'} ${passed} passed, ${failed} failed (${wallS.toFixed(2)} s)`)
    const keepWork = opts.keep || !ok
    return {
      ok, checks: guest.checks, passed, failed, sentinel: !!guest.sentinel, timedOut: run.timedOut, panicked: run.panicked, cmdline,
      accel: run.accel, kvmFellBack: run.kvmFellBack,
      wallS, qemuWallS: run.qemuWallS, sentinelAtS: run.sentinelAtS, guestUptimeS: guest.guestUptimeS,
      overheadS: guest.guestUptimeS === undefined ? undefined : wallS - guest.guestUptimeS, stages: guest.stages,
      serialLogPath, workDir: keepWork ? work : undefined,
      tail,
      initramfs: { features: built.features, modules: built.modules, files: built.files },
      ...(guest.snapshot ? { snapshot: guest.snapshot } : {}),
    }
  } finally {
    if (ok && !opts.keep) await fs.rm(work, { recursive: true, force: true })
    else if (!ok) {
      // keep only what explains the failure: the serial log and the unpacked overlay, not the 10 MB initramfs
      await fs.rm(path.join(work, 'initramfs'), { recursive: true, force: true }).catch(() => {})
    }
  }
}

