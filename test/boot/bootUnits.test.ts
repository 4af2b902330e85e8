// Fast checks of the boot harness's pure parts (no QEMU): cmdline forming, report parsing, mkinitfs rules.
import { TEST_CACHE, writeTree } from '../testSupport.js'
import test from 'ava'
import path from 'node:path'
import { readExtlinuxAppend } from '../../scripts/boot/bootOverlay.js'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'
import { parseGuestReport } from '../../scripts/boot/bootReport.js'
import { qemuArgs } from '../../scripts/boot/qemuBoot.js'
import { closeModules, planInitramfsModules } from '../../scripts/boot/initramfsBuild.js'

test('cmdline is formed as update-extlinux writes APPEND', async (t) => {
  const dir = await writeTree(t, {
    'etc/update-extlinux.conf': 'default_kernel_opts="quiet intel_iommu=on iommu=pt"\nmodules=sd-mod,usb-storage,ext4,vfio,vfio-pci\nroot=UUID=abc\n',
  })
  t.is(await readExtlinuxAppend(dir), 'root=UUID=abc modules=sd-mod,usb-storage,ext4,vfio,vfio-pci quiet intel_iommu=on iommu=pt')
  t.is(await readExtlinuxAppend(path.join(dir, 'nope')), undefined)
})

test('guest report: checks, uptime, sentinel; a missing sentinel stays missing', (t) => {
  const log = 'noise\r\nhostbake-guest: PASS iommu_on dmar0\r\nhostbake-guest: FAIL vfio_probe_2 VFIOPROBE FAIL group=2 x\r\n' +
    'hostbake-guest: stage checks 2.50\r\nhostbake-guest: uptime 3.25\r\nhostbake-guest: 1 passed, 1 failed\r\n'
  const r = parseGuestReport(log)
  t.deepEqual(r.checks.map((c) => [c.name, c.pass]), [['iommu_on', true], ['vfio_probe_2', false]])
  t.deepEqual(r.sentinel, { passed: 1, failed: 1 })
  t.is(r.guestUptimeS, 3.25)
  t.is(r.stages.checks, 2.5)
  t.is(parseGuestReport('hostbake-guest: PASS a b\n').sentinel, undefined)
})

test('mkinitfs rules: vfio feature globs resolve, hard deps close, softdeps do not', async (t) => {
  const kernel = locateBootKernel(TEST_CACHE)
  const lines = ['kernel/drivers/vfio/vfio.ko*', 'kernel/drivers/vfio/pci/vfio-pci.ko*', '# comment', '/kernel/drivers/vfio/nope.ko*']
  const dir = await writeTree(t, {
    'etc/mkinitfs/mkinitfs.conf': 'features="base vfio"\n',
    'etc/mkinitfs/features.d/vfio.modules': lines.join('\n') + '\n',
  })
  const { features, modules } = await planInitramfsModules(kernel, dir, false)
  t.deepEqual(features, ['base', 'vfio'])
  const names = modules.map((m) => path.basename(m).replace(/\.ko.*$/, ''))
  for (const m of ['vfio', 'vfio-pci', 'vfio-pci-core', 'irqbypass']) t.true(names.includes(m), `${m} via modules.dep`)
  // vfio -> vfio_iommu_type1 is a MODULE_SOFTDEP: mkinitfs never follows it
  t.false(names.includes('vfio_iommu_type1'))
  // the reverse direction is a hard dependency
  t.deepEqual(await closeModules(kernel.modulesDir, ['kernel/drivers/vfio/vfio_iommu_type1.ko.zst']),
    ['kernel/drivers/vfio/vfio.ko.zst', 'kernel/drivers/vfio/vfio_iommu_type1.ko.zst'])
})

test('qemu machine: TCG, q35 with split irqchip, vIOMMU first, devices verbatim, no default NIC', (t) => {
  const args = qemuArgs({
    machine: { iommu: 'intel', devices: ['e1000e,addr=03.0'] }, kernel: 'k', initrd: 'i', append: 'a', extra: [],
    serialLog: 's', pidFile: 'p', timeoutS: 1,
  })
  t.is(args[args.indexOf('-accel') + 1], 'tcg')
  t.regex(args[args.indexOf('-machine') + 1], /^q35,kernel-irqchip=split/)
  t.true(args.includes('-no-reboot'))
  t.is(args[args.indexOf('-nic') + 1], 'none')
  const devices = args.flatMap((a, i) => (args[i - 1] === '-device' ? [a] : []))
  t.deepEqual(devices, ['intel-iommu,intremap=on,caching-mode=on', 'e1000e,addr=03.0'])
  t.true(qemuArgs({ machine: { iommu: 'amd', devices: [] }, kernel: 'k', initrd: 'i', append: 'a', extra: [], serialLog: 's', pidFile: 'p', timeoutS: 1 }).includes('amd-iommu,intremap=on'))
})
