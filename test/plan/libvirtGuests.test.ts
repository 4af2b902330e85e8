// The host's job, checked by the programs that read it: libvirt's own validator and its test driver
// for the domain and pool XML, and ifupdown-ng (Alpine's network configurator) for the bridge.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { bakeHost } from '../../scripts/hostPipeline.js'
import { loadProfile } from '../../scripts/hostPipeline.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import type { BakedHost } from '../../scripts/hostPipeline.js'
import { TEST_CACHE, tempDir } from '../testSupport.js'

const IFQUERY = path.join(TEST_CACHE, 'tools', 'ifupdown-ng', 'sbin', 'ifquery')
const profiles = [packagePath('profiles', 'homeassistant.yaml'), packagePath('test', 'fixtures', 'lab-host.yaml')]

async function unpack(host: BakedHost, dir: string): Promise<string> {
  const root = path.join(dir, host.hostname)
  for (const e of host.files.values()) {
    if (e.type !== 'file') continue
    await mkdir(path.dirname(path.join(root, e.name)), { recursive: true })
    await writeFile(path.join(root, e.name), e.data!)
  }
  return root
}

const run = (cmd: string, args: string[]) => {
  const p = spawnSync(cmd, args, { encoding: 'utf8' })
  return { code: p.status, out: `${p.stdout}${p.stderr}` }
}

for (const file of profiles) {
  test(`libvirt validates and defines every guest and pool of ${path.basename(file)}`, async (t) => {
    const host = await bakeHost(await loadProfile(file))
    const root = await unpack(host, await tempDir(t))
    t.true(host.plan.guests.length > 0 && host.plan.pools.length > 0)
    const cmds: string[] = []
    for (const g of host.plan.guests) {
      const xml = path.join(root, 'etc/libvirt/qemu', `${g.name}.xml`)
      const v = run('virt-xml-validate', [xml, 'domain'])
      t.is(v.code, 0, v.out)
      cmds.push(`define ${xml}`, `dumpxml ${g.name}`)
      t.is(host.files.get(`etc/libvirt/qemu/autostart/${g.name}.xml`)?.target, g.autostart ? `/etc/libvirt/qemu/${g.name}.xml` : undefined)
    }
    for (const p of host.plan.pools) {
      const xml = path.join(root, 'etc/libvirt/storage', `${p.name}.xml`)
      const v = run('virt-xml-validate', [xml, 'storagepool'])
      t.is(v.code, 0, v.out)
      cmds.push(`pool-define ${xml}`, `pool-dumpxml ${p.name}`)
      t.is(host.files.get(`etc/libvirt/storage/autostart/${p.name}.xml`)?.target, `/etc/libvirt/storage/${p.name}.xml`)
    }
    // one virsh process: the test driver's state lives as long as the connection
    const d = run('virsh', ['-c', 'test:///default', cmds.join(' ; ')])
    t.is(d.code, 0, d.out)
    for (const g of host.plan.guests) {
      t.regex(d.out, new RegExp(`<name>${g.name}</name>\\s*<uuid>${g.uuid}</uuid>`), `${g.name}: libvirt kept our UUID`)
      t.regex(d.out, new RegExp(`<memory unit='KiB'>${g.memory * 1024}</memory>`))
      for (const h of g.pci) t.regex(d.out, new RegExp(`<address domain='${h.domain}' bus='${h.bus}' slot='${h.slot}' function='${h.function}'/>`))
      for (const u of g.usb) t.regex(d.out, new RegExp(`<vendor id='0x${u.vendor}'/>\\s*<product id='0x${u.product}'/>`))
      if (g.network?.mac) t.regex(d.out, new RegExp(`<mac address='${g.network.mac}'/>\\s*<source bridge='${g.network.bridge}'/>`))
    }
    for (const p of host.plan.pools) t.regex(d.out, new RegExp(`<path>${p.path}</path>`))
    t.notRegex(d.out, /<graphics|<video|<sound/, 'headless guests')
  })

  test(`ifupdown-ng reads the bridge of ${path.basename(file)} as intended`, async (t) => {
    const host = await bakeHost(await loadProfile(file))
    const root = await unpack(host, await tempDir(t))
    const net = host.plan.network!
    const ifaces = path.join(root, 'etc/network/interfaces')
    const list = run(IFQUERY, ['-i', ifaces, '-L'])
    t.is(list.code, 0, list.out)
    t.deepEqual(list.out.trim().split('\n').sort(), ['lo', net.bridge, ...net.ports].sort(), 'auto interfaces')
    const br = run(IFQUERY, ['-i', ifaces, net.bridge])
    t.is(br.code, 0, br.out)
    t.regex(br.out, new RegExp(`bridge-ports ${net.ports.join(' ')}\\n`))
    t.regex(br.out, /use bridge/)
    if (net.dhcp === true) t.regex(br.out, /use dhcp/)
    else {
      t.regex(br.out, new RegExp(`address ${net.dhcp.address}`))
      t.regex(br.out, /use static/)
      if (net.dhcp.gateway) t.regex(br.out, new RegExp(`gateway ${net.dhcp.gateway}`))
      const resolv = host.files.get('etc/resolv.conf')!.data!.toString()
      t.deepEqual(resolv.split('\n').filter((l) => l.startsWith('nameserver')), net.dhcp.dns.map((d) => `nameserver ${d}`))
    }
    for (const port of net.ports) t.regex(run(IFQUERY, ['-i', ifaces, port]).out, /use link/)
  })
}

test('guests derive tun, libvirtd, libvirt-guests, networking and their packages', async (t) => {
  const host = await bakeHost(await loadProfile(packagePath('test', 'fixtures', 'lab-host.yaml')))
  const v = (items: { value: string }[]) => items.map((i) => i.value)
  t.true(v(host.plan.modules).includes('tun'))
  t.deepEqual(v(host.plan.runlevels.default), ['libvirtd', 'libvirt-guests'])
  t.true(v(host.plan.runlevels.boot).includes('networking'))
  for (const pkg of ['bridge', 'libvirt-daemon', 'qemu-system-x86_64']) t.true(v(host.plan.world).includes(pkg), pkg)
  t.false(v(host.plan.world).includes('ovmf'), 'no uefi guest, no OVMF')
  const ha = await bakeHost(await loadProfile(packagePath('profiles', 'homeassistant.yaml')))
  t.true(v(ha.plan.world).includes('ovmf'), 'a uefi guest brings OVMF')
  const router = host.plan.guests.find((g) => g.name === 'router')!
  t.deepEqual(router.disks.map((d) => d.dev), ['sda', 'vda'])
  t.deepEqual(router.disks.map((d) => d.format), ['raw', 'qcow2'])
  t.false(host.files.has('etc/libvirt/qemu/autostart/lab.xml'), 'autostart: false')
})
