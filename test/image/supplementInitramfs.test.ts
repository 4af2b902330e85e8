// The supplementary initramfs: what it carries, that kmod resolves vfio-pci through it on top of a stock
// image, that two builds are byte-identical, and that a module tree of another build is refused.
import test from 'ava'
import { readFileSync } from 'node:fs'
import { $ } from 'zx'
import fs from 'node:fs/promises'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'
import { bakeHost, loadProfile } from '../../scripts/hostPipeline.js'
import { listCpio, packCpio } from '../../scripts/image/cpioArchive.js'
import {
  buildSupplementInitramfs, readInitramfsModules, SUPPLEMENT_MARKER, supplementFilesOf,
} from '../../scripts/image/supplementInitramfs.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { TEST_CACHE, tempDir } from '../testSupport.js'

const kernel = locateBootKernel(TEST_CACHE)
// module files as the boot tree names them (.ko, or .ko.zst in the Alpine-shaped tree)
const depKeys = readFileSync(path.join(kernel.modulesDir, 'modules.dep'), 'utf8').split('\n').map((l) => l.split(':')[0]).filter(Boolean)
const inTree = (m: string) => depKeys.find((k) => k === m || k.startsWith(`${m}.`)) ?? m
const base = ['kernel/drivers/usb/host/uhci-hcd.ko', 'kernel/drivers/usb/host/ehci-pci.ko', 'kernel/drivers/usb/host/ehci-hcd.ko', 'kernel/fs/isofs/isofs.ko'].map(inTree)

async function twinNic() {
  const loaded = await loadProfile(packagePath('profiles', 'twin-nic.yaml'))
  return bakeHost(loaded)
}

test('carries vfio modules with their deps, the full module index, modprobe.d, the hook and a marker', async (t) => {
  const host = await twinNic()
  const s = await buildSupplementInitramfs({ hostname: host.hostname, modulesDir: kernel.modulesDir, baseKver: kernel.kver, baseModules: base, files: supplementFilesOf(host.files) })
  const names = listCpio(gunzipSync(s.data))
  const k = `lib/modules/${kernel.kver}`
  for (const m of ['kernel/drivers/vfio/vfio.ko', 'kernel/drivers/vfio/pci/vfio-pci.ko', 'kernel/drivers/vfio/pci/vfio-pci-core.ko', 'kernel/drivers/vfio/vfio_iommu_type1.ko', 'kernel/virt/lib/irqbypass.ko']) {
    t.true(names.includes(`${k}/${inTree(m)}`), m)
  }
  for (const f of ['modules.dep', 'modules.dep.bin', 'modules.alias.bin', 'modules.softdep']) t.true(names.includes(`${k}/${f}`), f)
  t.true(names.includes('etc/modprobe.d/vfio.conf'))
  t.true(names.includes('etc/hostbake/vfio-override.sh'), 'twin-nic binds by address: the install line runs the hook in the initramfs')
  t.true(names.includes(SUPPLEMENT_MARKER))
  t.false(names.some((n) => n.includes('uhci')), 'base modules stay in the stock image')
})

test('GNU cpio and kmod read it: over a stock tree, modprobe resolves vfio-pci and the base modules to files that exist', async (t) => {
  const dir = await tempDir(t)
  const host = await twinNic()
  const s = await buildSupplementInitramfs({ hostname: host.hostname, modulesDir: kernel.modulesDir, baseKver: kernel.kver, baseModules: base, files: supplementFilesOf(host.files) })
  // the stock image: the base modules (no index of its own that knows vfio)
  const stock = packCpio(await Promise.all(base.map(async (m) => ({ name: `lib/modules/${kernel.kver}/${m}`, type: 'file' as const, mode: 0o644, data: await fs.readFile(path.join(kernel.modulesDir, m)) }))), 0)
  await fs.writeFile(path.join(dir, 'stock.cpio'), stock)
  await fs.writeFile(path.join(dir, 'supp.cpio'), gunzipSync(s.data))
  const root = path.join(dir, 'root')
  await fs.mkdir(root)
  // in order, later files replacing earlier ones, as the kernel unpacks concatenated archives
  await $({ quiet: true, cwd: root })`sh -c ${'cpio -idm --quiet < ../stock.cpio && cpio -idmu --quiet < ../supp.cpio'}`
  for (const mod of ['vfio-pci', 'uhci_hcd']) {
    const out = await $({ quiet: true })`modprobe -d ${root} -S ${kernel.kver} --show-depends ${mod}`
    const files = [...out.stdout.matchAll(/^insmod (\S+)/gm)].map((m) => m[1])
    t.true(files.length > 0, out.stdout)
    for (const f of files) t.true(await fs.stat(f).then(() => true, () => false), `${mod}: ${f} is in the unpacked images`)
  }
})

test('two builds are byte-identical; the mtime comes from SOURCE_DATE_EPOCH or a constant', async (t) => {
  const host = await twinNic()
  const spec = { hostname: host.hostname, modulesDir: kernel.modulesDir, baseKver: kernel.kver, baseModules: base, files: supplementFilesOf(host.files) }
  const a = await buildSupplementInitramfs(spec)
  await new Promise((r) => setTimeout(r, 1100))
  const b = await buildSupplementInitramfs(spec)
  t.true(a.data.equals(b.data))
  const c = await buildSupplementInitramfs({ ...spec, mtime: 1 })
  t.false(a.data.equals(c.data))
})

test('refused: a stock initramfs of another kernel, modules the modloop does not know, a tree without vfio', async (t) => {
  const spec = { hostname: 'h', modulesDir: kernel.modulesDir, baseKver: kernel.kver, baseModules: base, files: [] }
  await t.throwsAsync(buildSupplementInitramfs({ ...spec, baseKver: '6.12.69-0-lts' }), { message: /stock initramfs is for kernel 6\.12\.69-0-lts, the modloop holds/ })
  await t.throwsAsync(buildSupplementInitramfs({ ...spec, baseModules: ['kernel/drivers/foo/bar.ko.gz'] }), { message: /does not know 1 module.*another kernel build/ })
  const dir = await tempDir(t)
  const tree = path.join(dir, kernel.kver)
  await fs.mkdir(tree)
  await fs.writeFile(path.join(tree, 'modules.dep'), 'kernel/fs/isofs/isofs.ko:\n')
  await t.throwsAsync(buildSupplementInitramfs({ ...spec, modulesDir: tree, baseModules: [] }), { message: /no vfio, vfio-pci, vfio_iommu_type1 module/ })
})

test('readInitramfsModules lists the kernel and modules of a gzip newc image', async (t) => {
  const dir = await tempDir(t)
  const { gzipDeterministic } = await import('../../scripts/pack/apkovlPack.js')
  const img = await gzipDeterministic(packCpio([
    { name: `lib/modules/${kernel.kver}/kernel/fs/isofs/isofs.ko`, type: 'file', mode: 0o644, data: Buffer.from('x') },
    { name: `lib/modules/${kernel.kver}/modules.dep`, type: 'file', mode: 0o644, data: Buffer.from('') },
    { name: 'init', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
  ], 0))
  await fs.writeFile(path.join(dir, 'initramfs-lts'), img)
  t.deepEqual(await readInitramfsModules(path.join(dir, 'initramfs-lts')), { kver: kernel.kver, modules: ['kernel/fs/isofs/isofs.ko'] })
})
