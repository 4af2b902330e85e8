// Overlays baked by the real pipeline from profiles, booted in QEMU: the guest must prove the binding.
import test from 'ava'
import { readdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { bootOverlay } from '../../scripts/boot/bootOverlay.js'
import { bakeHost } from '../../scripts/hostPipeline.js'
import { loadProfile } from '../../scripts/profileLoad.js'
import { repoPath } from '../../scripts/repoRoot.js'
import { bootTimeoutS, describeReport } from './bootHelpers.js'

const dir = repoPath('test', 'boot', 'profiles')
const names = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()

for (const name of names) {
  test(`boot the baked overlay of ${name}`, async (t) => {
    const host = await bakeHost(await loadProfile(path.join(dir, name)))
    const { profile } = await loadProfile(path.join(dir, name))
    const spec = profile.test!
    const work = await mkdtemp(path.join(os.tmpdir(), `hostbake-profile-${host.hostname}-`))
    t.teardown(() => rm(work, { recursive: true, force: true }))
    const apkovl = path.join(work, `${host.hostname}.apkovl.tar.gz`)
    await writeFile(apkovl, host.apkovl)
    const r = await bootOverlay({
      apkovl,
      // sys: the harness forms APPEND from the overlay's own update-extlinux.conf; diskless: the media cmdline
      ...(host.plan.install === 'diskless' ? { cmdline: host.plan.cmdline, medium: 'disk' as const } : {}),
      machine: { iommu: spec.iommu ?? profile.cpu, devices: spec.devices },
      expect: {
        vfioIds: host.plan.vfioIds.map((i) => i.value),
        vfioAddresses: host.plan.vfioAddresses.map((a) => a.address),
        ...(spec.expect.groups ? { groups: spec.expect.groups } : {}),
        ...(spec.expect.drivers ? { drivers: spec.expect.drivers } : {}),
      },
      workDir: path.join(work, 'boot'),
      timeoutS: bootTimeoutS,
      log: () => {},
    })
    t.log(`wall ${r.wallS.toFixed(2)} s, guest ${r.guestUptimeS ?? '?'} s`)
    t.true(r.ok, describeReport(r))
    t.true(r.checks.some((c) => c.name.startsWith('vfio_probe_') && c.pass), 'a VFIO probe ran and passed')
  })
}
