// Negative controls: overlays that would not work on a real host must fail the specific guest checks.
import test from 'ava'
import fs from 'node:fs/promises'
import { scenarios } from './overlayFixture.js'
import { bootScenario, describeReport } from './bootHelpers.js'

for (const s of scenarios.filter((x) => x.mustFail)) {
  test(`boot ${s.name}: fails ${s.mustFail!.join(', ')}`, async (t) => {
    const r = await bootScenario(s)
    t.true(r.sentinel, `the guest finished its report\n${describeReport(r)}`)
    t.false(r.ok, describeReport(r))
    for (const name of s.mustFail!) {
      const hit = r.checks.filter((c) => c.name === name || (name.endsWith('_') && c.name.startsWith(name)))
      t.true(hit.length > 0 && hit.every((c) => !c.pass), `${name} must fail\n${describeReport(r)}`)
    }
    if (s.name === 'neg-no-type1') {
      t.regex(r.checks.find((c) => c.name.startsWith('vfio_probe_'))?.detail ?? '', /no TYPE1v2/)
    }
    t.truthy(r.workDir, 'work folder kept after a failure')
    t.true(await fs.readFile(r.serialLogPath, 'utf8').then((l) => l.includes('hostbake-guest:')), 'serial log kept')
    if (r.workDir) await fs.rm(r.workDir, { recursive: true, force: true })
  })
}
