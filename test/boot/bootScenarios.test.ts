// Real boots: each scenario's overlay must pass every check the guest runs on itself.
import test from 'ava'
import fs from 'node:fs/promises'
import path from 'node:path'
import { scenarios } from './overlayFixture.js'
import { bootScenario, describeReport } from './bootHelpers.js'

for (const s of scenarios.filter((x) => !x.mustFail)) {
  test(`boot ${s.name}: the guest proves the binding`, async (t) => {
    const r = await bootScenario(s)
    t.log(`wall ${r.wallS.toFixed(2)} s, guest ${r.guestUptimeS ?? '?'} s, overhead ${r.overheadS?.toFixed(2) ?? '?'} s`)
    t.true(r.ok, describeReport(r))
    t.true(r.checks.some((c) => c.name.startsWith('vfio_probe_') && c.pass), 'a VFIO probe ran and passed')
    if (r.ok) t.is(r.workDir, undefined, 'work folder removed after a pass')
    else if (r.workDir) t.true(await fs.stat(path.join(r.workDir, 'serial.log')).then(() => true), 'serial log kept')
  })
}
