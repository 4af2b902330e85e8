// Real snapshots: hostbake's collector runs inside a QEMU guest, on a real kernel's /sys, and what it
// reports must match the machine QEMU was told to build.
import test from 'ava'
import { bootTestProfile } from '../../scripts/boot/bootTest.js'
import { loadProfile } from '../../scripts/hostPipeline.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { parseSnapshotText } from '../../scripts/snapshot/snapshotLoad.js'
import { bootKernel, bootTimeoutS } from './bootHelpers.js'

test('the collector in the guest sees the emulated topology: groups, drivers, USB, the management NIC', async (t) => {
  const loaded = await loadProfile(packagePath('test', 'boot', 'profiles', 'bridge-host.yaml'))
  const r = await bootTestProfile(loaded, { timeoutS: bootTimeoutS, keep: false, log: () => {}, snapshot: true, kernel: bootKernel() })
  t.true(r.ok, r.checks.filter((c) => !c.pass).map((c) => `${c.name} ${c.detail}`).join('\n'))
  t.truthy(r.snapshot, 'the guest printed a snapshot')
  const s = parseSnapshotText(r.snapshot!, 'guest snapshot')
  t.is(s.host, 'bridge-host', 'the hostname service ran')
  const dev = (a: string) => s.pci.find((d) => d.address === a)!
  // 1d.0 and 1d.1 (multifunction UHCI) share a group and are on vfio-pci; the NIC and xHCI keep theirs
  t.is(dev('0000:00:1d.0').group, dev('0000:00:1d.1').group)
  t.not(dev('0000:00:1d.0').group, null)
  t.deepEqual([dev('0000:00:1d.0').driver, dev('0000:00:1d.1').driver], ['vfio-pci', 'vfio-pci'])
  t.like(dev('0000:00:03.0'), { id: '8086:10d3', driver: 'e1000e', class: '0x020000', bridge: false })
  t.like(dev('0000:00:05.0'), { id: '1b36:000d', driver: 'xhci_hcd' })
  t.not(dev('0000:00:03.0').group, dev('0000:00:1d.0').group)
  const kbd = s.usb.find((u) => u.id === '0627:0001')
  t.like(kbd, { product: 'QEMU USB Keyboard', controller: '0000:00:05.0' })
  t.deepEqual(s.managementNic?.name, 'br0')
  t.deepEqual(s.managementNic?.pci, ['0000:00:03.0'], 'the default route runs over br0, whose port is the e1000e')
})
