// boot-test --junit: read back by a JUnit consumer (junit2json) and checked well-formed by xmllint, not only by us.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { parse } from 'junit2json'
import { renderJunit } from '../../scripts/boot/bootJunit.js'
import type { BootTestResult } from '../../scripts/boot/bootTest.js'

const result = (over: Partial<BootTestResult>): BootTestResult => ({
  profile: 'profiles/a.yaml', hostname: 'a', ok: true, passed: 3, failed: 0, timedOut: false, panicked: false,
  accel: 'tcg', kvmFellBack: false, wallS: 4.2, cmdline: 'quiet', checks: [{ name: 'iommu_on', pass: true, detail: '' }], ...over,
})

const results = [
  result({}),
  result({
    profile: 'profiles/b&<c>.yaml', hostname: 'b', ok: false, passed: 1, failed: 2, wallS: 5.5,
    checks: [
      { name: 'iommu_on', pass: true, detail: '' },
      { name: 'driver_0000:00:1d.0', pass: false, detail: 'uhci_hcd holds it, expected vfio-pci' },
      { name: 'vfio_probe_group', pass: false, detail: 'group 4 "not viable" <busy>' },
    ],
    tail: 'line 1\n\x1b[0mline 2 & more',
  }),
  result({ profile: 'profiles/c.yaml', hostname: 'c', ok: false, passed: 0, failed: 0, timedOut: true, checks: [] }),
]

test('one testcase per profile, one failure per failed check with its detail, the serial tail as system-out', async (t) => {
  const xml = renderJunit(results)
  const lint = spawnSync('xmllint', ['--noout', '-'], { input: xml, encoding: 'utf8' })
  t.is(lint.status, 0, lint.stderr)
  const doc = await parse(xml) as any
  t.is(doc.tests, 3)
  t.is(doc.failures, 2)
  const cases = doc.testsuite[0].testcase
  t.deepEqual(cases.map((c: any) => c.name), ['profiles/a.yaml', 'profiles/b&<c>.yaml', 'profiles/c.yaml'])
  t.is(cases[0].failure, undefined)
  t.deepEqual(cases[1].failure.map((f: any) => [f.message, f.inner]), [
    ['driver_0000:00:1d.0', 'uhci_hcd holds it, expected vfio-pci'],
    ['vfio_probe_group', 'group 4 "not viable" <busy>'],
  ])
  t.regex(cases[1]['system-out'][0], /line 2 & more/)
  t.is(cases[2].failure[0].message, 'no report')
})
