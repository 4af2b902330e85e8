// The refusal classes as properties: for any spelling in the class the check refuses, naming the field;
// for neighbours outside it the check stays quiet.
import test from 'ava'
import fc from 'fast-check'
import { readFile } from 'node:fs/promises'
import { CHECK_READS, checkProfile } from '../../scripts/check/profileCheck.js'
import { parseProfileText } from '../../scripts/hostPipeline.js'
import { ProfileError } from '../../scripts/shared/hostbakeError.js'
import { RUNLEVELS, type Profile } from '../../scripts/profile/profileSchema.js'
import { parseProfileLoose } from '../../scripts/profile/profileLoad.js'
import { isSecretPath, overlayPathOf, ownDirPathOf, MAX_TAR_ID } from '../../scripts/profile/pathRules.js'
import { TEST_DEVICE_DRIVERS, TEST_DEVICE_PROPERTIES, testDeviceProblems } from '../../scripts/profile/testDevices.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { profileYaml } from '../testSupport.js'

const shapeOf = (yaml: string): Profile => {
  const p = parseProfileLoose(yaml, 'x.yaml')
  if (!p.profile) throw new Error(p.problems.map((x) => x.message).join('\n'))
  return p.profile
}
const base = shapeOf(profileYaml('passthrough:\n  devices: [{ id: "8086:10d3" }]\n'))
const fields = (p: Profile) => checkProfile(p).map((i) => i.path.join('.'))
const segment = fc.stringMatching(/^[a-z0-9_.-]{1,12}$/).filter((s) => s !== '.' && s !== '..')

test('an IOMMU switched off, in any position among other options, is refused with passthrough devices only', (t) => {
  const off = fc.constantFrom('intel_iommu=off', 'iommu=off', 'intel_iommu=on,off', 'intel_iommu=igfx_off,off', 'intremap=off', 'nointremap', 'module_blacklist=vfio_pci', 'modprobe.blacklist=foo,vfio')
  const other = fc.constantFrom('quiet', 'console=ttyS0', 'rootfstype=ext4', 'iommu=pt', 'intel_iommu=on', 'nomodeset')
  fc.assert(fc.property(fc.array(other, { maxLength: 4 }), off, fc.nat(), (opts, bad, at) => {
    const kernelOpts: string[] = [...opts]
    const i = at % (opts.length + 1)
    kernelOpts.splice(i, 0, bad)
    const withDevices = { ...base, boot: { ...base.boot, kernelOpts } }
    const without = { ...withDevices, passthrough: { ...base.passthrough, devices: [] } }
    return fields(withDevices).includes(`boot.kernelOpts.${i}`) && !fields(without).includes(`boot.kernelOpts.${i}`)
  }))
  const amd = shapeOf(profileYaml('passthrough:\n  devices: [{ id: "8086:10d3" }]\nboot:\n  kernelOpts: [amd_iommu=off]\n').replace('cpu: intel', 'cpu: amd'))
  t.deepEqual(fields(amd), ['boot.kernelOpts.0'])
})

test('init= and rdinit= are refused in any position with any value; options that only start with "init" are not', (t) => {
  const value = fc.stringMatching(/^[A-Za-z0-9_./-]{0,16}$/)
  const bad = fc.tuple(fc.constantFrom('init', 'rdinit'), value).map(([k, v]) => `${k}=${v}`)
  const other = fc.constantFrom('quiet', 'console=ttyS0', 'initcall_debug', 'initcall_blacklist=foo', 'init_on_alloc=1', 'initrd=/boot/x', 'iommu=pt')
  fc.assert(fc.property(fc.array(other, { maxLength: 4 }), bad, fc.nat(), (opts, opt, at) => {
    const kernelOpts: string[] = [...opts]
    const i = at % (opts.length + 1)
    kernelOpts.splice(i, 0, opt)
    const got = fields({ ...base, boot: { ...base.boot, kernelOpts } }).filter((f) => f.startsWith('boot.kernelOpts'))
    return got.length === 1 && got[0] === `boot.kernelOpts.${i}`
  }))
  const shell = checkProfile({ ...base, boot: { ...base.boot, kernelOpts: ['quiet', 'init=/bin/sh'] } })
  t.regex(shell.find((x) => x.path.join('.') === 'boot.kernelOpts.1')!.message, /root shell without a password/)
})

