// Boots of remastered images through real firmware and the image's own menus (stand-in base ISO, see
// test/boot/README.md). Six boots, to keep CI short: the image under SeaBIOS and OVMF as a CD, and as a USB stick
// under SeaBIOS only (OVMF's USB path was measured by hand, delivery-facts §7a/§7c); the rescue entry; two
// negative controls (the supplement left out of one menu; vfio modules from another kernel build).
import test from 'ava'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { bootTestImage, type ImageBootTestResult } from '../../scripts/boot/imageBootTest.js'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'
import { TEST_CACHE, runCli, tempDir } from '../testSupport.js'
import { IMAGE_PROFILE, makeImage, standIn, vmhost } from './imageSupport.js'

const timeoutS = Number(process.env.HOSTBAKE_IMAGE_BOOT_TIMEOUT) || 240
let imageDir: string
let image: string

test.before(async () => {
  await standIn()
  imageDir = await fs.mkdtemp(path.join((await import('node:os')).tmpdir(), 'hostbake-image-boot-'))
  image = (await makeImage(imageDir, 'vmhost')).output
})
test.after.always(() => fs.rm(imageDir, { recursive: true, force: true }))

function describe(r: ImageBootTestResult): string {
  return [`${r.firmware} ${r.medium} entry "${r.entry}": ok=${r.ok} ${r.passed}/${r.failed} ${r.wallS} s`,
    ...r.checks.map((c) => `  ${c.pass ? 'PASS' : 'FAIL'} ${c.name} ${c.detail}`), r.tail ?? ''].join('\n')
}

async function boot(img: string, firmware: 'bios' | 'uefi', medium: 'cdrom' | 'usb', rescueDrivers?: Record<string, string>) {
  return bootTestImage(await vmhost(), { image: img, firmware, medium, timeoutS, keep: false, log: () => {}, ...(rescueDrivers ? { rescueDrivers } : {}) })
}

const mustPass = ['apkovl_on_medium', 'supplement_applied', 'cmdline_menu', 'initramfs_files', 'initramfs_modules', 'driver_0000:00:1d.0',
  'driver_0000:00:1d.1', 'driver_0000:04:00.0', 'driver_0000:03:00.0', 'vfio_probe_', 'passthrough_devices']

function assertBound(t: import('ava').ExecutionContext, r: ImageBootTestResult) {
  t.true(r.ok, describe(r))
  for (const name of mustPass) t.true(r.checks.some((c) => (c.name === name || (name.endsWith('_') && c.name.startsWith(name))) && c.pass), `${name}\n${describe(r)}`)
}

test.serial('SeaBIOS, CD (the CLI contract: boot-test PROFILE --image --firmware --medium)', async (t) => {
  const r = await runCli(['boot-test', IMAGE_PROFILE, '--image', image, '--firmware', 'bios', '--medium', 'cdrom', '--json', '--timeout', String(timeoutS)])
  t.is(r.code, 0, r.stderr)
  const [res] = JSON.parse(r.stdout.toString()) as ImageBootTestResult[]
  assertBound(t, res)
  t.regex(res.checks.find((c) => c.name === 'cmdline_menu')!.detail, /initrd=\/boot\/initramfs-lts,\/boot\/hostbake-vmhost\.cpio\.gz/, 'isolinux passed both initrds')
})

test.serial('OVMF, CD', async (t) => {
  assertBound(t, await boot(image, 'uefi', 'cdrom'))
})

test.serial('SeaBIOS, USB stick (qemu-xhci + usb-storage)', async (t) => {
  const r = await boot(image, 'bios', 'usb')
  assertBound(t, r)
  t.regex(r.checks.find((c) => c.name === 'apkovl_on_medium')!.detail, /^\/media\/sd/, 'found on the stick, not a CD')
})

test.serial('the rescue entry leaves every device to its own driver', async (t) => {
  const dir = await tempDir(t)
  const rescue = (await makeImage(dir, 'rescue', { defaultEntry: 1 })).output
  const r = await boot(rescue, 'bios', 'cdrom', { '0000:00:1d.0': 'uhci_hcd', '0000:00:1d.1': 'uhci_hcd', '0000:04:00.0': 'e1000e', '0000:03:00.0': 'e1000e' })
  t.is(r.entry, 'rescue')
  t.true(r.ok, describe(r))
  for (const name of ['rescue_no_vfio', 'supplement_applied', 'driver_0000:00:1d.0', 'driver_0000:04:00.0']) t.true(r.checks.some((c) => c.name === name && c.pass), `${name}\n${describe(r)}`)
})

