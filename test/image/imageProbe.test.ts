// The in-overlay probe of test images (`hostbake image --probe`): what a boot of an image made from a real Alpine
// ISO reports through, since Alpine's own init prints nothing of ours. CI has no Alpine ISO, so the probe image is
// made from the stand-in ISO and the stand-in init is told (EXPECT_PROBE, through fw_cfg) to leave the report to
// the overlay: it runs the probe's two OpenRC services chrooted in the rootfs, as it runs any overlay's own
// services, and the verdict read is the probe's. Three boots: a pass, the supplement left out of the BIOS menu,
// and a probe that stays silent (the stand-in must then report probe_report FAIL, never its own checks).
import test from 'ava'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { bootTestImage, type ImageBootTestResult } from '../../scripts/boot/imageBootTest.js'
import { explainNoReport } from '../../scripts/commands/bootTestMedia.js'
import { bakeHost } from '../../scripts/hostPipeline.js'
import { addProbe, PROBE_DIR, PROBE_MARKER, readProbeFiles } from '../../scripts/image/probeOverlay.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { TEST_CACHE, runCli, tempDir } from '../testSupport.js'
import { IMAGE_PROFILE, makeImage, standIn, vmhost } from './imageSupport.js'

const timeoutS = Number(process.env.HOSTBAKE_IMAGE_BOOT_TIMEOUT) || 240
const guest = (name: string) => packagePath('scripts', 'boot', 'guest', name)

// --- the overlay's test build
test('--probe adds the two services, their runlevel links and the probe\'s files; nothing else changes', async (t) => {
  const host = await bakeHost(await vmhost())
  const files = addProbe(host.files, await readProbeFiles(TEST_CACHE))
  const added = [...files.keys()].filter((n) => !host.files.has(n)).sort()
  t.deepEqual(added, [
    'etc/hostbake/probe/', 'etc/hostbake/probe/checks.sh', 'etc/hostbake/probe/probe.sh', 'etc/hostbake/probe/vfio-probe',
    'etc/init.d/hostbake-probe', 'etc/init.d/hostbake-probe-report', 'etc/runlevels/default/', 'etc/runlevels/default/hostbake-probe-report',
    'etc/runlevels/sysinit/hostbake-probe',
  ].filter((n) => !host.files.has(n)))
  for (const [name, e] of host.files) t.deepEqual(files.get(name), e, name)
  // OpenRC runs only executable scripts; the runlevel links are absolute, as Alpine's rc_add writes them
  t.is(files.get('etc/init.d/hostbake-probe')!.mode, 0o755)
  t.is(files.get(PROBE_MARKER)!.mode, 0o755)
  t.is(files.get(`${PROBE_DIR}/vfio-probe`)!.mode, 0o755)
  t.is(files.get('etc/runlevels/sysinit/hostbake-probe')!.target, '/etc/init.d/hostbake-probe')
  t.is(files.get('etc/runlevels/default/hostbake-probe-report')!.target, '/etc/init.d/hostbake-probe-report')
  // one fact, one place: the probe carries the very checks file the stand-in init sources
  t.deepEqual(files.get(`${PROBE_DIR}/checks.sh`)!.data, await fs.readFile(guest('checks.sh')))
  t.throws(() => addProbe(files, { record: Buffer.alloc(0), report: Buffer.alloc(0), probeSh: Buffer.alloc(0), checksSh: Buffer.alloc(0), vfioProbe: Buffer.alloc(0) }), { message: /already has/ })
})

