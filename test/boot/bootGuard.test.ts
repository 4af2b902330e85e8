// The drift guard, end to end: a real snapshot taken in a QEMU guest, an overlay built against it, then
// two boots: the same hardware binds as before; another card at a passthrough address is refused (it and
// its group keep their own drivers, and the console says why).
import test from 'ava'
import os from 'node:os'
import path from 'node:path'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { bootOverlay } from '../../scripts/boot/bootOverlay.js'
import { bootTestProfile, planBootExpect, planBootMachine } from '../../scripts/boot/bootTest.js'
import { applySnapshot, bakeHost } from '../../scripts/hostPipeline.js'
import { loadProfile } from '../../scripts/hostPipeline.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { parseSnapshotText } from '../../scripts/snapshot/snapshotLoad.js'
import { bootKernel, bootTimeoutS, describeReport } from './bootHelpers.js'

test('built against a snapshot: matching hardware binds by address, a swapped card is refused', async (t) => {
  const loaded = await loadProfile(packagePath('test', 'boot', 'guard', 'guard-host.yaml'))
  // 1. the host as it is: boot it once with the plain (ids=) overlay and take its snapshot from inside
  const first = await bootTestProfile(loaded, { timeoutS: bootTimeoutS, keep: false, log: () => {}, snapshot: true, kernel: bootKernel() })
  t.true(first.ok, 'the plain overlay boots')
  const snap = parseSnapshotText(first.snapshot!, 'guest snapshot')
  // 2. the overlay built against it: both functions by address, fingerprinted (id, subsystem, group)
  const pinned = applySnapshot(loaded, snap, 'guest snapshot')
  const host = await bakeHost(pinned)
  t.deepEqual(host.plan.vfioIds, [], 'no ids= binding: nothing the guard could not refuse')
  t.deepEqual(host.plan.vfioAddresses.map((a) => a.address), ['0000:00:1d.0', '0000:00:1d.1'])
  t.true(host.plan.vfioAddresses.every((a) => a.group?.join() === '0000:00:1d.0/8086:2934,0000:00:1d.1/8086:2935'))
  t.true(host.plan.runlevels.sysinit.some((s) => s.value === 'hostbake-guard'))
  const work = await mkdtemp(path.join(os.tmpdir(), 'hostbake-guard-'))
  t.teardown(() => rm(work, { recursive: true, force: true }))
  const apkovl = path.join(work, 'guard-host.apkovl.tar.gz')
  await writeFile(apkovl, host.apkovl)

  const [same, swapped] = await Promise.all([
    // 3. the same hardware: bound as before
    bootOverlay({ apkovl, machine: planBootMachine(loaded), expect: planBootExpect(host, pinned), workDir: path.join(work, 'same'), timeoutS: bootTimeoutS, log: () => {}, kernel: bootKernel() }),
    // 4. another card where 00:1d.1 was: nothing in that group is vouched for, everything keeps its driver
    bootOverlay({
      apkovl,
      machine: { iommu: 'intel', devices: ['ich9-usb-uhci1,addr=1d.0,multifunction=on', 'e1000e,addr=1d.1', 'e1000e,addr=03.0'] },
      expect: { vfioIds: [], vfioAddresses: [], drivers: { '0000:00:1d.0': 'uhci_hcd', '0000:00:1d.1': 'e1000e', '0000:00:03.0': 'e1000e' } },
      workDir: path.join(work, 'swapped'), timeoutS: bootTimeoutS, keep: true, log: () => {}, kernel: bootKernel(),
    }),
  ])
  t.true(same.ok, describeReport(same))
  t.true(same.checks.some((c) => c.name === 'driver_0000:00:1d.1' && c.pass && c.detail === 'vfio-pci'))
  const pass = (name: string) => swapped.checks.find((c) => c.name === name)
  t.true(swapped.sentinel, describeReport(swapped))
  for (const name of ['driver_0000:00:1d.0', 'driver_0000:00:1d.1', 'driver_0000:00:03.0', 'others_not_on_vfio', 'boot_services']) {
    t.true(pass(name)?.pass, `${name}\n${describeReport(swapped)}`)
  }
  const log = await readFile(swapped.serialLogPath, 'utf8')
  t.regex(log, /hostbake-vfio: 0000:00:1d\.1: is 8086:10d3, the profile expects 8086:2935: left to its own driver/)
  t.regex(log, /hostbake-vfio: 0000:00:1d\.0: IOMMU group holds .*, the profile expects 0000:00:1d\.0\/8086:2934,0000:00:1d\.1\/8086:2935: left to its own driver/)
})
