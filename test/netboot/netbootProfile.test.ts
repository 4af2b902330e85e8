// netboot: in profiles: MACs normalised to Alpine's {MAC} form, bad ones refused with their line, one MAC per host.
import test from 'ava'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { ProfileError } from '../../scripts/shared/hostbakeError.js'
import { loadProfiles, parseProfileText } from '../../scripts/hostPipeline.js'
import { planHost } from '../../scripts/plan/hostPlan.js'
import { profileYaml, tempDir } from '../testSupport.js'

const netboot = (nb: string, extra = 'install: diskless\n') => profileYaml(`${extra}netboot: ${nb}\n`)

test('a MAC in any spelling becomes lowercase with colons (what initramfs-init substitutes for {MAC})', (t) => {
  const { profile } = parseProfileText(netboot('{ mac: "52-54-00-AB-CD-EF" }'), 'ok.yaml')
  t.deepEqual(profile.netboot!.mac, ['52:54:00:ab:cd:ef'])
  const list = parseProfileText(netboot('{ mac: ["52:54:00:12:34:56", "52:54:00:AB:CD:02"], interface: eth1 }'), 'ok.yaml').profile
  t.deepEqual(list.netboot, { mac: ['52:54:00:12:34:56', '52:54:00:ab:cd:02'], interface: 'eth1' })
})

const rejected: [string, string, string, RegExp][] = [
  ['not a MAC', '{ mac: "52:54:00:12:34" }', 'install: diskless\n', /:4:\d+ netboot\.mac: expected a MAC address/],
  ['multicast', '{ mac: "01:00:5e:00:00:01" }', 'install: diskless\n', /netboot\.mac: a multicast MAC/],
  ['empty list', '{ mac: [] }', 'install: diskless\n', /netboot\.mac: .*at least one MAC/],
  ['twice in one host', '{ mac: ["52:54:00:12:34:56", "52-54-00-12-34-56"] }', 'install: diskless\n', /netboot\.mac\[1\]: 52:54:00:12:34:56 is listed twice/],
  ['sys install', '{ mac: "52:54:00:12:34:56" }', '', /:3:\d+ netboot|install: a netboot host runs from RAM/],
  ['bad interface', '{ mac: "52:54:00:12:34:56", interface: "eth0; reboot" }', 'install: diskless\n', /netboot\.interface: expected an interface name/],
  ['unknown key', '{ mac: "52:54:00:12:34:56", macs: [] }', 'install: diskless\n', /netboot: unknown field|netboot\.macs/],
]
for (const [name, nb, extra, expected] of rejected) {
  test(`netboot rejects: ${name}`, (t) => {
    const err = t.throws(() => parseProfileText(netboot(nb, extra), 'bad.yaml'), { instanceOf: ProfileError })
    t.regex(err!.message, /^bad\.yaml:\d+:\d+ /m)
    t.regex(err!.message, expected)
  })
}

test('one MAC in two profiles is an error naming both files', async (t) => {
  const dir = await tempDir(t)
  const a = path.join(dir, 'rack-a.yaml')
  const b = path.join(dir, 'rack-b.yaml')
  await writeFile(a, 'hostname: rack-a\ncpu: intel\ninstall: diskless\nnetboot:\n  mac: ["52:54:00:00:00:01", "52:54:00:00:00:02"]\n')
  await writeFile(b, 'hostname: rack-b\ncpu: intel\ninstall: diskless\nnetboot:\n  mac: "52:54:00:00:00:02"\n')
  const err = await t.throwsAsync(loadProfiles([a, b]), { instanceOf: ProfileError })
  t.is(err!.problems.length, 1)
  t.regex(err!.message, new RegExp(`^${b.replace(/[.]/g, '\\.')}:5:\\d+ netboot\\.mac\\[0\\]: 52:54:00:00:00:02 is also netboot\\.mac of ${a.replace(/[.]/g, '\\.')}:5 \\(hostname rack-a\\)`))
})

test('a guest NIC may not reuse the host\'s netboot MAC', (t) => {
  const yaml = netboot('{ mac: "52:54:00:12:34:56" }') +
    'guests:\n  - { name: vm1, vcpus: 1, memory: 512, network: { bridge: br0, mac: "52:54:00:12:34:56" } }\nnetwork: { ports: [eth0] }\n'
  const err = t.throws(() => parseProfileText(yaml, 'bad.yaml'), { instanceOf: ProfileError })
  t.regex(err!.message, /guests\[0\]\.network\.mac: 52:54:00:12:34:56 is also this host's netboot MAC/)
})

test('netboot hosts default to modules=loop,squashfs (no boot disk) plus the vfio modules', (t) => {
  const { profile } = parseProfileText(netboot('{ mac: "52:54:00:12:34:56" }') + 'passthrough:\n  devices: [{ id: "8086:2934" }]\n', 'ok.yaml')
  t.regex(planHost(profile).cmdline, /^modules=loop,squashfs,vfio,vfio-pci,vfio_iommu_type1 /)
})