test('depend(), read as OpenRC\'s gendepends does: the record first in sysinit, the report last in default', (t) => {
  // gendepends defines before/after/... as printers, sources the script and calls depend (OpenRC sh/gendepends.sh)
  const deps = (svc: string) => execFileSync('busybox', ['sh', '-c',
    'set -f; for k in before after need use want provide keyword; do eval "$k() { echo $k \\$*; }"; done; . "$1"; depend', 'sh', guest(svc)], { encoding: 'utf8' }).trim()
  t.is(deps('hostbake-probe.initd'), 'before *')
  t.is(deps('hostbake-probe-report.initd'), 'after *')
  for (const svc of ['hostbake-probe.initd', 'hostbake-probe-report.initd']) {
    t.regex(execFileSync('head', ['-n', '1', guest(svc)], { encoding: 'utf8' }), /^#!\/sbin\/openrc-run$/m)
  }
})

test('the checks live in checks.sh only: init.sh and probe.sh source it and name none of its checks', async (t) => {
  const checks = await fs.readFile(guest('checks.sh'), 'utf8')
  const names = [...checks.matchAll(/\bcheck\s+"?([a-z][a-z_]*)/g)].map((m) => m[1])
  t.true(names.includes('iommu_on') && names.includes('vfio_probe_') && names.includes('supplement_applied'), names.join(' '))
  for (const file of ['init.sh', 'probe.sh']) {
    const text = await fs.readFile(guest(file), 'utf8')
    t.regex(text, /^\s*\. \S*checks\.sh$/m, `${file} sources checks.sh`)
    for (const n of names) t.false(new RegExp(`\\bcheck\\s+"?${n}`).test(text), `${file} must not run ${n} itself`)
  }
})

test('CLI: image --probe writes a test build (and says so); without the VFIO probe in the cache it stops (exit 2)', async (t) => {
  const media = await standIn()
  const dir = await tempDir(t)
  const out = path.join(dir, 'probe.iso')
  const r = await runCli(['image', IMAGE_PROFILE, '--base', media.iso, '--probe', '-o', out, '--json'])
  t.is(r.code, 0, r.stderr)
  t.true(JSON.parse(r.stdout.toString()).probe)
  t.regex(r.stderr, /TEST BUILD \(--probe\)/)
  t.regex(r.stderr, /never write it to a host's stick/)
  const ovl = path.join(dir, 'vmhost.apkovl.tar.gz')
  execFileSync('xorriso', ['-osirrox', 'on', '-indev', out, '-extract', '/vmhost.apkovl.tar.gz', ovl], { stdio: 'ignore' })
  t.true(execFileSync('tar', ['-tzf', ovl], { encoding: 'utf8' }).split('\n').includes(PROBE_MARKER))
  const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'hostbake-nocache-'))
  t.teardown(() => fs.rm(empty, { recursive: true, force: true }))
  const bad = await runCli(['image', IMAGE_PROFILE, '--base', media.iso, '--probe', '--cache', empty, '-o', path.join(dir, 'x.iso')])
  t.is(bad.code, 2, bad.stderr)
  t.regex(bad.stderr, /vfio-probe does not exist/)
  await t.throwsAsync(fs.stat(path.join(dir, 'x.iso')), undefined, 'nothing written')
})

test('boot-test --image without a report: the message says whether the image carries the probe, and how to build one', (t) => {
  t.regex(explainNoReport(false, 'p.yaml'), /carries no hostbake probe.*Alpine's own init.*`hostbake image p\.yaml --base ALPINE\.iso --probe -o test\.iso`/)
  t.regex(explainNoReport(true, 'p.yaml'), /carries hostbake's probe, but it printed nothing/)
})

// --- boots: the report read is the probe's
function describe(r: ImageBootTestResult): string {
  return [`${r.firmware} ${r.medium} entry "${r.entry}" probe=${r.probe}: ok=${r.ok} ${r.passed}/${r.failed} ${r.wallS} s stages=${JSON.stringify(r.stages)}`,
    ...r.checks.map((c) => `  ${c.pass ? 'PASS' : 'FAIL'} ${c.name} ${c.detail}`), r.tail ?? ''].join('\n')
}

async function boot(img: string) {
  return bootTestImage(await vmhost(), { image: img, firmware: 'bios', medium: 'cdrom', timeoutS, keep: false, log: () => {} })
}

const pass = (r: ImageBootTestResult, name: string) => r.checks.find((c) => c.name === name && c.pass)
const fail = (r: ImageBootTestResult, name: string) => r.checks.find((c) => c.name === name && !c.pass)

function assertFromProbe(t: import('ava').ExecutionContext, r: ImageBootTestResult) {
  t.true(r.probe, 'boot-test saw the probe in the image')
  // the probe's own marks; the stand-in init's report would print `stage checks` and its OpenRC-model checks
  t.true(r.stages?.['probe-report'] !== undefined && r.stages?.['probe-record'] !== undefined, describe(r))
  t.is(r.stages?.checks, undefined, `the stand-in init did not reach its checks\n${describe(r)}`)
  for (const own of ['boot_services', 'initramfs_files', 'service_hostbake-guard', 'probe_report']) t.falsy(r.checks.find((c) => c.name === own), `${own} is the stand-in init's\n${describe(r)}`)
  t.truthy(pass(r, 'probe_record'), describe(r))
}

test.serial('boot: a probe image from the stand-in ISO passes on the probe\'s own report', async (t) => {
  const dir = await tempDir(t)
  const img = (await makeImage(dir, 'probe', { probe: await readProbeFiles(TEST_CACHE) })).output
  const r = await boot(img)
  t.true(r.ok, describe(r))
  assertFromProbe(t, r)
  for (const name of ['apkovl_unpacked', 'apkovl_on_medium', 'supplement_applied', 'cmdline_menu', 'initramfs_modules', 'iommu_on', 'iommu_groups',
    'vfio_pci_ids', 'driver_0000:00:1d.0', 'driver_0000:00:1d.1', 'driver_0000:04:00.0', 'driver_0000:03:00.0', 'others_not_on_vfio', 'passthrough_devices', 'module_tun']) {
    t.truthy(pass(r, name), `${name}\n${describe(r)}`)
  }
  t.true(r.checks.some((c) => c.name.startsWith('vfio_probe_') && c.pass) && r.checks.some((c) => c.name.startsWith('group_clean_') && c.pass), describe(r))
  // the evidence is the record's: vfio-pci held the devices before hwdrivers, and loaded with no rootfs module tree
  t.regex(pass(r, 'driver_0000:04:00.0')!.detail, /^vfio-pci \(before hwdrivers: vfio-pci\)$/)
  t.regex(pass(r, 'supplement_applied')!.detail, /^host=vmhost \(vfio_pci loaded in the initramfs stage; boot\/hostbake-vmhost\.cpio\.gz\)/)
  // `before *`: the record was taken before the guard (which binds by address in the rootfs) started (uptime, 10 ms steps)
  t.true(r.stages!['probe-record'] <= r.stages!['service-hostbake-guard'], describe(r))
  t.true(r.stages!['service-hostbake-probe'] < r.stages!['service-hostbake-guard'], `run first, not in name order\n${describe(r)}`)
  t.regex(pass(r, 'apkovl_on_medium')!.detail, /^\/media\/\w+\/vmhost\.apkovl\.tar\.gz, modloop \/media\/\w+\/boot\/modloop-lts$/)
})

test.serial('boot, negative: the supplement left out of syslinux.cfg fails the probe\'s binding checks', async (t) => {
  const dir = await tempDir(t)
  const img = (await makeImage(dir, 'probe-nosupp', { probe: await readProbeFiles(TEST_CACHE), omitSupplementFrom: 'syslinux' })).output
  const r = await boot(img)
  if (r.workDir) t.teardown(() => fs.rm(r.workDir!, { recursive: true, force: true }))
  t.false(r.ok, describe(r))
  t.true(r.checks.length > 0 && !r.timedOut, `the probe finished its report\n${describe(r)}`)
  assertFromProbe(t, r)
  for (const name of ['supplement_applied', 'initramfs_modules', 'driver_0000:00:1d.0', 'driver_0000:00:1d.1', 'driver_0000:04:00.0']) t.truthy(fail(r, name), `${name} must fail\n${describe(r)}`)
  t.regex(fail(r, 'supplement_applied')!.detail, /^no vfio module loaded in the initramfs stage/)
  t.regex(fail(r, 'driver_0000:00:1d.0')!.detail, /before hwdrivers: uhci_hcd\)$/)
  // the guard binds 04:00.0 by address in the rootfs; the record shows the initramfs stage did not
  t.regex(fail(r, 'driver_0000:04:00.0')!.detail, /before hwdrivers: (none|e1000e)\)$/)
})

test.serial('boot, negative: a probe that does not report leaves only probe_report FAIL, never the stand-in init\'s own checks', async (t) => {
  const dir = await tempDir(t)
  // the report service is there (so boot-test expects the probe) but does nothing
  const silent = { ...(await readProbeFiles(TEST_CACHE)), report: Buffer.from('#!/sbin/openrc-run\ndepend() {\n\tafter *\n}\nstart() {\n\t:\n}\n') }
  const r = await boot((await makeImage(dir, 'probe-silent', { probe: silent })).output)
  if (r.workDir) t.teardown(() => fs.rm(r.workDir!, { recursive: true, force: true }))
  t.true(r.probe)
  t.false(r.ok, describe(r))
  t.deepEqual(r.checks.map((c) => `${c.pass} ${c.name}`), ['false probe_report'], describe(r))
  t.regex(r.checks[0].detail, /did not report/)
})
