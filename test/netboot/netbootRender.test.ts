// iPXE scripts and the dnsmasq snippet: every argument Alpine and UEFI iPXE need, and dnsmasq itself accepts the snippet.
import test from 'ava'
import { $ } from 'zx'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { renderBootIpxe, renderHostIpxe, hostScriptPath, overlayPath, type NetbootUrls } from '../../scripts/netboot/ipxeRender.js'
import { parseDhcpMode, renderDnsmasqConf, type DnsmasqSpec } from '../../scripts/netboot/dnsmasqRender.js'
import { tempDir } from '../testSupport.js'

const urls: NetbootUrls = { base: 'http://192.168.1.5:8080', alpineDir: 'alpine/3.22.2', repo: 'http://dl-cdn.alpinelinux.org/alpine/v3.22/main' }
const entry = { hostname: 'vmhost-07', mac: '52:54:00:ab:cd:ef', initrd: 'initrd/vmhost-07.cpio.gz', cmdline: 'modules=loop,squashfs,vfio-pci intel_iommu=on iommu=pt' }

test('paths: hosts/ by hyphenated MAC (iPXE hexhyp), ovl/ by colon MAC (Alpine {MAC})', (t) => {
  t.is(hostScriptPath('52:54:00:ab:cd:ef'), 'hosts/52-54-00-ab-cd-ef.ipxe')
  t.is(overlayPath('52:54:00:ab:cd:ef'), 'ovl/52:54:00:ab:cd:ef.apkovl.tar.gz')
})

test('a host script loads the kernel with Alpine\'s initramfs and the host\'s own, each named by initrd=', (t) => {
  const lines = renderHostIpxe(entry, urls).split('\n')
  t.is(lines[0], '#!ipxe')
  const kernel = lines.find((l) => l.startsWith('kernel '))!.split(' ')
  const initrds = lines.filter((l) => l.startsWith('initrd ')).map((l) => l.split(' ')[1])
  t.deepEqual(initrds, ['http://192.168.1.5:8080/alpine/3.22.2/initramfs-lts', 'http://192.168.1.5:8080/initrd/vmhost-07.cpio.gz'])
  // UEFI iPXE hands an initrd to the EFI stub only when the command line names it (delivery-facts §8.1)
  t.deepEqual(kernel.filter((a) => a.startsWith('initrd=')), initrds.map((u) => `initrd=${u.split('/').pop()}`))
  t.is(kernel[1], 'http://192.168.1.5:8080/alpine/3.22.2/vmlinuz-lts')
  for (const arg of ['ip=dhcp', 'BOOTIF=01-52-54-00-ab-cd-ef', 'modloop=http://192.168.1.5:8080/alpine/3.22.2/modloop-lts',
    'alpine_repo=http://dl-cdn.alpinelinux.org/alpine/v3.22/main', 'apkovl=http://192.168.1.5:8080/ovl/{MAC}.apkovl.tar.gz',
    'modules=loop,squashfs,vfio-pci', 'intel_iommu=on', 'iommu=pt']) t.true(kernel.includes(arg), arg)
  t.is(lines.filter((l) => l === 'boot').length, 1)
  // the order iPXE needs: kernel, initrds, boot
  t.true(lines.indexOf('boot') > lines.findIndex((l) => l.startsWith('initrd ')))
})

test('netboot.interface pins the ip= device (initramfs-init prefers it to BOOTIF)', (t) => {
  t.regex(renderHostIpxe({ ...entry, iface: 'eth1' }, urls), / ip=:::::eth1:dhcp /)
})

