// hostbake pxe: the tree layout is a contract; files are what they claim (sha256), reproducible, written atomically.
import test from 'ava'
import { $ } from 'zx'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { cp, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { listCpio } from '../../scripts/image/cpioArchive.js'
import type { NetbootManifest } from '../../scripts/netboot/netbootTree.js'
import { versionFromNames } from '../../scripts/netboot/netbootMedia.js'
import { runCli, tempDir } from '../testSupport.js'
import { makeTree, NETBOOT_PROFILES, standInNetboot, TEST_URL } from './netbootSupport.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

async function listTree(dir: string, base = dir): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...(await listTree(p, base)))
    else out.push(path.relative(base, p))
  }
  return out.sort()
}

test('the tree holds exactly the contract layout, and the manifest\'s sha256 are the files\'', async (t) => {
  const { tree } = await makeTree(t)
  const { release } = await standInNetboot()
  t.deepEqual(await listTree(tree), [
    `alpine/${release}/initramfs-lts`, `alpine/${release}/modloop-lts`, `alpine/${release}/vmlinuz-lts`,
    'boot.ipxe', 'dnsmasq.d/hostbake.conf',
    'hosts/52-54-00-00-be-02.ipxe', 'hosts/52-54-00-00-be-03.ipxe', 'hosts/52-54-00-12-34-56.ipxe',
    'initrd/netboot-nic.cpio.gz', 'initrd/netboot-uhci.cpio.gz', 'manifest.json',
    'ovl/52:54:00:00:be:02.apkovl.tar.gz', 'ovl/52:54:00:00:be:03.apkovl.tar.gz', 'ovl/52:54:00:12:34:56.apkovl.tar.gz',
  ].sort())
  const m = JSON.parse(await readFile(path.join(tree, 'manifest.json'), 'utf8')) as NetbootManifest
  t.deepEqual(m.macs, { '52:54:00:00:be:02': 'netboot-nic', '52:54:00:00:be:03': 'netboot-nic', '52:54:00:12:34:56': 'netboot-uhci' })
  t.is(m.base, TEST_URL)
  for (const [p, f] of Object.entries(m.files)) t.is(sha(await readFile(path.join(tree, p))), f.sha256, p)
  // Alpine's files are copied byte for byte
  const { dir } = await standInNetboot()
  for (const f of ['vmlinuz-lts', 'initramfs-lts', 'modloop-lts']) t.true((await readFile(path.join(dir, f))).equals(await readFile(path.join(tree, 'alpine', release, f))), f)
})

test('each MAC\'s overlay is its host\'s overlay, the one `hostbake render` makes', async (t) => {
  const { tree } = await makeTree(t)
  const rendered = await runCli(['render', NETBOOT_PROFILES[1], '-o', '-'])
  t.is(rendered.code, 0)
  for (const mac of ['52:54:00:00:be:02', '52:54:00:00:be:03']) t.true((await readFile(path.join(tree, 'ovl', `${mac}.apkovl.tar.gz`))).equals(rendered.stdout), mac)
  const other = await readFile(path.join(tree, 'ovl', '52:54:00:12:34:56.apkovl.tar.gz'))
  t.false(other.equals(rendered.stdout))
  const listing = (await $({ quiet: true })`tar -tzf ${path.join(tree, 'ovl', '52:54:00:12:34:56.apkovl.tar.gz')}`).stdout
  t.regex(listing, /etc\/hostname/)
})

test('each host\'s supplementary initramfs carries its own modprobe.d and marker, and its script loads it', async (t) => {
  const { tree } = await makeTree(t)
  for (const [host, mac] of [['netboot-uhci', '52-54-00-12-34-56'], ['netboot-nic', '52-54-00-00-be-02']]) {
    const names = listCpio(gunzipSync(await readFile(path.join(tree, 'initrd', `${host}.cpio.gz`))))
    t.true(names.includes('etc/hostbake/supplement'), host)
    t.true(names.some((n) => /^lib\/modules\/[^/]+\/kernel\/drivers\/vfio\/pci\/vfio-pci\.ko/.test(n)), host)
    const script = await readFile(path.join(tree, 'hosts', `${mac}.ipxe`), 'utf8')
    t.regex(script, new RegExp(`\\ninitrd ${TEST_URL}/initrd/${host}\\.cpio\\.gz\\n`))
    t.regex(script, new RegExp(` initrd=${host}\\.cpio\\.gz `))
    t.regex(script, new RegExp(` BOOTIF=01-${mac} `))
  }
})

