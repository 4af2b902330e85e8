// hostbake image without booting: what the remastered ISO holds (read back by xorriso), both menus (parsed as
// the loaders read them), reproducibility, and every input error (exit 2, nothing written).
import test from 'ava'
import { $ } from 'zx'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { readMenuDefault } from '../../scripts/boot/imageBoot.js'
import { renderMenus } from '../../scripts/image/menuRender.js'
import { bakeHost, parseProfileText } from '../../scripts/hostPipeline.js'
import { runCli, tempDir } from '../testSupport.js'
import { IMAGE_PROFILE, makeImage, standIn, vmhost } from './imageSupport.js'

test.before(async () => {
  await standIn() // once per cache: about a minute the first time
})

async function extract(iso: string, isoPath: string, dir: string): Promise<string> {
  const out = path.join(dir, path.basename(isoPath))
  await $({ quiet: true })`xorriso -osirrox on -indev ${iso} -extract ${isoPath} ${out}`
  return fs.readFile(out, 'utf8')
}

test('the image holds the overlay at the top level, the supplement after Alpine\'s initramfs in both menus, Alpine\'s boot setup', async (t) => {
  const dir = await tempDir(t)
  const r = await makeImage(dir, 'vmhost')
  const media = await standIn()
  const report = await $({ quiet: true })`xorriso -indev ${r.output} -report_el_torito plain -report_system_area plain -pvd_info -find / -maxdepth 1 -type f -- -find /boot -maxdepth 1 -type f`
  const out = report.stdout
  t.regex(out, /^'\/vmhost\.apkovl\.tar\.gz'$/m)
  t.regex(out, /^'\/boot\/hostbake-vmhost\.cpio\.gz'$/m)
  t.regex(out, /^El Torito boot img\s*:\s*1\s+BIOS/m)
  t.regex(out, /^El Torito img path\s*:\s*1\s+\/boot\/syslinux\/isolinux\.bin$/m)
  t.regex(out, /^El Torito boot img\s*:\s*2\s+UEFI/m)
  t.regex(out, /^El Torito img path\s*:\s*2\s+\/boot\/grub\/efi\.img$/m)
  t.regex(out, /^MBR partition path\s*:\s*2\s+\/boot\/grub\/efi\.img$/m, 'isohybrid: the EFI partition a USB stick boots from')
  t.regex(out, /^Volume Id\s*:\s*alpine-std 3\.22\.0 x86_64$/m, 'GRUB\'s early config searches Alpine\'s volume id')
  const baseDates = (await $({ quiet: true })`xorriso -indev ${media.iso} -pvd_info`).stdout.match(/^Creation Time.*$/m)?.[0]
  t.is(out.match(/^Creation Time.*$/m)?.[0], baseDates, 'the base\'s volume date (its blkid UUID) is kept')
  // both menus, read the way the loaders pick the default entry
  const sys = readMenuDefault(await extract(r.output, '/boot/syslinux/syslinux.cfg', dir), 'syslinux')!
  const grub = readMenuDefault(await extract(r.output, '/boot/grub/grub.cfg', dir), 'grub')!
  for (const m of [sys, grub]) {
    t.deepEqual(m.initrds, ['/boot/initramfs-lts', '/boot/hostbake-vmhost.cpio.gz'])
    t.regex(m.append, /(^| )modules=loop,squashfs,sd-mod,usb-storage,vfio,vfio-pci,vfio_iommu_type1( |$)/)
    for (const o of ['intel_iommu=on', 'iommu=pt', 'console=ttyS0,115200']) t.true(m.append.split(' ').includes(o), o)
  }
  t.is(sys.append, grub.append, 'one command line in both menus')
  // the supplement itself: gzip'd newc, read by GNU cpio
  const supp = path.join(dir, 'supp.cpio.gz')
  await $({ quiet: true })`xorriso -osirrox on -indev ${r.output} -extract /boot/hostbake-vmhost.cpio.gz ${supp}`
  const list = (await $({ quiet: true })`sh -c ${'gzip -dc "$1" | cpio -t --quiet'} sh ${supp}`).stdout
  t.regex(list, /lib\/modules\/[^/]+\/kernel\/drivers\/vfio\/pci\/vfio-pci\.ko/)
  t.regex(list, /^etc\/modprobe\.d\/vfio\.conf$/m)
  t.regex(list, /^etc\/hostbake\/vfio-override\.sh$/m)
})

