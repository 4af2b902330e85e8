import test from 'ava'
import { readFile } from 'node:fs/promises'
import { ProfileError } from '../../scripts/shared/hostbakeError.js'
import { parseProfileText } from '../../scripts/hostPipeline.js'
import { renderJsonSchema } from '../../scripts/profile/profileSchema.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { profileYaml } from '../testSupport.js'

// [name, yaml fragment added to a minimal profile]
const accepted: [string, string][] = [
  ['minimal', ''],
  ['diskless on 3.20', 'alpine: { release: "3.20" }\ninstall: diskless\n'],
  ['id-bound devices', 'passthrough:\n  devices: [{ id: "8086:3a67" }, { id: "10de:13c2" }]\n  preempt: [igb]\n'],
  ['address with id', 'passthrough:\n  devices: [{ address: "0000:04:00.0", id: "8086:10d3" }]\n'],
  ['short lspci address', 'passthrough:\n  devices: [{ address: "04:00.0", id: "8086:10d3" }]\n'],
  ['kernel override', 'alpine: { release: "3.18", kernelVersion: "6.1" }\n'],
  ['services in all levels', 'network: { ports: [eth0] }\nservices: { sysinit: [udev], boot: [networking], default: [sshd], shutdown: [killprocs] }\n'],
  ['file with content', 'files: [{ path: /etc/motd, content: "hi\\n" }]\n'],
  ['secret file 0600', 'files: [{ path: /root/.ssh/id_ed25519, content: "k", mode: "0600" }]\n'],
  ['world constraints', 'packages: [qemu-img, "linux-lts>=6.12", "foo@edge", "bar~1.2"]\n'],
  ['repositories', 'repositories: ["https://dl-cdn.alpinelinux.org/alpine/v3.22/main", "@local /media/usb/apks"]\n'],
  ['test section', 'test: { iommu: intel, devices: ["e1000e,addr=03.0"], expect: { drivers: { "0000:00:03.0": e1000e } } }\n'],
]

for (const [name, yaml] of accepted) {
  test(`accepts: ${name}`, (t) => {
    const { profile } = parseProfileText(profileYaml(yaml), 'ok.yaml')
    t.is(profile.hostname, 'testhost')
  })
}

test('defaults are filled from the schema', (t) => {
  const { profile } = parseProfileText(profileYaml(), 'ok.yaml')
  t.deepEqual(profile.alpine, { release: '3.22', kernel: 'lts' })
  t.is(profile.install, 'sys')
  t.deepEqual(profile.boot.kernelOpts, ['quiet'])
  t.deepEqual(profile.passthrough, { devices: [], usb: [], preempt: [], allowUnsafeInterrupts: false })
})

test('a short lspci address is normalized to the sysfs form', (t) => {
  const { profile } = parseProfileText(profileYaml('passthrough:\n  devices: [{ address: "04:00.0", id: "8086:10d3" }]\n'), 'ok.yaml')
  t.is(profile.passthrough.devices[0].address, '0000:04:00.0')
})

// [name, yaml, expected "line field: message" fragment]
const rejected: [string, string, RegExp][] = [
  ['unknown top-level key', 'hostnam: x\n', /:3:1 hostnam: unknown field/],
  ['cpu not a vendor', 'x', /cpu: .*"intel"\|"amd"|cpu: .*intel.*amd/],
  ['uppercase id', 'passthrough:\n  devices: [{ id: "8086:3A67" }]\n', /:4:\d+ passthrough\.devices\[0\]\.id: expected a lowercase vendor:device id/],
  ['empty device', 'passthrough:\n  devices: [{}]\n', /passthrough\.devices\[0\]: give an id, an address, or both/],
  ['release unquoted as number', 'alpine: { release: 3.2 }\n', /alpine\.release: expected an Alpine release/],
  ['mode as a YAML number', 'files: [{ path: /etc/x, content: a, mode: 0600 }]\n', /files\[0\]\.mode: expected an octal mode in quotes/],
  ['content and source', 'files: [{ path: /etc/x, content: a, source: b }]\n', /files\[0\]: give exactly one of content or source/],
  ['virt kernel with passthrough', 'alpine: { kernel: virt }\npassthrough:\n  devices: [{ id: "8086:3a67" }]\n', /:3:\d+ alpine\.kernel: linux-virt is built without VFIO/],
  ['an option value split by a flow list', 'boot: { kernelOpts: [quiet, console=ttyS0,115200] }\n', /:\d+:\d+ boot\.kernelOpts\[2\]: "115200" follows "console=ttyS0" after a bare comma.*Quote the whole option \("console=ttyS0,115200"\)/],
  ['acs override', 'boot: { kernelOpts: [quiet, pcie_acs_override=downstream] }\n', /boot\.kernelOpts\[1\]: pcie_acs_override needs the out-of-tree ACS override patch/],
  ['hostile path', 'files: [{ path: /etc/../../x, content: a }]\n', /files\[0\]\.path: .*escapes the overlay/],
  ['secret readable by others', 'files: [{ path: /root/.ssh/id_rsa, content: k, mode: "0644" }]\n', /files\[0\]\.mode: 0644 makes \/root\/\.ssh\/id_rsa readable by others/],
]

test('flow lists: a quoted option keeps its commas; bare commas between plain words, or after a space, are items', (t) => {
  const { profile } = parseProfileText(profileYaml('boot: { kernelOpts: [quiet, "console=ttyS0,115200", iommu=pt, nomodeset] }\nmodules: [tun,vhost_net]\n'), 'ok.yaml')
  t.deepEqual(profile.boot.kernelOpts, ['quiet', 'console=ttyS0,115200', 'iommu=pt', 'nomodeset'])
  t.deepEqual(profile.modules, ['tun', 'vhost_net'])
})

for (const [name, yaml, expected] of rejected) {
  test(`rejects: ${name}`, (t) => {
    const text = yaml === 'x' ? 'hostname: testhost\ncpu: arm\n' : profileYaml(yaml)
    const err = t.throws(() => parseProfileText(text, 'bad.yaml'), { instanceOf: ProfileError })
    t.regex(err!.message, /^bad\.yaml:\d+:\d+ /m)
    t.regex(err!.message, expected)
  })
}

test('the committed JSON Schema is the one the zod schema generates', async (t) => {
  const committed = await readFile(packagePath('profiles', 'hostbake.schema.json'), 'utf8')
  t.is(committed, renderJsonSchema(), 'stale: run `node dist/scripts/hostbake.js schema -o profiles/hostbake.schema.json`')
})

test('the JSON Schema is strict and documents defaults', (t) => {
  const schema = JSON.parse(renderJsonSchema())
  t.is(schema.additionalProperties, false)
  t.deepEqual(schema.required.sort(), ['cpu', 'hostname'])
  t.is(schema.properties.install.default, 'sys')
  t.deepEqual(schema.properties.cpu.enum, ['intel', 'amd'])
})

test('every bundled profile names the schema in its yaml-language-server modeline', async (t) => {
  for (const name of ['homeassistant', 'gpu-workstation', 'amd-router', 'twin-nic']) {
    const text = await readFile(packagePath('profiles', `${name}.yaml`), 'utf8')
    t.true(text.startsWith('# yaml-language-server: $schema=./hostbake.schema.json\n'), name)
  }
})
