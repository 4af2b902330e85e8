// Profiles checked against host snapshots: errors are plans a person can act on.
import test from 'ava'
import { checkAgainstSnapshot } from '../../scripts/check/snapshotCheck.js'
import { planHost } from '../../scripts/plan/hostPlan.js'
import { loadProfile } from '../../scripts/hostPipeline.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { parseProfile, profileYaml, runCli } from '../testSupport.js'
import { seed001, seed003, twinNics } from '../snapshot/sysfsFixture.js'
import { collect, collectFile } from '../snapshot/snapshotSupport.js'

const devices = (yaml: string) => parseProfile(profileYaml(`passthrough:\n  devices:\n${yaml}`))
const messages = (r: { issues: { message: string }[] }) => r.issues.map((i) => i.message).join('\n')

test('seed 001 profile fits seed 001 host: the whole group 4 goes, nothing protected', async (t) => {
  const snap = await collect(t, seed001)
  const { profile } = await loadProfile(packagePath('profiles', 'homeassistant.yaml'))
  const r = checkAgainstSnapshot(profile, snap, 'seed001.json')
  t.deepEqual(r.issues, [])
  t.deepEqual(r.passed.map((p) => p.address).sort(), ['0000:00:1a.0', '0000:00:1a.1', '0000:00:1a.2', '0000:00:1a.7'])
})

test('half a group: the check names the siblings and the group, and says what to add', async (t) => {
  const snap = await collect(t, seed001)
  const r = checkAgainstSnapshot(devices('    - id: "8086:3a67"\n    - id: "8086:3a68"\n'), snap, 'seed001.json')
  t.is(r.issues.length, 1)
  t.deepEqual(r.issues[0].path, ['passthrough', 'devices'])
  t.regex(messages(r), /IOMMU group 4 on homeassistant also holds 0000:00:1a\.2 \[8086:3a69\] \(uhci_hcd\), 0000:00:1a\.7 \[8086:3a6c\] \(ehci-pci\)/)
  t.regex(messages(r), /add \{ address: "0000:00:1a\.2", id: "8086:3a69" \}, \{ address: "0000:00:1a\.7", id: "8086:3a6c" \}/)
})

test('a USB device by product string becomes its controller and the rest of its group', async (t) => {
  const snap = await collect(t, seed001)
  const profile = parseProfile(profileYaml('passthrough:\n  usb:\n    - product: "Sonoff Zigbee 3.0 USB Dongle Plus"\n'))
  const r = checkAgainstSnapshot(profile, snap, 'seed001.json')
  t.deepEqual(r.issues, [])
  const plan = planHost(r.profile)
  t.deepEqual(plan.vfioAddresses.map((a) => `${a.address}=${a.id}`), [
    '0000:00:1a.0=8086:3a67', '0000:00:1a.1=8086:3a68', '0000:00:1a.2=8086:3a69', '0000:00:1a.7=8086:3a6c',
  ])
  const missing = checkAgainstSnapshot(parseProfile(profileYaml('passthrough:\n  usb:\n    - id: "dead:beef"\n')), snap, 'seed001.json')
  t.regex(messages(missing), /no USB device dead:beef on homeassistant; it has: C-Media USB Headphone Set \(3-1\), Sonoff Zigbee 3\.0 USB Dongle Plus \(3-2\), USB Audio CODEC \(4-2\)/)
})

test('the NVMe that holds / and /boot can never go', async (t) => {
  const snap = await collect(t, seed003)
  const r = checkAgainstSnapshot(devices('    - { address: "0000:3e:00.0", id: "8086:f1a8" }\n'), snap, 'seed003.json')
  t.regex(messages(r), /0000:3e:00\.0 \[8086:f1a8\] \(nvme\) is storage of \/ \(nvme0n1p3\) and storage of \/boot \(nvme0n1p2\) of phyllome: passing it would lock the host out/)
  t.deepEqual(checkAgainstSnapshot(devices('    - { address: "0000:3d:00.0", id: "144d:a802" }\n'), snap, 'seed003.json').issues, [], 'the other NVMe may go')
})