test('two builds of one profile on one base are byte-identical, whatever the time, time zone and umask', async (t) => {
  const dir = await tempDir(t)
  const a = await makeImage(dir, 'a')
  await new Promise((r) => setTimeout(r, 1100))
  const b = await makeImage(dir, 'b')
  t.is(a.sha256, b.sha256)
  t.true((await fs.readFile(a.output)).equals(await fs.readFile(b.output)))
  // the CLI in another process, another time zone, a umask that would strip read bits, into a new folder
  const media = await standIn()
  const c = path.join(dir, 'sub', 'c.iso')
  const cli = (await import('../testSupport.js')).CLI
  await $({ quiet: true, env: { ...process.env, TZ: 'Pacific/Kiritimati' } })`sh -c ${'umask 077 && exec "$0" "$@"'} ${process.execPath} ${cli} image ${IMAGE_PROFILE} --base ${media.iso} -o ${c}`
  t.true((await fs.readFile(c)).equals(await fs.readFile(a.output)))
})

test('menus: the rescue entry has no vfio, no IOMMU options, no supplement; timeouts default to the base\'s', async (t) => {
  const loaded = await vmhost()
  const host = await bakeHost(loaded)
  const base = { flavor: 'lts', kernel: '/boot/vmlinuz-lts', initramfs: '/boot/initramfs-lts', ucode: ['/boot/intel-ucode.img', '/boot/amd-ucode.img'], timeouts: { syslinux: 10, grub: 1 } }
  const m = renderMenus({ plan: host.plan, base, supplement: '/boot/hostbake-vmhost.cpio.gz', console: 'ttyS0,115200' })
  const rescue = readMenuDefault(m.syslinux.replace(/^DEFAULT .*$/m, 'DEFAULT rescue'), 'syslinux')!
  t.deepEqual(rescue.initrds, ['/boot/intel-ucode.img', '/boot/amd-ucode.img', '/boot/initramfs-lts'], 'microcode first, as Alpine lists it; no supplement')
  t.regex(rescue.append, /^modules=loop,squashfs,sd-mod,usb-storage /)
  for (const bad of ['vfio', 'intel_iommu', 'iommu=pt']) t.false(rescue.append.includes(bad), bad)
  t.true(rescue.append.split(' ').includes('hostbake.rescue'))
  const host0 = readMenuDefault(m.grub, 'grub')!
  t.deepEqual(host0.initrds, ['/boot/intel-ucode.img', '/boot/amd-ucode.img', '/boot/initramfs-lts', '/boot/hostbake-vmhost.cpio.gz'])
  t.regex(m.syslinux, /^TIMEOUT 10$/m)
  t.regex(m.syslinux, /^PROMPT 1$/m)
  t.regex(m.grub, /^set timeout=1$/m)
  const zero = renderMenus({ plan: host.plan, base, supplement: '/boot/x.cpio.gz', timeoutS: 0 })
  t.regex(zero.syslinux, /^TIMEOUT 0\nPROMPT 0$/m, 'TIMEOUT 0 with PROMPT 1 would wait forever')
  t.regex(zero.grub, /^set timeout=0$/m)
  const omit = renderMenus({ plan: host.plan, base, supplement: '/boot/x.cpio.gz', omitSupplementFrom: 'grub' })
  t.false(omit.grub.includes('/boot/x.cpio.gz'))
  t.true(omit.syslinux.includes('/boot/x.cpio.gz'))
})

