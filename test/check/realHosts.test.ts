// Seed 001 on its real host: the dongle by product reaches the guest, part of a group is fine when the rest
// idles on vfio-pci, the drivers to preempt come from the snapshot, and show says first what a user may
// not expect. Snapshots: the collector over seed-shaped /sys trees (test/snapshot/sysfsFixture.ts).
import test from 'ava'
import { readFile } from 'node:fs/promises'
import { applySnapshot, loadProfile, parseProfileText, renderHost } from '../../scripts/hostPipeline.js'
import { ProfileError } from '../../scripts/shared/hostbakeError.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import type { LoadedProfile } from '../../scripts/profile/profileLoad.js'
import { GROUPS_UNKNOWN } from '../../scripts/plan/planNotices.js'
import { seed001, seed001Crypto, seed001Qemu } from '../snapshot/sysfsFixture.js'
import { collect, collectFile, collectText } from '../snapshot/snapshotSupport.js'
import { runCli } from '../testSupport.js'

const STORY = 'test/fixtures/seed001-zigbee.yaml'
const inline = (text: string): LoadedProfile => ({ file: 'p.yaml', sources: new Map(), ...parseProfileText(text, 'p.yaml') })
const guest = (hostdevs: string) => `guests:\n  - { name: ha, vcpus: 2, memory: 1024, hostdevs: ${hostdevs} }\n`
const usbProfile = (hostdevs: string) => inline(`hostname: h\ncpu: intel\npassthrough:\n  usb: [{ product: "Sonoff Zigbee 3.0 USB Dongle Plus", name: zigbee }]\n${guest(hostdevs)}`)
const refusal = (fn: () => unknown) => {
  try { fn() } catch (err) { if (err instanceof ProfileError) return err.message; throw err }
  return ''
}

test('USB by product: the resolved controllers are passthrough devices a guest names by the entry\'s name or by address', async (t) => {
  const snap = await collect(t, seed001Crypto)
  const { plan } = renderHost(applySnapshot(await loadProfile(packagePath(STORY)), snap, 'seed001.json'))
  t.deepEqual(plan.vfioAddresses.map((a) => a.address), ['0000:00:1a.0', '0000:00:1a.1', '0000:00:1a.2', '0000:00:1a.7'])
  t.deepEqual(plan.guests[0].pci.map((p) => p.address), ['0000:00:1a.0', '0000:00:1a.1'], 'zigbee -> 00:1a.0, the dongle\'s controller; "00:1a.1" by address')
  t.deepEqual(plan.idle.map((i) => i.value), ['0000:00:1a.2', '0000:00:1a.7'])
  t.regex(plan.idle[0].reason, /IOMMU group 4 goes to guest homeassistant: this function stays idle on vfio-pci/)
  // without the snapshot the names are not known yet: loading defers them, building refuses without one
  const r = await runCli(['show', STORY])
  t.is(r.code, 2)
  t.regex(r.stderr, /passthrough\.usb: USB devices resolve to their controller through a host snapshot/)
})

test('a hostdev that is none of the resolved functions is refused once the snapshot is known', async (t) => {
  const snap = await collect(t, seed001)
  const msg = refusal(() => applySnapshot(usbProfile('["00:1f.2"]'), snap, 's.json'))
  t.regex(msg, /guests\[0\]\.hostdevs\[0\]: 0000:00:1f\.2 is not a passthrough device of this profile/)
})

test('usb:vvvv:pppp under a controller that goes to vfio-pci is refused, naming the controller and what to write', async (t) => {
  const snap = await collect(t, seed001)
  // the C-Media headset sits under 00:1a.0 too, which the Zigbee entry hands to vfio-pci
  const msg = refusal(() => applySnapshot(usbProfile('["usb:0d8c:000c"]'), snap, 's.json'))
  t.regex(msg, /guests\[0\]\.hostdevs\[0\]: usb:0d8c:000c sits under 0000:00:1a\.0, which this profile hands to vfio-pci: .* Pass its controller instead: hostdevs: \[zigbee\]/)
  t.is(refusal(() => applySnapshot(usbProfile('[zigbee]'), snap, 's.json')), '', 'the controller by name is fine')
})

