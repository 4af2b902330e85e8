// Issue 11 item 1: a diskless host boots Alpine's stock initramfs (the media's features, the build host's
// modprobe.d), never one built from its overlay. With the supplementary initramfs hostbake image adds, the
// bundled diskless-uhci scenario binds (its pass is in the scenario run); without it, it must fail the way a
// real host does: uhci_hcd claims both functions during coldplug, because nothing of ours exists yet.
import test from 'ava'
import { bootTestProfile } from '../../scripts/boot/bootTest.js'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'
import { loadProfile } from '../../scripts/hostPipeline.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { TEST_CACHE } from '../testSupport.js'
import { bootTimeoutS } from './bootHelpers.js'

test('diskless-uhci without the supplementary initramfs fails: no vfio in the stock image, uhci_hcd keeps the devices', async (t) => {
  const loaded = await loadProfile(packagePath('test', 'boot', 'profiles', 'diskless-uhci.yaml'))
  const kernel = locateBootKernel(TEST_CACHE)
  const r = await bootTestProfile(loaded, { kernel, timeoutS: bootTimeoutS, keep: false, log: () => {}, supplement: false })
  const detail = r.checks.map((c) => `${c.pass ? 'PASS' : 'FAIL'} ${c.name} ${c.detail}`).join('\n')
  t.false(r.ok, detail)
  for (const name of ['supplement_applied', 'initramfs_modules', 'driver_0000:00:1d.0', 'driver_0000:00:1d.1']) {
    t.true(r.checks.some((c) => c.name === name && !c.pass), `${name} must fail\n${detail}`)
  }
  t.regex(r.checks.find((c) => c.name === 'driver_0000:00:1d.0')!.detail, /uhci_hcd/)
})