test('input errors exit 2 and write nothing: not an ISO, a wrong checksum, another release, a sys profile, a layout without modloop', async (t) => {
  const dir = await tempDir(t)
  const media = await standIn()
  const out = path.join(dir, 'out.iso')
  const notIso = path.join(dir, 'not.iso')
  await fs.writeFile(notIso, 'hello')
  const cases: [string[], RegExp][] = [
    [['--base', notIso], /not an ISO 9660 image/],
    [['--base', media.iso, '--sha256', '0'.repeat(64)], /sha256 is [0-9a-f]{64}, --sha256 says 0{64}/],
    [['--base', media.iso, '--sha256', 'xyz'], /expected 64 hex digits/],
  ]
  for (const [args, re] of cases) {
    const r = await runCli(['image', IMAGE_PROFILE, ...args, '-o', out])
    t.is(r.code, 2, r.stderr)
    t.regex(r.stderr, re)
    t.false(existsSync(out))
  }
  // Alpine's published <iso>.sha256 next to the ISO is checked too
  const copy = path.join(dir, 'alpine.iso')
  await fs.copyFile(media.iso, copy)
  await fs.writeFile(`${copy}.sha256`, `${'1'.repeat(64)}  alpine.iso\n`)
  const side = await runCli(['image', IMAGE_PROFILE, '--base', copy, '-o', out])
  t.is(side.code, 2)
  t.regex(side.stderr, /alpine\.iso\.sha256 says 1{64}/)
  // a profile for another release names both
  const other = path.join(dir, 'other.yaml')
  await fs.writeFile(other, (await fs.readFile(IMAGE_PROFILE, 'utf8')).replace('install: diskless', 'install: diskless\nalpine: { release: "3.21" }'))
  const rel = await runCli(['image', other, '--base', media.iso, '-o', out])
  t.is(rel.code, 2)
  t.regex(rel.stderr, /alpine\.release is 3\.21, but .* is Alpine 3\.22\.0 \(\.alpine-release: "alpine-standard-3\.22\.0 250530"\)/)
  const sys = path.join(dir, 'sys.yaml')
  await fs.writeFile(sys, (await fs.readFile(IMAGE_PROFILE, 'utf8')).replace('install: diskless', 'install: sys'))
  const s = await runCli(['image', sys, '--base', media.iso, '-o', out])
  t.is(s.code, 2)
  t.regex(s.stderr, /sys\.yaml:\d+:\d+ install: hostbake image makes a boot medium for a host that runs from RAM/)
  // an ISO with Alpine's release file but no kernel, modloop or boot images
  const tree = path.join(dir, 'tree')
  await fs.mkdir(path.join(tree, 'boot'), { recursive: true })
  await fs.writeFile(path.join(tree, '.alpine-release'), 'alpine-standard-3.22.0 250530\n')
  await fs.writeFile(path.join(tree, 'boot', 'vmlinuz-lts'), 'k')
  const bare = path.join(dir, 'bare.iso')
  await $({ quiet: true })`xorrisofs -quiet -o ${bare} -volid ${'alpine-std 3.22.0 x86_64'} -R ${tree}`
  const lay = await runCli(['image', IMAGE_PROFILE, '--base', bare, '-o', out])
  t.is(lay.code, 2)
  for (const re of [/no BIOS El Torito boot image/, /no UEFI El Torito boot image/, /no \/boot\/modloop-lts next to \/boot\/vmlinuz-lts/, /no \/boot\/syslinux\/syslinux\.cfg/]) t.regex(lay.stderr, re)
  t.false(existsSync(out))
})

test('boot-test --stand-in-media DIR writes the stand-in ISO and the netboot files in Alpine\'s layout', async (t) => {
  const dir = await tempDir(t)
  const r = await runCli(['boot-test', '--stand-in-media', dir])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stderr, /not Alpine's files/)
  for (const f of ['alpine-stand-in-x86_64.iso', 'netboot/vmlinuz-lts', 'netboot/initramfs-lts', 'netboot/modloop-lts']) t.true(existsSync(path.join(dir, f)), f)
  const ls = (await $({ quiet: true })`unsquashfs -l ${path.join(dir, 'netboot', 'modloop-lts')}`).stdout
  t.regex(ls, /squashfs-root\/modules\/[^/]+\/modules\.dep\n/)
  t.regex(ls, /squashfs-root\/modules\/[^/]+\/kernel\/drivers\/vfio\/pci\/vfio-pci\.ko/)
})

test('the profile\'s image section is checked where it is parsed', (t) => {
  t.throws(() => parseProfileText('hostname: h\ncpu: intel\nimage: { console: "ttyS0; rm -rf /" }\n', 'p.yaml'), { message: /image\.console: expected a console like ttyS0,115200/ })
  t.throws(() => parseProfileText('hostname: h\ncpu: intel\nimage: { timeout: -1 }\n', 'p.yaml'))
  t.throws(() => parseProfileText('hostname: h\ncpu: intel\nimage: { menu: 1 }\n', 'p.yaml'))
})
