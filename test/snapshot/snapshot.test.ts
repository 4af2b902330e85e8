// Host snapshots: the real collector (POSIX sh, run by busybox like on a stock Alpine host) over /sys
// trees shaped like the seeds' hosts; inspect's table; bad snapshots rejected with file, line and field.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseSnapshotText } from '../../scripts/snapshot/snapshotLoad.js'
import { inspectGroups, protectedDevices } from '../../scripts/snapshot/snapshotInspect.js'
import { ProfileError } from '../../scripts/shared/hostbakeError.js'
import { makeSysfs, seed001, seed001Crypto, seed001GrubFiles, seed002, seed003 } from './sysfsFixture.js'
import { collect } from './snapshotSupport.js'
import { runCli, tempDir } from '../testSupport.js'


test('seed 001: group 4 holds the four ICH10 USB functions, the Zigbee dongle sits under 00:1a.0', async (t) => {
  const s = await collect(t, seed001)
  t.is(s.host, 'homeassistant')
  const g4 = inspectGroups(s).find((g) => g.group === 4)!
  t.deepEqual(g4.devices.map((d) => `${d.address} ${d.id} ${d.driver}`), [
    '0000:00:1a.0 8086:3a67 uhci_hcd', '0000:00:1a.1 8086:3a68 uhci_hcd', '0000:00:1a.2 8086:3a69 uhci_hcd', '0000:00:1a.7 8086:3a6c ehci-pci',
  ])
  const zigbee = s.usb.find((u) => u.product === 'Sonoff Zigbee 3.0 USB Dongle Plus')!
  t.like(zigbee, { port: '3-2', bus: 3, id: '10c4:ea60', controller: '0000:00:1a.0' })
  t.deepEqual(g4.devices[1].usb.map((u) => u.product), ['USB Audio CODEC'])
  const nic = s.pci.find((d) => d.address === '0000:02:00.0')!
  t.like(nic, { parent: '0000:00:1c.0', bridge: false, resetMethod: 'flr bus' })
  t.true(s.pci.find((d) => d.address === '0000:00:1c.0')!.bridge)
  t.deepEqual(s.managementNic, { name: 'br0', mac: '00:1b:21:aa:bb:cc', pci: ['0000:02:00.0'] }, 'the bridge and the NIC under it')
  t.deepEqual(s.storage, [{ mount: '/', device: 'sda2', controller: '0000:00:1f.2' }])
})

test('seed 002: the GTX 970 and its audio share a group with their root port', async (t) => {
  const s = await collect(t, seed002)
  const g1 = inspectGroups(s).find((g) => g.group === 1)!
  t.deepEqual(g1.devices.map((d) => [d.address, d.bridge]), [['0000:00:01.0', true], ['0000:01:00.0', false], ['0000:01:00.1', false]])
  t.is(s.pci.find((d) => d.id === '1b73:1100')!.group, 9)
})

test('seed 003: the NVMe that holds / and /boot and the management NIC are protected', async (t) => {
  const s = await collect(t, seed003)
  const keep = protectedDevices(s)
  t.deepEqual(keep.get('0000:3e:00.0'), ['storage of / (nvme0n1p3)', 'storage of /boot (nvme0n1p2)'])
  t.deepEqual(keep.get('0000:00:1f.6'), ['management NIC enp0s31f6'])
  t.is(keep.get('0000:3d:00.0'), undefined, 'the other NVMe is free to go')
})

test('hostbake snapshot --sysfs and inspect through the CLI', async (t) => {
  const root = await tempDir(t)
  await makeSysfs(root, seed001)
  const out = path.join(root, 'snap.json')
  const r = await runCli(['snapshot', '--sysfs', root, '-o', out])
  t.is(r.code, 0, r.stderr)
  const i = await runCli(['inspect', out])
  t.is(i.code, 0, i.stderr)
  t.regex(i.stdout.toString(), /IOMMU group 4:\n  0000:00:1a\.0 \[8086:3a67\] class 0x0c0300 driver uhci_hcd\n    usb 3-1 \[0d8c:000c\] C-Media USB Headphone Set\n    usb 3-2 \[10c4:ea60\] Sonoff Zigbee 3\.0 USB Dongle Plus\n/)
  t.regex(i.stdout.toString(), /0000:00:1f\.2 .*KEEP: storage of \/ \(sda2\)/)
  const c = await runCli(['snapshot', '--collector'])
  t.true(c.stdout.toString().startsWith('#!/bin/sh\n'))
  t.is(spawnSync('/bin/busybox', ['sh', '-n'], { input: c.stdout }).status, 0, 'valid POSIX sh')
})