test('an id that would also take the management NIC asks for address binding', async (t) => {
  const snap = await collect(t, twinNics)
  const r = checkAgainstSnapshot(devices('    - id: "8086:10d3"\n'), snap, 'twin.json')
  t.regex(messages(r), /0000:03:00\.0 \[8086:10d3\] \(e1000e\) is management NIC eth0 of twin-nic: passing it would lock the host out; 8086:10d3 matches it too, so bind the others by address: \{ address: "0000:04:00\.0", id: "8086:10d3" \}/)
  const { profile } = await loadProfile(packagePath('profiles', 'twin-nic.yaml'))
  t.deepEqual(checkAgainstSnapshot(profile, snap, 'twin.json').issues, [], 'the bundled twin-nic profile does exactly that')
})

test('an address that is another device, or no device at all', async (t) => {
  const snap = await collect(t, twinNics)
  const wrong = checkAgainstSnapshot(devices('    - { address: "0000:00:17.0", id: "8086:10d3" }\n'), snap, 'twin.json')
  t.regex(messages(wrong), /0000:00:17\.0 is 8086:a102 \(ahci\) on twin-nic, not 8086:10d3: fix the address or the id/)
  const gone = checkAgainstSnapshot(devices('    - { address: "0000:05:00.0", id: "8086:10d3" }\n'), snap, 'twin.json')
  t.regex(messages(gone), /0000:05:00\.0 does not exist on twin-nic; 8086:10d3 is at 0000:03:00\.0, 0000:04:00\.0/)
})

test('check, build and show take --snapshot; USB entries without one are refused', async (t) => {
  const snap = await collectFile(t, seed001)
  const ok = await runCli(['check', 'profiles/homeassistant.yaml', '--snapshot', snap])
  t.is(ok.code, 0, ok.stderr)
  t.regex(ok.stdout.toString(), /fits .* \(vfio-pci gets 0000:00:1a\.0, 0000:00:1a\.1, 0000:00:1a\.2, 0000:00:1a\.7\)/, "bound by address and guarded once a snapshot is known")
  const bad = await runCli(['check', 'profiles/twin-nic.yaml', '--snapshot', snap])
  t.is(bad.code, 2)
  t.regex(bad.stderr, /^profiles\/twin-nic\.yaml:\d+:\d+ passthrough\.devices\[0\]\.address: 0000:04:00\.0 does not exist on homeassistant/m)
  const usbOnly = 'test/fixtures/usb-zigbee.yaml'
  const without = await runCli(['build', usbOnly, '-o', '/nonexistent-out'])
  t.is(without.code, 2)
  t.regex(without.stderr, /passthrough\.usb: USB devices resolve to their controller through a host snapshot/)
  const shown = await runCli(['show', usbOnly, '--snapshot', snap, '--json'])
  t.is(shown.code, 0, shown.stderr)
  t.is(JSON.parse(shown.stdout.toString()).vfioAddresses.length, 4)
})

test('diff: a swapped card, a group that changed and a USB device that moved are named; no change exits 0', async (t) => {
  const old = await collectFile(t, seed001)
  const swapped = {
    ...seed001,
    pci: seed001.pci.map((d) => d.address === '0000:02:00.0' ? { ...d, id: '8086:1533', group: 4 }
      : d.address === '0000:00:1a.7' ? { ...d, group: 6 } : d),
    usb: seed001.usb!.map((u) => (u.port === '3-2' ? { ...u, port: '4-1', controller: '0000:00:1a.1' } : u)),
  }
  const now = await collectFile(t, swapped)
  const r = await runCli(['diff', old, now])
  t.is(r.code, 1, r.stderr)
  t.deepEqual(r.stdout.toString().trim().split('\n'), [
    '~ 0000:00:1a.7 group: 4 -> 6',
    '~ 0000:02:00.0 id: 8086:10c9 -> 8086:1533',
    '~ 0000:02:00.0 group: 5 -> 4',
    '~ IOMMU group 4: 0000:00:1a.0 0000:00:1a.1 0000:00:1a.2 0000:00:1a.7 -> 0000:00:1a.0 0000:00:1a.1 0000:00:1a.2 0000:02:00.0',
    '~ IOMMU group 5: 0000:00:1c.0 0000:02:00.0 -> 0000:00:1c.0',
    '~ IOMMU group 6: 0000:00:1f.2 -> 0000:00:1a.7 0000:00:1f.2',
    '~ usb 10c4:ea60 Sonoff Zigbee 3.0 USB Dongle Plus: controller 0000:00:1a.0 -> 0000:00:1a.1',
  ])
  const same = await runCli(['diff', '--snapshot', old, old])
  t.is(same.code, 0)
  t.is(same.stdout.toString(), '')
  t.regex(same.stderr, /no change/)
})