// negative controls: each must fail the check that names the cause
function assertFails(t: import('ava').ExecutionContext, r: ImageBootTestResult, names: string[]) {
  // a failed boot keeps its work folder for a person; these failures are the expected ones
  if (r.workDir) t.teardown(() => fs.rm(r.workDir!, { recursive: true, force: true }))
  t.true(r.checks.length > 0 && !r.timedOut, `the guest finished its report\n${describe(r)}`)
  t.false(r.ok, describe(r))
  for (const name of names) t.true(r.checks.some((c) => c.name === name && !c.pass), `${name} must fail\n${describe(r)}`)
}

test.serial('negative: the supplement left out of syslinux.cfg fails the BIOS boot\'s binding', async (t) => {
  const dir = await tempDir(t)
  const img = (await makeImage(dir, 'nosupp', { omitSupplementFrom: 'syslinux' })).output
  const r = await boot(img, 'bios', 'cdrom')
  assertFails(t, r, ['supplement_applied', 'initramfs_modules', 'driver_0000:00:1d.0', 'driver_0000:00:1d.1'])
})

test.serial('negative: vfio modules from another kernel build are refused by the kernel', async (t) => {
  const dir = await tempDir(t)
  const kernel = locateBootKernel(TEST_CACHE)
  const other = await otherBuild(kernel.modulesDir, kernel.kver, path.join(dir, 'other'))
  const img = (await makeImage(dir, 'otherbuild', { modulesDirOverride: other })).output
  const r = await boot(img, 'bios', 'cdrom')
  assertFails(t, r, ['initramfs_modules', 'driver_0000:00:1d.0'])
  t.true(r.checks.some((c) => c.name === 'supplement_applied' && c.pass), 'the archive was applied: its modules are what failed')
  // the kernel's own reason (the failure report's dmesg, in the kept serial log)
  t.regex(await fs.readFile(r.serialLog!, 'utf8'), /vfio\w*: disagrees about version of symbol module_layout/)
})

// The same kernel release and module tree, but the vfio modules come from "another build": their vermagic names
// another release and the CRC they record for module_layout differs, as a module of another linux-lts package's
// build would. With CONFIG_MODVERSIONS the kernel compares vermagic without its release (same_magic) and refuses
// the module on the CRC ("disagrees about version of symbol module_layout"). The tree's modules may be compressed
// (the Alpine-shaped trees: .ko.zst, .ko.xz): patched uncompressed, compressed again.
async function otherBuild(modulesDir: string, kver: string, dest: string): Promise<string> {
  const tree = path.join(dest, kver)
  const keep = (rel: string) => !rel.startsWith('kernel') || /^kernel(\/drivers(\/vfio.*)?|\/virt(\/lib.*)?)?$/.test(rel)
  await fs.cp(modulesDir, tree, { recursive: true, filter: (src) => keep(path.relative(modulesDir, src)) })
  const fake = kver.replace(/\d+(?=-)/, (n) => String((Number(n) + 1) % 10).padStart(n.length, '0').slice(-n.length))
  const codecs: Record<string, { de: string[]; re: string[] }> = {
    '': { de: [], re: [] },
    '.zst': { de: ['zstd', '-q', '-d', '-c'], re: ['zstd', '-q', '-c'] },
    '.xz': { de: ['xz', '-d', '-c'], re: ['xz', '-T1', '--check=crc32', '-c'] },
  }
  let patched = 0
  for (const rel of ['kernel/drivers/vfio/vfio.ko', 'kernel/drivers/vfio/pci/vfio-pci.ko', 'kernel/drivers/vfio/pci/vfio-pci-core.ko', 'kernel/drivers/vfio/vfio_iommu_type1.ko', 'kernel/drivers/vfio/vfio_virqfd.ko', 'kernel/virt/lib/irqbypass.ko']) {
    for (const [ext, codec] of Object.entries(codecs)) {
      const f = path.join(tree, rel + ext)
      const raw = await fs.readFile(f).catch(() => undefined)
      if (!raw) continue
      const data = codec.de.length > 0 ? execFileSync(codec.de[0], [...codec.de.slice(1), f]) : raw
      const at = data.indexOf(`vermagic=${kver} `)
      if (at < 0) throw new Error(`${rel}${ext}: no vermagic=${kver}`)
      data.write(`vermagic=${fake} `, at, 'latin1') // same length: the ELF stays valid
      // __versions: struct modversion_info { unsigned long crc; char name[56] }: the CRC is the 8 bytes before the name
      const layout = data.indexOf(Buffer.from('module_layout\0', 'latin1'))
      if (layout < 8) throw new Error(`${rel}${ext}: no module_layout in __versions`)
      data[layout - 8] ^= 0xff
      await fs.writeFile(f, codec.re.length > 0 ? execFileSync(codec.re[0], codec.re.slice(1), { input: data }) : data)
      patched++
    }
  }
  if (patched < 3) throw new Error(`only ${patched} vfio modules found to patch under ${modulesDir}`)
  return tree
}