test('a derived service (or networking) listed in another runlevel is refused; in its own it is fine', (t) => {
  const host = shapeOf(profileYaml('passthrough:\n  devices: [{ address: "04:00.0", id: "8086:10d3" }]\nnetwork: { ports: [eth0] }\nguests: [{ name: g, vcpus: 1, memory: 512 }]\n'))
  const own: Record<string, string> = { 'hostbake-guard': 'sysinit', networking: 'boot', libvirtd: 'default', 'libvirt-guests': 'default' }
  for (const [svc, level] of Object.entries(own)) {
    for (const l of RUNLEVELS) {
      const p = { ...host, services: { ...host.services, [l]: [svc] } }
      t.is(fields(p).includes(`services.${l}.0`), l !== level, `${svc} in ${l}`)
    }
  }
})

test('paths: any .. component, any way into /run (also /var/run), any component over 255 bytes is refused', (t) => {
  fc.assert(fc.property(fc.array(segment, { maxLength: 3 }), fc.array(segment, { maxLength: 3 }), (a, b) => {
    const dotdot = overlayPathOf(`/${[...a, '..', ...b].join('/')}`).error !== undefined
    const run = overlayPathOf(`/var/run/${[...b, 'x'].join('/')}`).error !== undefined && overlayPathOf(`/run/${[...b, 'x'].join('/')}`).error !== undefined
    const long = overlayPathOf(`/${[...a, 'x'.repeat(256)].join('/')}`).error !== undefined
    return dotdot && run && long
  }))
  for (const p of ['/', '/etc', '/var', '/var/lib', '/var/tmp', '/tmp/x', '/var/run/x', '/usr', '/root', '/home', '/etc/init.d']) t.truthy(ownDirPathOf(p).error, p)
  for (const p of ['/var/lib/libvirt/images', '/srv/vm', '/data/pool']) t.is(ownDirPathOf(p).error, undefined, p)
})

test('secret-looking paths: the one list covers host keys of any daemon, WireGuard, libvirt secrets, private/ and secrets/, *.key, *.pem', (t) => {
  const secret = fc.oneof(
    segment.map((s) => `/etc/ssh/ssh_host_${s}_key`), segment.map((s) => `/etc/dropbear/dropbear_${s}_host_key`),
    segment.map((s) => `/etc/wireguard/${s}`), segment.map((s) => `/etc/libvirt/secrets/${s}`),
    fc.tuple(segment, segment).map(([d, s]) => `/srv/${d}/private/${s}`), fc.tuple(segment, segment).map(([d, s]) => `/opt/${d}/secrets/${s}`),
    segment.map((s) => `/etc/${s}.key`), segment.map((s) => `/etc/ssl/${s}.pem`),
  )
  fc.assert(fc.property(secret, (p) => {
    if (!isSecretPath(p)) return false
    const f = { ...base, files: [{ path: p, content: 'k', mode: '0644' }] }
    const dflt = { ...base, files: [{ path: p, content: 'k' }] }
    return fields(f).includes('files.0.mode') && !fields(dflt).some((x) => x.startsWith('files'))
  }))
  t.false(isSecretPath('/etc/ssh/ssh_host_ed25519_key.pub'))
  t.false(isSecretPath('/etc/motd'))
})

test('owners: ids beyond the tar header are refused with the limit; non-root owners never under root-only trees', (t) => {
  fc.assert(fc.property(fc.integer({ min: MAX_TAR_ID + 1, max: 9_999_999_999 }), (uid) => {
    const issues = checkProfile({ ...base, files: [{ path: '/srv/x', content: 'x', owner: `${uid}:0` }] })
    return issues.some((i) => i.path.join('.') === 'files.0.owner' && i.message.includes(String(MAX_TAR_ID)))
  }))
  fc.assert(fc.property(fc.constantFrom('/root/.ssh/authorized_keys', '/etc/init.d/x', '/etc/doas.conf', '/usr/bin/x', '/sbin/x', '/etc/periodic/daily/x'), fc.integer({ min: 1, max: MAX_TAR_ID }), (p, uid) =>
    fields({ ...base, files: [{ path: p, content: 'x', owner: `${uid}:${uid}` }] }).includes('files.0.owner')))
  t.deepEqual(fields({ ...base, files: [{ path: '/home/alice/.profile', content: 'x', owner: '1000:1000' }] }), [])
})

