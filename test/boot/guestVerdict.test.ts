// The pass rule: a boot passes only on the guest's own sentinel, saying 0 failed, agreeing with the checks the
// guest printed, after at least one check.
import test from 'ava'
import { judgeGuestReport } from '../../scripts/boot/bootReport.js'

const line = (s: string) => `hostbake-guest: ${s}\n`
const pass = line('PASS iommu_on dmar0') + line('PASS driver_0000:04:00.0 vfio-pci')

test('a clean report passes; CRLF line ends (a serial console) too', (t) => {
  const r = judgeGuestReport(`kernel noise\n${pass}${line('uptime 7.5')}${line('2 passed, 0 failed')}`)
  t.true(r.ok)
  t.is(r.passed, 2)
  t.is(r.guest.guestUptimeS, 7.5)
  t.true(judgeGuestReport((pass + line('2 passed, 0 failed')).replace(/\n/g, '\r\n')).ok)
})

const failing: [string, string][] = [
  ['no sentinel (the guest stopped or hung)', pass],
  ['a FAIL line, whatever the sentinel says', pass + line('FAIL group_clean_9 0000:04:00.1=e1000e') + line('2 passed, 0 failed')],
  ['the sentinel counts other checks than were printed', pass + line('3 passed, 0 failed')],
  ['the sentinel says failed', pass + line('2 passed, 1 failed')],
  ['no check at all', line('0 passed, 0 failed')],
  ['an empty log', ''],
  ['a sentinel not at the start of its line', `${pass}echo hostbake-guest: 2 passed, 0 failed\n`],
]
for (const [name, serial] of failing) {
  test(`not a pass: ${name}`, (t) => {
    const r = judgeGuestReport(serial)
    t.false(r.ok)
    t.truthy(r.tail, 'a failure carries the log tail')
  })
}
