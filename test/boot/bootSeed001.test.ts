// Seed 001's host end to end: a crypto sys install built from a snapshot shaped like it (the dongle by
// product, group 4, the host's cryptroot= and features kept), booted in QEMU on the machine its test:
// section emulates. The guest's own report is the verdict.
import test from 'ava'
import { bootTestProfile } from '../../scripts/boot/bootTest.js'
import { bakeHost } from '../../scripts/hostPipeline.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { loadForBuild } from '../snapshot/snapshotSupport.js'
import { bootKernel, bootTimeoutS } from './bootHelpers.js'

test('seed 001 (crypto sys install, Intel, group 4, two hostdevs, dongle by product) builds from its snapshot and boots', async (t) => {
  const loaded = await loadForBuild(packagePath('test', 'boot', 'with-snapshot', 'seed001-crypto.yaml'))
  t.deepEqual(loaded.profile.passthrough.devices.map((d) => d.address), ['0000:00:1d.0', '0000:00:1d.1', '0000:00:1d.2', '0000:00:1d.7'], 'the dongle\'s controller and the rest of its group')
  const overlay = await bakeHost(loaded)
  t.is(overlay.plan.root, '/dev/mapper/root', 'the host\'s root= stays in update-extlinux.conf')
  const r = await bootTestProfile(loaded, { timeoutS: bootTimeoutS, keep: false, log: () => {}, kernel: bootKernel() })
  const failed = r.checks.filter((c) => !c.pass).map((c) => `${c.name} ${c.detail}`).join('\n')
  t.true(r.ok, `${failed}\n${r.tail ?? ''}`)
  // the command line the harness formed from the overlay's update-extlinux.conf, as update-extlinux does: the
  // host's crypto options kept, ours added (the harness may name its own root disk: it has no LUKS volume)
  t.regex(r.cmdline, /(^|\s)modules=sd-mod,usb-storage,ext4,vfio,vfio-pci,vfio_iommu_type1 cryptroot=UUID=eec5190e-\S+ cryptdm=root quiet rootfstype=ext4 intel_iommu=on iommu=pt /)
  for (const a of ['0000:00:1d.0', '0000:00:1d.1', '0000:00:1d.2', '0000:00:1d.7']) {
    t.true(r.checks.some((c) => c.name === `driver_${a}` && c.pass && c.detail === 'vfio-pci'), `${a} on vfio-pci`)
  }
  t.true(r.checks.some((c) => c.name === 'driver_0000:00:03.0' && c.pass), 'the host NIC keeps e1000e')
})
