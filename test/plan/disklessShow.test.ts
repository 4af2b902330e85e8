// show must not promise a binding Alpine's stock initramfs cannot make (issue 11 item 1): for a diskless host,
// every claim that vfio-pci loads before coldplug names the supplementary initramfs that makes it true.
import test from 'ava'
import { formatPlan } from '../../scripts/plan/planFormat.js'
import { planHost } from '../../scripts/plan/hostPlan.js'
import { parseProfile } from '../testSupport.js'

const yaml = (install: string) => `hostname: h1\ncpu: intel\ninstall: ${install}\npassthrough:\n  devices: [{ id: "8086:2934" }]\n  preempt: [uhci_hcd, igb]\n`

test('diskless: early binding is attributed to the supplementary initramfs, never to the stock one', (t) => {
  const text = formatPlan(planHost(parseProfile(yaml('diskless'))), [])
  t.regex(text, /early binding \(diskless\): Alpine's stock initramfs has no vfio modules/)
  t.regex(text, /boot\/hostbake-h1\.cpio\.gz \(hostbake image or hostbake pxe\)/)
  t.regex(text, /features\.d\/vfio\.modules \(not used at boot: diskless boots the stock initramfs\)/)
  for (const line of text.split('\n').filter((l) => /before coldplug/.test(l))) t.regex(line, /supplementary initramfs/, line)
})

test('sys: the overlay\'s own initramfs binds, no supplement is mentioned', (t) => {
  const text = formatPlan(planHost(parseProfile(yaml('sys'))), [])
  t.notRegex(text, /supplementary/)
  t.regex(text, /^mkinitfs features\.d\/vfio\.modules:$/m)
})
