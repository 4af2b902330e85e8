// boot-test --junit FILE: one testcase per profile, one <failure> per failed guest check (with its detail), the
// serial log tail as system-out. The shape CI systems read (Jenkins junit-10.xsd, GitLab, GitHub test reporters).
import type { BootTestResult } from './bootTest.js'

const xml = (s: string) => s
  // XML 1.0 has no way to carry most control characters, even escaped: a serial log can hold them
  .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

function failuresOf(r: BootTestResult): { message: string; detail: string }[] {
  const out = r.checks.filter((c) => !c.pass).map((c) => ({ message: c.name, detail: c.detail }))
  if (r.timedOut) out.push({ message: 'no report', detail: 'the guest printed no verdict before the timeout' })
  if (r.panicked) out.push({ message: 'kernel panic', detail: 'the guest kernel panicked' })
  if (!r.ok && out.length === 0) out.push({ message: 'no passing check', detail: 'the guest reported no check' })
  return out
}

export function renderJunit(results: BootTestResult[], suiteName = 'hostbake boot-test'): string {
  const failed = results.filter((r) => !r.ok).length
  const time = results.reduce((s, r) => s + r.wallS, 0).toFixed(2)
  const cases = results.map((r) => {
    const body = [
      ...failuresOf(r).map((f) => `      <failure message="${xml(f.message)}" type="guest-check">${xml(f.detail)}</failure>`),
      ...(r.tail ? [`      <system-out>${xml(r.tail)}</system-out>`] : []),
    ]
    const open = `    <testcase classname="boot-test.${xml(r.hostname)}" name="${xml(r.apkovl ? `${r.profile} --apkovl ${r.apkovl}` : r.profile)}" time="${r.wallS.toFixed(2)}"`
    return body.length === 0 ? `${open}/>` : `${open}>\n${body.join('\n')}\n    </testcase>`
  })
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suiteName)}" tests="${results.length}" failures="${failed}" errors="0" time="${time}">`,
    `  <testsuite name="${xml(suiteName)}" tests="${results.length}" failures="${failed}" errors="0" skipped="0" time="${time}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}