test('boot.ipxe chains the per-host script by the booting NIC\'s MAC, then the chosen default', (t) => {
  for (const [unknown, expected] of [['alpine', /kernel http:\/\/192\.168\.1\.5:8080\/alpine\/3\.22\.2\/vmlinuz-lts initrd=initramfs-lts ip=dhcp/], ['exit', /\nexit 1\n/], ['stop', /unknown host \$\{netX\/mac\}\nshell\n/]] as const) {
    const s = renderBootIpxe(urls, unknown)
    t.regex(s, /^#!ipxe\n/)
    t.regex(s, /\nchain http:\/\/192\.168\.1\.5:8080\/hosts\/\$\{netX\/mac:hexhyp\}\.ipxe \|\| goto unknown\n:unknown\n/)
    t.regex(s, expected)
    // an unknown host never gets anyone's overlay
    t.notRegex(s, /apkovl=/)
  }
})

const spec = (over: Partial<DnsmasqSpec> = {}): DnsmasqSpec => ({ bootUrl: 'http://192.168.1.5:8080/boot.ipxe', dhcp: { kind: 'proxy', network: '192.168.1.5' }, tftpRoot: '/srv/tftp', efiLoader: 'ipxe.efi', ...over })

async function dnsmasqTest(t: import('ava').ExecutionContext, text: string) {
  const file = path.join(await tempDir(t), 'hostbake.conf')
  await writeFile(file, text)
  return $({ nothrow: true, quiet: true })`dnsmasq --test -C ${file}`
}

for (const [name, s] of [
  ['ProxyDHCP, ipxe.efi', spec()],
  ['full DHCP, snponly.efi', spec({ dhcp: { kind: 'full', start: '192.168.1.100', end: '192.168.1.200' }, efiLoader: 'snponly.efi' })],
] as const) {
  test(`dnsmasq --test accepts the snippet: ${name}`, async (t) => {
    const r = await dnsmasqTest(t, renderDnsmasqConf(s))
    t.is(r.exitCode, 0, r.stderr)
    t.regex(r.stderr, /syntax check OK/)
  })
}

test('dnsmasq --test is a real check: a broken snippet fails', async (t) => {
  const r = await dnsmasqTest(t, renderDnsmasqConf(spec()).replace('dhcp-match=set:ipxe,175', 'dhcp-match=set:ipxe'))
  t.not(r.exitCode, 0)
  t.regex(r.stderr, /at line 8 of /)
})

// What each kind of client is told to boot, read back from the snippet's lines as dnsmasq applies tags.
function bootFileFor(conf: string, client: { ipxe: boolean; arch: number }): string | undefined {
  const tags = new Set<string>()
  for (const l of conf.split('\n')) {
    const m = /^dhcp-match=set:(\w+),(.*)$/.exec(l)
    if (!m) continue
    if (m[2] === '175' && client.ipxe) tags.add(m[1])
    const arch = /^option:client-arch,(\d+)$/.exec(m[2])
    if (arch && Number(arch[1]) === client.arch) tags.add(m[1])
  }
  const matches = (conds: string[]) => conds.every((c) => (c.startsWith('tag:!') ? !tags.has(c.slice(5)) : !c.startsWith('tag:') || tags.has(c.slice(4))))
  for (const l of conf.split('\n')) {
    if (l.startsWith('dhcp-boot=')) {
      const parts = l.slice(10).split(',')
      if (matches(parts.filter((p) => p.startsWith('tag:')))) return parts.filter((p) => !p.startsWith('tag:'))[0]
    }
    if (l.startsWith('pxe-service=') && !client.ipxe) {
      const parts = l.slice(12).split(',')
      const csa = parts.find((p) => !p.startsWith('tag:'))
      const want = client.arch === 0 ? 'x86PC' : 'x86-64_EFI'
      if (csa === want && matches(parts.filter((p) => p.startsWith('tag:')))) return parts[parts.length - 1]
    }
  }
  return undefined
}

for (const [name, s] of [['proxy', spec()], ['full', spec({ dhcp: { kind: 'full', start: '10.0.0.100', end: '10.0.0.200' } })]] as const) {
  test(`${name} DHCP: BIOS PXE gets undionly.kpxe, UEFI PXE gets the EFI iPXE, iPXE gets boot.ipxe (no chainload loop)`, (t) => {
    const conf = renderDnsmasqConf(s)
    t.is(bootFileFor(conf, { ipxe: false, arch: 0 }), 'undionly.kpxe')
    t.is(bootFileFor(conf, { ipxe: false, arch: 7 }), 'ipxe.efi')
    t.is(bootFileFor(conf, { ipxe: false, arch: 9 }), 'ipxe.efi')
    for (const arch of [0, 7, 9]) t.is(bootFileFor(conf, { ipxe: true, arch }), 'http://192.168.1.5:8080/boot.ipxe')
  })
}

test('--dhcp: proxy on the server\'s network, proxy=NET, or a range', (t) => {
  t.deepEqual(parseDhcpMode('proxy', '192.168.1.5'), { kind: 'proxy', network: '192.168.1.5' })
  t.regex(parseDhcpMode('proxy', undefined) as string, /needs an IPv4 network/)
  t.deepEqual(parseDhcpMode('proxy=10.1.0.0', undefined), { kind: 'proxy', network: '10.1.0.0' })
  t.deepEqual(parseDhcpMode('10.0.0.100-10.0.0.200', undefined), { kind: 'full', start: '10.0.0.100', end: '10.0.0.200' })
  t.regex(parseDhcpMode('10.0.0.100-nope', undefined) as string, /expected proxy/)
})