test('the seed\'s own setup: two of group 4\'s functions to the guest builds; idle ones are named; groups unknown without a snapshot', async (t) => {
  const loaded = await loadProfile(packagePath('profiles', 'homeassistant.yaml'))
  t.deepEqual(loaded.profile.guests[0].hostdevs, ['00:1a.0', '00:1a.1'], 'exactly the seed\'s two hostdevs')
  const { plan } = renderHost(loaded)
  t.deepEqual(plan.idle.map((i) => i.value), ['0000:00:1a.2', '0000:00:1a.7'])
  t.false(plan.notices.includes(GROUPS_UNKNOWN), 'group: fields given')
  const ids = ['00:1a.0=8086:3a67', '00:1a.1=8086:3a68', '00:1a.2=8086:3a69', '00:1a.7=8086:3a6c'].map((x) => x.split('='))
  const noGroups = inline(`hostname: h\ncpu: intel\npassthrough:\n  devices:\n${ids.map(([a, i]) => `    - { address: "${a}", id: "${i}" }\n`).join('')}${guest('["00:1a.0"]')}`)
  t.true(renderHost(noGroups).plan.notices.includes(GROUPS_UNKNOWN))
  const shown = await runCli(['show', 'profiles/homeassistant.yaml'])
  t.regex(shown.stdout.toString(), /idle on vfio-pci:\n  0000:00:1a\.2 .*\n  0000:00:1a\.7 /)
  // with the snapshot the groups are known: no notice, and the seed's profile fits
  const snap = await collect(t, seed001Crypto)
  t.false(renderHost(applySnapshot(noGroups, snap, 's.json')).plan.notices.includes(GROUPS_UNKNOWN))
})

test('a group member left to a host driver is still refused against the snapshot', async (t) => {
  const snap = await collect(t, seed001)
  const half = inline(`hostname: h\ncpu: intel\npassthrough:\n  devices:\n    - { address: "00:1a.0", id: "8086:3a67" }\n${guest('["00:1a.0"]')}`)
  t.regex(refusal(() => applySnapshot(half, snap, 's.json')), /IOMMU group 4 on homeassistant also holds 0000:00:1a\.1 .* which would stay with the host/)
})

test('IOMMU off: inspect, check and build --snapshot say so instead of "fits"; USB is not resolved to one controller', async (t) => {
  const off = { ...seed001, pci: seed001.pci.map(({ group: _g, ...d }) => d) }
  const file = await collectFile(t, off)
  const message = /IOMMU off: enable VT-d\/AMD-Vi in firmware and boot with the options in this profile, then take the snapshot again/
  const inspect = await runCli(['inspect', file])
  t.is(inspect.code, 0)
  t.regex(inspect.stdout.toString(), message)
  for (const verb of [['check', 'profiles/homeassistant.yaml'], ['build', STORY, '-o', '/nonexistent-out']]) {
    const r = await runCli([...verb, '--snapshot', file])
    t.is(r.code, 2, verb[0])
    t.regex(r.stderr, message)
    t.notRegex(r.stdout.toString(), /fits/)
  }
})