// [name, snapshot text, expected message]
const badSnapshots: [string, string, RegExp][] = [
  ['truncated JSON', '{"hostbakeSnapshot":1,"host":"x","pci":[{"address":', /bad\.json:1:\d+ YAML: /],
  ['empty output', '', /bad\.json empty: did the collector run/],
  ['another format version', '{"hostbakeSnapshot":3,"host":null,"kernel":null,"pci":[],"usb":[],"storage":[],"managementNic":null}', /bad\.json:1:\d+ hostbakeSnapshot: expected hostbakeSnapshot: 1 or 2/],
  ['missing field', '{\n"hostbakeSnapshot":1,\n"host":null,\n"kernel":null,\n"pci":[{"address":"0000:00:1a.0","id":"8086:3a67"}],\n"usb":[],"storage":[],"managementNic":null}', /bad\.json:5:\d+ pci\[0\]\.class: required field missing/],
  ['not an object', '[1,2,3]', /bad\.json:1:1 expected a JSON object/],
  ['format 2 without system', '{"hostbakeSnapshot":2,"host":null,"kernel":null,"pci":[],"usb":[],"storage":[],"managementNic":null}', /bad\.json:1:1 system: required field missing/],
  ['unknown field', '{"hostbakeSnapshot":1,"host":null,"kernel":null,"pci":[],"usb":[],"storage":[],"managementNic":null,"extra":1}', /extra: unknown field/],
]
for (const [name, text, message] of badSnapshots) {
  test(`bad snapshot: ${name}`, async (t) => {
    const err = t.throws(() => parseSnapshotText(text, 'bad.json'), { instanceOf: ProfileError })
    t.regex(err!.message, message)
    const dir = await tempDir(t)
    await writeFile(path.join(dir, 'bad.json'), text)
    const r = await runCli(['inspect', 'bad.json'], { cwd: dir })
    t.is(r.code, 2)
    t.regex(r.stderr, message)
  })
}

test('seed 001 crypto install: the collector records what an overlay must keep (world, features, extlinux, loader)', async (t) => {
  const s = await collect(t, seed001Crypto)
  t.is(s.hostbakeSnapshot, 2)
  t.truthy(s.system)
  const sys = s.system!
  t.true(['openssh', 'chrony', 'e2fsprogs', 'cryptsetup', 'lvm2', 'syslinux'].every((p) => sys.world!.includes(p)), sys.world!.join(' '))
  t.is(sys.mkinitfsFeatures, 'ata base ide scsi usb virtio ext4 lvm cryptsetup keymap')
  t.deepEqual(sys.modules, ['af_packet', 'ipv6', 'tun'])
  t.deepEqual(sys.repositories, ['http://dl-cdn.alpinelinux.org/alpine/v3.22/main', 'http://dl-cdn.alpinelinux.org/alpine/v3.22/community'], 'the commented-out cdrom line is not a repository')
  t.deepEqual(sys.extlinux, {
    root: '/dev/mapper/root', modules: 'sd-mod,usb-storage,ext4',
    defaultKernelOpts: 'cryptroot=UUID=eec5190e-eebd-4985-9abc-36a61341e038 cryptdm=root quiet rootfstype=ext4 intel_iommu=on iommu=pt',
  })
  t.is(sys.grub, null)
  t.false(sys.efi)
  t.is(sys.bootloader, 'extlinux')
  const mod = (a: string) => s.pci.find((d) => d.address === a)!.module
  t.deepEqual([mod('0000:00:1a.0'), mod('0000:00:1a.7'), mod('0000:02:00.0'), mod('0000:00:1c.0')], ['uhci_hcd', 'ehci_pci', 'igb', null], 'pcieport is built in')
})

test('a UEFI host with GRUB: efi, the loader and GRUB_CMDLINE_LINUX_DEFAULT as grub-mkconfig reads it', async (t) => {
  const s = await collect(t, { ...seed001, files: seed001GrubFiles, efi: true })
  t.like(s.system, { efi: true, bootloader: 'grub', extlinux: null })
  t.regex(s.system!.grub!.cmdlineLinuxDefault, /^modules=sd-mod,usb-storage,ext4 cryptroot=UUID=eec5190e-\S+ cryptdm=root quiet/)
  t.is(s.system!.grub!.cmdlineLinux, '')
})

test('a host without those files: each is null, not guessed', async (t) => {
  const s = await collect(t, seed001)
  t.deepEqual(s.system, { world: null, modules: null, repositories: null, mkinitfsFeatures: null, extlinux: null, grub: null, efi: false, bootloader: null })
})

test('format 1 snapshots (made by the first collector) still load: modules and system unknown', (t) => {
  const v1 = JSON.stringify({
    hostbakeSnapshot: 1, host: 'old', kernel: '6.12.1-0-lts',
    pci: [{ address: '0000:00:1a.0', id: '8086:3a67', subsystem: null, class: '0x0c0300', driver: 'uhci_hcd', group: 4, resetMethod: null, bridge: false, parent: null }],
    usb: [], storage: [], managementNic: null,
  })
  const s = parseSnapshotText(v1, 'old.json')
  t.is(s.hostbakeSnapshot, 2)
  t.is(s.system, null)
  t.like(s.pci[0], { address: '0000:00:1a.0', driver: 'uhci_hcd', module: null, group: 4 })
  const bad = t.throws(() => parseSnapshotText(v1.replace('"bridge":false', '"bridge":false,"module":"x"'), 'old.json'))
  t.regex(bad!.message, /pci\[0\]\.module: unknown field/, 'format 1 is checked as format 1')
})