test('test devices: only listed drivers and properties; anything naming a file, chardev, drive or backend is refused', (t) => {
  const ok = fc.tuple(fc.constantFrom(...TEST_DEVICE_DRIVERS), fc.array(fc.tuple(fc.constantFrom('addr', 'id', 'bus', 'chassis'), fc.stringMatching(/^[a-z0-9.]{1,8}$/)), { maxLength: 3 }))
    .map(([d, props]) => [d, ...props.map(([k, v]) => `${k}=${v}`)].join(','))
  fc.assert(fc.property(ok, (d) => testDeviceProblems(d).length === 0))
  const hostile = fc.tuple(fc.constantFrom(...TEST_DEVICE_DRIVERS), fc.constantFrom('romfile=/etc/shadow', 'drive=d0', 'chardev=c0', 'memdev=m', 'file=/x', 'fsdev=f', 'netdev=user0', 'id=a,,romfile=/x', 'x-foo=1'))
    .map(([d, p]) => `${d},${p}`)
  fc.assert(fc.property(hostile, (d) => testDeviceProblems(d).length > 0))
  for (const d of ['loader,file=/etc/shadow', '-object memory-backend-file,mem-path=/etc/shadow', 'vfio-pci,host=01:00.0', 'virtio-blk-pci,drive=d', 'isa-serial,chardev=c']) t.true(testDeviceProblems(d).length > 0, d)
})

test('test/boot/README.md lists exactly the allowed test devices and properties', async (t) => {
  const readme = await readFile(packagePath('test', 'boot', 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Test devices'))
  for (const d of [...TEST_DEVICE_DRIVERS, ...TEST_DEVICE_PROPERTIES]) t.true(section.includes(`\`${d}\``), d)
})

test('address-only binding: refused without a snapshot, accepted when a snapshot will record the id', (t) => {
  const p = shapeOf(profileYaml('passthrough:\n  devices: [{ address: "04:00.0" }]\n'))
  t.deepEqual(fields(p), ['passthrough.devices.0.address'])
  t.deepEqual(checkProfile(p, { snapshot: true }), [])
})

// CHECK_READS is hand-written: a field with a bad shape is dropped and the rest still checked; no check may then
// report a problem that only the dropped field would have answered (a false error next to the real one)
test('a field with a bad shape adds no problem elsewhere: CHECK_READS names every field a check reads', (t) => {
  const good = profileYaml([
    'alpine: { release: "3.22" }', 'boot: { kernelOpts: [quiet] }', 'modules: [tun]',
    'network: { bridge: br0, ports: [eth0] }', 'storage: { pools: [{ name: default, path: /var/lib/libvirt/images }] }',
    'passthrough:', '  devices: [{ id: "8086:10d3" }]', 'guests: [{ name: g, vcpus: 1, memory: 512 }]',
    'services: { default: [mysvc, libvirtd] }', 'files: [{ path: /etc/init.d/mysvc, content: "#!/sbin/openrc-run", mode: "0755" }]',
    'test: { iommu: intel, devices: [e1000e] }', '',
  ].join('\n'))
  t.notThrows(() => parseProfileText(good, 'good.yaml'))
  for (const field of Object.keys(CHECK_READS)) {
    const bad = good.replace(new RegExp(`^${field}:.*(\\n  .*)*`, 'm'), `${field}: 42`)
    t.not(bad, good, field)
    const err = t.throws(() => parseProfileText(bad, 'bad.yaml'), { instanceOf: ProfileError })
    const elsewhere = err!.problems.filter((p) => !p.field.startsWith(field))
    t.deepEqual(elsewhere.map((p) => `${p.field}: ${p.message}`), [], `${field} broken`)
  }
})