test('preempt from the snapshot: the drivers that hold the devices; a listed driver that drives none is named', async (t) => {
  const snap = await collect(t, seed001Crypto)
  const { plan } = renderHost(applySnapshot(await loadProfile(packagePath('profiles', 'homeassistant.yaml')), snap, 's.json'))
  t.deepEqual(plan.preemptOrdering.map((p) => p.value), ['igb', 'uhci_hcd', 'ehci_pci'])
  t.regex(plan.preemptOrdering[2].reason, /ehci-pci drives 0000:00:1a\.7/)
  t.true(plan.notices.some((n) => /passthrough\.preempt lists igb, which drives none of the passthrough devices on homeassistant \(they are on uhci_hcd, ehci_pci\): remove it/.test(n)))
  t.true(plan.modprobe.some((l) => l.value.startsWith('install ehci_pci ')), 'ehci_pci gets its install line')
  // a snapshot taken after the overlay: the devices are on vfio-pci already, nothing to compare the list with
  const after = await collect(t, { ...seed001Crypto, pci: seed001Crypto.pci.map((d) => (d.group === 4 ? { ...d, driver: 'vfio-pci' } : d)) })
  const again = renderHost(applySnapshot(await loadProfile(packagePath('profiles', 'homeassistant.yaml')), after, 's.json')).plan
  t.false(again.notices.some((n) => n.includes('drives none')))
  const r = await runCli(['check', 'profiles/homeassistant.yaml', '--snapshot', 'test/fixtures/seed001-host.json'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stderr, /^hostbake: note: passthrough\.preempt lists igb, which drives none/m, 'check fits, and says so')
})

test('id and address without bind: show says in its first lines that it binds by address, and the one-line bind: id', async (t) => {
  const loaded = inline('hostname: h\ncpu: intel\npassthrough:\n  devices:\n    - { id: "8086:3a67", address: "00:1a.0" }\n')
  const { plan } = renderHost(loaded)
  t.regex(plan.notices[0], /passthrough\.devices\[0\] gives both id 8086:3a67 and address 0000:00:1a\.0: bound by address .* hostbake-guard .* add one line to the entry: `bind: id`/)
  const r = await runCli(['show', 'profiles/homeassistant.yaml'])
  t.notRegex(r.stdout.toString(), /bind: id`/, 'the seed profile already says bind: id')
  const lines = (await runCli(['show', 'test/fixtures/lab-host.yaml'])).stdout.toString().split('\n')
  t.regex(lines[1], /^note: passthrough\.devices\[0\] gives both id 8086:1533 and address 0000:03:00\.0: bound by address/, 'right after the host line')
})

test('show on a sys install: setup-disk\'s rewrite and what to re-run are said', async (t) => {
  const r = await runCli(['show', 'profiles/twin-nic.yaml'])
  t.regex(r.stdout.toString(), /^note: Alpine's setup-disk rewrites features= in mkinitfs\.conf and root=, modules= and default_kernel_opts .* `apk add && mkinitfs && update-extlinux`$/m)
})

test('boot.loader that disagrees with the snapshot is refused; format-1 snapshots still build, with a notice', async (t) => {
  const snap = await collect(t, seed001Crypto)
  const grub = inline('hostname: h\ncpu: intel\nboot: { loader: grub }\npassthrough:\n  devices: [{ address: "00:1a.0", id: "8086:3a67" }, { address: "00:1a.1", id: "8086:3a68" }, { address: "00:1a.2", id: "8086:3a69" }, { address: "00:1a.7", id: "8086:3a6c" }]\n')
  t.regex(refusal(() => applySnapshot(grub, snap, 's.json')), /boot\.loader: homeassistant boots with extlinux \(snapshot\), not grub/)
  const v1 = { ...snap, hostbakeSnapshot: 2 as const, system: null, pci: snap.pci.map((d) => ({ ...d, module: null })) }
  const { plan } = renderHost(applySnapshot(await loadProfile(packagePath('profiles', 'homeassistant.yaml')), v1, 'old.json'))
  t.true(plan.notices.some((n) => n.includes('this snapshot is format 1: collect again')))
})

test('services: sshd brings openssh, networking brings ifupdown-ng; a script of its own makes any name fine', (t) => {
  const { plan } = renderHost(inline('hostname: h\ncpu: intel\ninstall: diskless\nnetwork: { ports: [eth0] }\nservices: { default: [sshd, chronyd] }\n'))
  const world = plan.world.map((w) => w.value)
  t.true(['openssh', 'chrony', 'ifupdown-ng'].every((p) => world.includes(p)), world.join(' '))
  t.regex(plan.world.find((w) => w.value === 'openssh')!.reason, /runlevel default runs sshd/)
  t.notThrows(() => inline('hostname: h\ncpu: intel\nservices: { default: [mydaemon] }\nfiles:\n  - { path: /etc/init.d/mydaemon, content: "#!/sbin/openrc-run\\n", mode: "0755" }\n'))
  t.throws(() => inline('hostname: h\ncpu: intel\nservices: { default: [mydaemon] }\n'), { message: /services\.default\[0\]: no Alpine package hostbake knows ships \/etc\/init\.d\/mydaemon/ })
})

test('a profile that adds a repository keeps the host\'s repositories first', async (t) => {
  const snap = await collect(t, seed001Crypto)
  const loaded = inline('hostname: h\ncpu: intel\nrepositories: ["@edge http://dl-cdn.alpinelinux.org/alpine/edge/testing"]\npassthrough:\n  devices: [{ address: "00:1a.0", id: "8086:3a67" }, { address: "00:1a.1", id: "8086:3a68" }, { address: "00:1a.2", id: "8086:3a69" }, { address: "00:1a.7", id: "8086:3a6c" }]\n')
  const { plan } = renderHost(applySnapshot(loaded, snap, 's.json'))
  t.deepEqual(plan.repositories, [
    'http://dl-cdn.alpinelinux.org/alpine/v3.22/main', 'http://dl-cdn.alpinelinux.org/alpine/v3.22/community', '@edge http://dl-cdn.alpinelinux.org/alpine/edge/testing',
  ])
})

test('the committed snapshots are what the collector prints for their fixtures', async (t) => {
  t.is(await readFile(packagePath('test', 'fixtures', 'seed001-host.json'), 'utf8'), await collectText(t, seed001Crypto))
  t.is(await readFile(packagePath('test', 'fixtures', 'seed001-crypto-qemu.json'), 'utf8'), await collectText(t, seed001Qemu))
})
