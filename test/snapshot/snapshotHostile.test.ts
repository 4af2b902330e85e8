// A snapshot is input too: hostile strings are shown escaped, oversized groups and snapshots are refused,
// and what `show` says the guard compares is exactly what the generated script compares.
import test from 'ava'
import fc from 'fast-check'
import { applySnapshot, renderHost } from '../../scripts/hostPipeline.js'
import { parseProfileLoose } from '../../scripts/profile/profileLoad.js'
import { formatInspect } from '../../scripts/snapshot/snapshotInspect.js'
import { diffSnapshots } from '../../scripts/snapshot/snapshotDiff.js'
import { parseSnapshotText } from '../../scripts/snapshot/snapshotLoad.js'
import type { Snapshot } from '../../scripts/snapshot/snapshotSchema.js'
import { guardClaim } from '../../scripts/plan/planFormat.js'
import { planHost } from '../../scripts/plan/hostPlan.js'
import { renderOverlay } from '../../scripts/render/overlayRender.js'
import { ProfileError, formatProblem } from '../../scripts/shared/hostbakeError.js'
import type { LoadedProfile } from '../../scripts/profile/profileLoad.js'
import { profileYaml } from '../testSupport.js'

const fn = (i: number, group: number | null) => ({
  address: `0000:${(i >> 8).toString(16).padStart(2, '0')}:${((i >> 3) & 31).toString(16).padStart(2, '0')}.${i & 7}`,
  id: '8086:10d3', subsystem: '8086:a01f', class: '0x020000', driver: 'e1000e', module: 'e1000e', group, resetMethod: null, bridge: false, parent: null,
})
const snapshotOf = (pci: Snapshot['pci'], usb: Snapshot['usb'] = []): Snapshot => ({ hostbakeSnapshot: 2, host: 'lab', kernel: '6.12', pci, usb, storage: [], managementNic: null, system: null })

function loadedOf(yaml: string): LoadedProfile {
  const p = parseProfileLoose(yaml, 'p.yaml')
  if (!p.profile) throw new Error(p.problems.map((x) => x.message).join('\n'))
  return { file: 'p.yaml', profile: p.profile, sources: new Map(), locate: p.locate }
}

test('control characters in snapshot strings are escaped in inspect, diff and problem messages', (t) => {
  const hostile = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map((s) => `${s}\x1b[2J\nFAKE: ok\r\x9b1m`)
  fc.assert(fc.property(hostile, (product) => {
    const snap = snapshotOf([fn(0, 1)], [{ port: '1-1', bus: 1, device: 2, id: '10c4:ea60', product, controller: fn(0, 1).address }])
    const inspect = formatInspect(snap)
    const diff = diffSnapshots(snapshotOf([fn(0, 1)]), snap).join('\n')
    let message = ''
    try {
      applySnapshot(loadedOf(profileYaml('passthrough:\n  usb: [{ product: "nothing like it" }]\n')), snap, 'snap.json')
    } catch (err) {
      message = (err as ProfileError).problems.map(formatProblem).join('\n')
    }
    const clean = (s: string) => !/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(s)
    return message !== '' && clean(inspect) && clean(diff) && clean(message) && message.split('\n').length === 1 && inspect.split('\n').length === 5 && diff.split('\n').length === 1
  }))
  t.pass()
})

test('a passed function in an IOMMU group of more than 64 functions is refused; the script stays small below', (t) => {
  const big = snapshotOf(Array.from({ length: 65 }, (_, i) => fn(i, 7)))
  const profile = loadedOf(profileYaml('passthrough:\n  devices: [{ address: "0000:00:00.0", id: "8086:10d3" }]\n'))
  const err = t.throws(() => applySnapshot(profile, big, 'big.json'), { instanceOf: ProfileError })
  t.regex(err!.message, /IOMMU group 7 has 65 functions.*at most 64/)
  // 64 functions, all passed by address: the guard's script is bounded (it was quadratic and unbounded)
  const ok = snapshotOf(Array.from({ length: 64 }, (_, i) => fn(i, 7)))
  const all = loadedOf(profileYaml(`passthrough:\n  devices:\n${ok.pci.map((d) => `    - { address: "${d.address}", id: "8086:10d3" }`).join('\n')}\n`))
  const { files } = renderHost(applySnapshot(all, ok, 'ok.json'))
  t.true(files.get('etc/hostbake/vfio-override.sh')!.data!.length < 256 * 1024)
})

test('a snapshot with more functions than any host is refused with the file named', (t) => {
  const text = JSON.stringify(snapshotOf(Array.from({ length: 2049 }, (_, i) => fn(i, null))))
  const err = t.throws(() => parseSnapshotText(text, 'huge.json'), { instanceOf: ProfileError })
  t.regex(err!.message, /^huge\.json:\d+:\d+ pci: more than 2048 PCI functions/)
})

test('show claims exactly the comparisons the guard script makes, per address', (t) => {
  fc.assert(fc.property(fc.boolean(), fc.boolean(), (withSubsystem, withGroup) => {
    const loaded = loadedOf(profileYaml('passthrough:\n  devices: [{ address: "0000:00:04.0", id: "8086:10d3" }]\n'))
    const fingerprint = new Map([['0000:00:04.0', { id: '8086:10d3', subsystem: withSubsystem ? '8086:a01f' : null, group: withGroup ? ['0000:00:04.0/8086:10d3'] : [] }]])
    const plan = planHost(loaded.profile, withGroup || withSubsystem ? fingerprint : undefined)
    const script = renderOverlay(plan, loaded.profile).get('etc/hostbake/vfio-override.sh')!.data!.toString()
    const entry = /for entry in (\S+) ; do/.exec(script)![1]
    const [addr, id, sub, group] = entry.split('=')
    const claim = guardClaim(plan.vfioAddresses[0])
    return addr === '0000:00:04.0' &&
      (id !== '') === claim.includes(`id ${id}`) &&
      (sub !== '') === /subsystem/.test(claim) &&
      (group !== '') === /IOMMU group/.test(claim)
  }))
  t.pass()
})