test('two runs write byte-identical trees, file times included', async (t) => {
  const a = await makeTree(t)
  const b = await makeTree(t)
  const files = await listTree(a.tree)
  t.deepEqual(await listTree(b.tree), files)
  for (const f of files) {
    t.true((await readFile(path.join(a.tree, f))).equals(await readFile(path.join(b.tree, f))), f)
    t.is((await stat(path.join(a.tree, f))).mtimeMs, (await stat(path.join(b.tree, f))).mtimeMs, f)
  }
})

test('a failed run leaves the previous tree as it was; a folder that is not a tree is never replaced', async (t) => {
  const { tree } = await makeTree(t)
  const before = await listTree(tree)
  const { dir, release } = await standInNetboot()
  const bad = path.join(await tempDir(t), 'bad.yaml')
  await writeFile(bad, 'hostname: bad\ncpu: intel\ninstall: diskless\nnetboot: { mac: "52:54:00:12:34:56" }\n')
  const r = await runCli(['pxe', NETBOOT_PROFILES[0], bad, '--alpine', dir, '--alpine-version', release, '--url', TEST_URL, '-o', tree])
  t.is(r.code, 2)
  t.regex(r.stderr, /bad\.yaml:4:\d+ netboot\.mac\[0\]: 52:54:00:12:34:56 is also netboot\.mac of .*netboot-uhci\.yaml/)
  t.deepEqual(await listTree(tree), before)
  t.false((await readdir(path.dirname(tree))).some((n) => n.includes('hostbake-tmp')))
  const mine = path.join(await tempDir(t), 'photos')
  await mkdir(mine)
  await writeFile(path.join(mine, 'cat.jpg'), 'meow')
  const r2 = await runCli(['pxe', NETBOOT_PROFILES[0], '--alpine', dir, '--alpine-version', release, '--url', TEST_URL, '-o', mine])
  t.is(r2.code, 2)
  t.regex(r2.stderr, /is not a hostbake netboot tree .*refusing to replace it/)
  t.is(await readFile(path.join(mine, 'cat.jpg'), 'utf8'), 'meow')
})

test('Alpine\'s netboot tarball: the version comes from its name, the files from its boot/ folder', async (t) => {
  const { dir, release } = await standInNetboot()
  const work = await tempDir(t)
  await mkdir(path.join(work, 'boot'))
  for (const f of ['vmlinuz-lts', 'initramfs-lts', 'modloop-lts']) await cp(path.join(dir, f), path.join(work, 'boot', f))
  const tarball = path.join(work, `alpine-netboot-${release}-x86_64.tar.gz`)
  await $({ quiet: true })`tar -czf ${tarball} -C ${work} boot`
  const out = path.join(work, 'tree')
  const r = await runCli(['pxe', NETBOOT_PROFILES[0], '--alpine', tarball, '--url', TEST_URL, '-o', out])
  t.is(r.code, 0, r.stderr)
  t.true(existsSync(path.join(out, 'alpine', release, 'modloop-lts')))
  t.is(versionFromNames(['/x/netboot-3.22.2/boot']), '3.22.2')
  t.is(versionFromNames(['/x/netboot/boot']), undefined)
})

