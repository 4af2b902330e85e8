// The proof: network boots of a `hostbake pxe` tree in QEMU (iPXE ROM, slirp TFTP, HTTP from `hostbake serve` on
// 127.0.0.1 through a guestfwd bridge), under SeaBIOS and OVMF. Passing takes the guest's own sentinel.
import test from 'ava'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { loadProfiles } from '../../scripts/hostPipeline.js'
import { bootTestNetboot, type NetbootTestResult } from '../../scripts/boot/netbootTest.js'
import { runCli } from '../testSupport.js'
import { makeTree, NETBOOT_PROFILES } from './netbootSupport.js'

const check = (r: NetbootTestResult, name: string) => r.checks.find((c) => c.name === name)
const describe = (r: NetbootTestResult) => `${r.passed} passed, ${r.failed} failed\n${r.checks.filter((c) => !c.pass).map((c) => `FAIL ${c.name} ${c.detail}`).join('\n')}\n${r.serverLog.join('\n')}\n${r.tail ?? ''}`

test.serial('SeaBIOS: one `hostbake boot-test --netboot` boots two hosts by their MACs, each with its own overlay and binding', async (t) => {
  const { tree } = await makeTree(t)
  const r = await runCli(['boot-test', ...NETBOOT_PROFILES, '--netboot', tree, '--firmware', 'bios', '--json'])
  t.is(r.code, 0, r.stderr)
  const [uhci, nic] = JSON.parse(r.stdout.toString()) as NetbootTestResult[]
  t.true(uhci.ok && nic.ok)
  t.deepEqual([uhci.mac, nic.mac], ['52:54:00:12:34:56', '52:54:00:00:be:02'])
  for (const res of [uhci, nic]) {
    for (const name of ['apkovl_fetched', 'overlay_hostname', 'modloop_fetched', 'supplement_applied', 'initramfs_modules', 'vfio_pci_ids']) t.true(check(res, name)?.pass, `${res.hostname} ${name}`)
    t.true(res.checks.some((c) => c.name.startsWith('vfio_probe_') && c.pass), res.hostname)
  }
  // two overlays, two bindings on the same hardware: the UHCI pair for one, the NIC for the other
  t.is(check(uhci, 'overlay_hostname')?.detail, 'netboot-uhci (expected netboot-uhci)')
  t.is(check(nic, 'overlay_hostname')?.detail, 'netboot-nic (expected netboot-nic)')
  t.regex(check(uhci, 'driver_0000:00:1d.0')?.detail ?? '', /vfio-pci/)
  t.regex(check(uhci, 'driver_0000:00:03.0')?.detail ?? '', /^e1000e/)
  t.regex(check(nic, 'driver_0000:00:03.0')?.detail ?? '', /vfio-pci/)
  t.regex(check(nic, 'driver_0000:00:1d.0')?.detail ?? '', /uhci_hcd/)
  const log = uhci.serverLog.join('\n')
  for (const line of [/GET \/hosts\/52-54-00-12-34-56\.ipxe 200 .* netboot-uhci fetched its boot script/, /GET \/alpine\/3\.22\.0\/vmlinuz-lts 200/,
    /GET \/alpine\/3\.22\.0\/initramfs-lts 200/, /GET \/initrd\/netboot-uhci\.cpio\.gz 200 .* netboot-uhci fetched its supplementary initramfs/,
    /GET \/ovl\/52:54:00:12:34:56\.apkovl\.tar\.gz 200 .* netboot-uhci fetched its overlay/, /GET \/alpine\/3\.22\.0\/modloop-lts 200/]) t.regex(log, line)
  t.regex(nic.serverLog.join('\n'), /GET \/ovl\/52:54:00:00:be:02\.apkovl\.tar\.gz 200 .* netboot-nic fetched its overlay/)
  t.regex(r.stderr, /PASS netboot-uhci .* bios network boot from 52:54:00:12:34:56/)
  t.regex(r.stderr, /serve: .* netboot-nic fetched its overlay/)
})

test.serial('OVMF: a host booting from its second MAC gets the overlay served under that MAC', async (t) => {
  const { tree } = await makeTree(t)
  const [l] = await loadProfiles([NETBOOT_PROFILES[1]])
  const r = await bootTestNetboot(l, { tree, firmware: 'uefi', mac: '52:54:00:00:be:03', timeoutS: 240 })
  t.true(r.ok, describe(r))
  t.is(check(r, 'overlay_hostname')?.detail, 'netboot-nic (expected netboot-nic)')
  t.regex(check(r, 'driver_0000:00:03.0')?.detail ?? '', /vfio-pci/)
  t.regex(r.serverLog.join('\n'), /GET \/ovl\/52:54:00:00:be:03\.apkovl\.tar\.gz 200 .* netboot-nic fetched its overlay/)
})

test.serial('an unknown MAC gets boot.ipxe\'s default (stock Alpine, no overlay) and a 404 line naming it', async (t) => {
  const { tree } = await makeTree(t)
  const [l] = await loadProfiles([NETBOOT_PROFILES[0]])
  const r = await bootTestNetboot(l, { tree, firmware: 'bios', mac: '52:54:00:99:99:99', timeoutS: 240 })
  t.false(r.ok)
  const log = r.serverLog.join('\n')
  t.regex(log, /GET \/hosts\/52-54-00-99-99-99\.ipxe 404 .* unknown MAC 52:54:00:99:99:99: no host in this tree boots from it, boot\.ipxe falls back to its default \(alpine\)/)
  // the default booted: Alpine's kernel and initramfs, nobody's overlay or supplement
  t.regex(log, /GET \/alpine\/3\.22\.0\/vmlinuz-lts 200/)
  t.notRegex(log, /GET \/(ovl|initrd)\//)
  t.is(check(r, 'apkovl_unpacked')?.pass, false)
  t.is(check(r, 'supplement_applied')?.pass, false)
})

test.serial('negative control: the host\'s overlay URL 404s, so the boot must not pass (the checks see no overlay)', async (t) => {
  const { tree } = await makeTree(t)
  await rm(path.join(tree, 'ovl', '52:54:00:12:34:56.apkovl.tar.gz'))
  const [l] = await loadProfiles([NETBOOT_PROFILES[0]])
  const r = await bootTestNetboot(l, { tree, firmware: 'bios', timeoutS: 240 })
  t.false(r.ok)
  t.is(check(r, 'apkovl_unpacked')?.pass, false)
  t.is(check(r, 'apkovl_fetched')?.pass, false)
  t.regex(check(r, 'apkovl_fetched')?.detail ?? '', /404/)
  t.regex(r.serverLog.join('\n'), /GET \/ovl\/52:54:00:12:34:56\.apkovl\.tar\.gz 404 .* netboot-uhci \(52:54:00:12:34:56\): overlay missing from the tree/)
  // what the supplementary initramfs still guarantees without the overlay: vfio-pci bound before coldplug
  t.true(check(r, 'supplement_applied')?.pass)
  t.true(check(r, 'vfio_pci_ids')?.pass)
})