test('input errors: no version, a kernel from another build than the modloop, another release, no netboot section, https', async (t) => {
  const { dir, release } = await standInNetboot()
  const out = path.join(await tempDir(t), 'tree')
  const noVersion = await runCli(['pxe', NETBOOT_PROFILES[0], '--alpine', dir, '--url', TEST_URL, '-o', out])
  t.is(noVersion.code, 2)
  t.regex(noVersion.stderr, /cannot tell the Alpine version/)
  // a modloop from another kernel build: modules/<other kver>/
  const mixed = await tempDir(t)
  for (const f of ['vmlinuz-lts', 'initramfs-lts']) await cp(path.join(dir, f), path.join(mixed, f))
  await mkdir(path.join(mixed, 'm', 'modules', '6.12.69-0-lts'), { recursive: true })
  await writeFile(path.join(mixed, 'm', 'modules', '6.12.69-0-lts', 'modules.dep'), '')
  await $({ quiet: true })`mksquashfs ${path.join(mixed, 'm')} ${path.join(mixed, 'modloop-lts')} -quiet -noappend`
  const r = await runCli(['pxe', NETBOOT_PROFILES[0], '--alpine', mixed, '--alpine-version', release, '--url', TEST_URL, '-o', out])
  t.is(r.code, 2)
  t.regex(r.stderr, /holds modules for 6\.12\.69-0-lts, but vmlinuz-lts is 6\.1\.\S+: kernel and modloop must come from one netboot release/)
  const other = await runCli(['pxe', NETBOOT_PROFILES[0], '--alpine', dir, '--alpine-version', '3.21.3', '--url', TEST_URL, '-o', out])
  t.is(other.code, 2)
  t.regex(other.stderr, /netboot-uhci\.yaml:\d+:\d+ alpine\.release: 3\.22 does not match the netboot files \(Alpine 3\.21\.3\)/)
  const plain = await runCli(['pxe', 'test/boot/profiles/diskless-uhci.yaml', '--alpine', dir, '--alpine-version', release, '--url', TEST_URL, '-o', out])
  t.is(plain.code, 2)
  t.regex(plain.stderr, /diskless-uhci\.yaml:\d+:\d+ netboot: no netboot: section/)
  const https = await runCli(['pxe', NETBOOT_PROFILES[0], '--alpine', dir, '--alpine-version', release, '--url', 'https://pxe.lan', '-o', out])
  t.is(https.code, 2)
  t.regex(https.stderr, /use http:\/\//)
  t.false(existsSync(out))
})

test('the tree\'s dnsmasq snippet passes dnsmasq --test and points iPXE at this tree\'s boot.ipxe', async (t) => {
  const { tree } = await makeTree(t, ['--dhcp', '10.0.2.50-10.0.2.90', '--efi', 'snponly.efi'])
  const conf = path.join(tree, 'dnsmasq.d', 'hostbake.conf')
  const r = await $({ quiet: true, nothrow: true })`dnsmasq --test -C ${conf}`
  t.is(r.exitCode, 0, r.stderr)
  const text = await readFile(conf, 'utf8')
  t.regex(text, new RegExp(`\\ndhcp-boot=tag:ipxe,${TEST_URL}/boot\\.ipxe\\n`))
  t.regex(text, /\ndhcp-range=10\.0\.2\.50,10\.0\.2\.90,12h\n/)
  t.regex(text, /\ndhcp-boot=tag:!ipxe,tag:efi64,snponly\.efi\n/)
})

test('pxe over a folder (--profiles) takes the hosts with a netboot: section and names the ones it leaves out', async (t) => {
  const { dir, release } = await standInNetboot()
  const profiles = await tempDir(t)
  await cp(NETBOOT_PROFILES[0], path.join(profiles, 'netboot-uhci.yaml'))
  await cp(path.join('test', 'boot', 'profiles', 'diskless-uhci.yaml'), path.join(profiles, 'diskless-uhci.yaml'))
  const out = path.join(await tempDir(t), 'tree')
  const r = await runCli(['pxe', '--profiles', profiles, '--alpine', dir, '--alpine-version', release, '--url', TEST_URL, '-o', out])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stderr, /diskless-uhci\.yaml: no netboot: section, not in the tree/)
  const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as NetbootManifest
  t.deepEqual(Object.keys(manifest.hosts), ['netboot-uhci'])
  // a folder without any netboot host is an error, not an empty tree
  const none = await tempDir(t)
  await cp(path.join('test', 'boot', 'profiles', 'diskless-uhci.yaml'), path.join(none, 'diskless-uhci.yaml'))
  const empty = await runCli(['pxe', '--profiles', none, '--alpine', dir, '--alpine-version', release, '--url', TEST_URL, '-o', path.join(none, 'tree')])
  t.is(empty.code, 2)
  t.regex(empty.stderr, /no profile with a netboot: section/)
})
