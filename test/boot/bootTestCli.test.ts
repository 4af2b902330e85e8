// `hostbake boot-test` as a user runs it: real profiles baked by the pipeline, real boots of a real
// kernel in QEMU with an emulated IOMMU. A pass is the guest's own report, never our intentions.
import test from 'ava'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import fs from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { CLI, TEST_CACHE, runCli } from '../testSupport.js'
import type { BootTestResult } from '../../scripts/boot/bootTest.js'

const rel = (dir: string) => readdirSync(packagePath(dir)).filter((f) => f.endsWith('.yaml')).sort().map((f) => `${dir}/${f}`)
const positives = ['profiles/twin-nic.yaml', ...rel('test/boot/profiles')]
const negatives = rel('test/boot/negative')

function processesMentioning(needle: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle) ? [Number(pid)] : []
    } catch {
      return []
    }
  })
}

test('every boot-testable profile boots and its guest proves the binding', async (t) => {
  const r = await runCli(['boot-test', ...positives, '--json'])
  t.is(r.code, 0, r.stderr)
  const results = JSON.parse(r.stdout.toString()) as BootTestResult[]
  t.is(results.length, positives.length)
  for (const res of results) {
    const failed = res.checks.filter((c) => !c.pass).map((c) => `${c.name} ${c.detail}`).join('\n')
    t.true(res.ok, `${res.profile}\n${failed}\n${res.tail ?? ''}`)
    const pass = (re: RegExp) => res.checks.some((c) => re.test(c.name) && c.pass)
    t.true(pass(/^iommu_on$/) && pass(/^iommu_groups$/), `${res.hostname}: IOMMU really on (sysfs)`)
    t.true(pass(/^vfio_probe_/), `${res.hostname}: a VMM could use it (VFIO probe)`)
    t.true(pass(/^others_not_on_vfio$/), `${res.hostname}: everything else keeps its driver`)
    t.is(res.workDir, undefined, 'work folder removed after a pass')
    t.log(`${res.hostname}: ${res.passed} checks, wall ${res.wallS} s, guest ${res.guestUptimeS} s, overhead ${res.overheadS} s`)
  }
  // the second identical NIC stays with e1000e; seed 001's NIC too
  const twin = results.find((x) => x.hostname === 'twin-nic')!
  t.true(twin.checks.some((c) => c.name === 'driver_0000:04:00.0' && c.pass))
  t.true(twin.checks.some((c) => c.name === 'driver_0000:03:00.0' && c.pass && /e1000e/.test(c.detail)))
  // the host's job: ifupdown-ng brought the bridge up over the NIC, tun is loaded for the guests
  const bridge = results.find((x) => x.hostname === 'bridge-host')!
  for (const name of ['bridge_up', 'bridge_port_eth0', 'module_tun']) t.true(bridge.checks.some((c) => c.name === name && c.pass), name)
  t.regex(r.stderr, /\[\d+\.\d s\] seed001-ich9: qemu/, 'progress with elapsed seconds on stderr')
})

test('negative controls fail the checks that prove what is wrong, and keep their serial logs', async (t) => {
  const r = await runCli(['boot-test', ...negatives, '--json'])
  t.is(r.code, 1, r.stderr)
  const results = JSON.parse(r.stdout.toString()) as BootTestResult[]
  t.is(results.length, negatives.length)
  for (const res of results) {
    t.teardown(() => fs.rm(res.workDir ?? '/nonexistent', { recursive: true, force: true }))
    const text = await fs.readFile(packagePath(res.profile), 'utf8')
    const mustFail = text.match(/^# must-fail: (.*)$/m)![1].split(',').map((s) => s.trim())
    t.false(res.ok, res.profile)
    t.true(res.passed + res.failed > 0, `${res.profile}: the guest finished its report`)
    for (const name of mustFail) {
      const hit = res.checks.filter((c) => c.name === name || (name.endsWith('_') && c.name.startsWith(name)))
      t.true(hit.length > 0 && hit.every((c) => !c.pass), `${res.profile}: ${name} must fail`)
    }
    t.truthy(res.serialLog && existsSync(res.serialLog), 'serial log kept on failure')
    t.regex(r.stderr, new RegExp(`FAIL ${res.hostname} `))
  }
})

test('a profile without a test: section is an input error naming the file', async (t) => {
  const r = await runCli(['boot-test', 'profiles/homeassistant.yaml'])
  t.is(r.code, 2)
  t.regex(r.stderr, /^profiles\/homeassistant\.yaml:\d+:\d+ test: no test: section/m)
})

test('--shard and --timeout are checked', async (t) => {
  t.is((await runCli(['boot-test', 'profiles/twin-nic.yaml', '--shard', '3/2'])).code, 2)
  t.is((await runCli(['boot-test', 'profiles/twin-nic.yaml', '--timeout', 'soon'])).code, 2)
  // shard 2/2 of a one-profile list is empty
  const r = await runCli(['boot-test', 'profiles/twin-nic.yaml', '--shard', '2/2'])
  t.is(r.code, 2)
  t.regex(r.stderr, /no profile to boot-test/)
})

test('a guest that does not report before --timeout fails with the log tail, and no QEMU is left', async (t) => {
  const r = await runCli(['boot-test', 'test/boot/profiles/seed001-ich9-amd.yaml', '--timeout', '2.5', '--json'])
  t.is(r.code, 1)
  const [res] = JSON.parse(r.stdout.toString()) as BootTestResult[]
  t.teardown(() => fs.rm(res.workDir ?? '/nonexistent', { recursive: true, force: true }))
  t.false(res.ok)
  t.is(res.passed + res.failed, 0, 'no report')
  t.true(res.timedOut)
  t.regex(r.stderr, /no report from the guest within --timeout 2\.5 s/)
  t.truthy(res.tail, 'the log tail (or a note that the log is empty) is shown')
  t.true(r.stderr.includes(res.tail!.split('\n').filter(Boolean).slice(-1)[0]), 'on stderr too')
  t.truthy(res.serialLog && existsSync(res.serialLog))
  t.deepEqual(processesMentioning(res.workDir!), [])
})

test('Ctrl-C during a boot kills QEMU and exits 130', async (t) => {
  const p = spawn(process.execPath, [CLI, 'boot-test', 'test/boot/profiles/seed001-ich9-amd.yaml'], { cwd: packagePath(), stdio: ['ignore', 'ignore', 'pipe'] })
  const work = `hostbake-boot-seed001-ich9-amd-${p.pid}` // + -<n> per boot
  t.teardown(async () => {
    for (const pid of processesMentioning(work)) process.kill(pid, 'SIGKILL')
  })
  let err = ''
  const qemuUp = new Promise<void>((resolve) => p.stderr.on('data', (d: Buffer) => {
    err += d.toString()
    if (/seed001-ich9-amd: qemu/.test(err)) resolve()
  }))
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)))
  await Promise.race([qemuUp, exited])
  const deadline = Date.now() + 20_000
  while (!processesMentioning(work).some((pid) => pid !== p.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  const qemu = processesMentioning(work).filter((pid) => pid !== p.pid)
  t.true(qemu.length > 0, `QEMU is running\n${err}`)
  p.kill('SIGINT')
  t.is(await exited, 130)
  await new Promise((r) => setTimeout(r, 200))
  t.deepEqual(processesMentioning(work), [], 'no process with the work folder in its command line')
  t.deepEqual(readdirSync(os.tmpdir()).filter((f) => f.startsWith(`${work}-`)), [], 'the interrupted boot cleaned its work folder')
})

test('HOSTBAKE_ACCEL=kvm: a KVM guest that hangs silent is detected and the boot is redone under TCG', async (t) => {
  const r = await runCli(['boot-test', 'test/boot/profiles/seed001-ich9-amd.yaml', '--json'], { env: { HOSTBAKE_ACCEL: 'kvm', HOSTBAKE_KVM_SILENCE_S: '3' } })
  const [res] = JSON.parse(r.stdout.toString()) as BootTestResult[]
  t.is(r.code, 0, r.stderr)
  t.true(res.ok)
  if (res.kvmFellBack) {
    // these machines: /dev/kvm exists but KVM boots hang
    t.is(res.accel, 'tcg')
    t.regex(r.stderr, /printed nothing in 3 s .*falling back to TCG/)
  } else {
    // KVM worked, or /dev/kvm was not usable and TCG was picked up front
    t.true(res.accel === 'kvm' || /\/dev\/kvm not usable/.test(r.stderr), r.stderr)
  }
})

// A user's own kernel and modloop, Alpine's layout: a bzImage (not the harness's PVH vmlinux) and a
// squashfs holding modules/<kver>/. Built here from Debian's package (Alpine's can't be downloaded), cut
// to the drivers these machines need so that mksquashfs takes a second, not a minute.
async function makeModloop(dir: string): Promise<{ kernel: string; modloop: string; kver: string }> {
  const { locateBootKernel } = await import('../../scripts/boot/bootKernel.js')
  const k = locateBootKernel(TEST_CACHE)
  const stage = path.join(dir, 'lib')
  const kdir = path.join(stage, 'modules', k.kver)
  const keep = ['drivers/vfio', 'drivers/usb', 'drivers/virtio', 'drivers/net/ethernet/intel/e1000e', 'drivers/net/tun.ko', 'drivers/block',
    'drivers/ata', 'drivers/scsi', 'drivers/cdrom', 'fs/9p', 'fs/fat', 'fs/nls', 'fs/ext4', 'fs/jbd2', 'fs/mbcache.ko', 'fs/isofs', 'fs/netfs',
    'fs/fscache', 'net/9p', 'virt', 'lib', 'crypto', 'net/packet', 'block']
  for (const rel of keep) {
    // a module file by its name in any tree: plain, or compressed as the harness's Alpine-shaped trees are
    for (const name of [rel, `${rel}.zst`, `${rel}.xz`]) {
      const src = path.join(k.modulesDir, 'kernel', name)
      if (existsSync(src)) await fs.cp(src, path.join(kdir, 'kernel', name), { recursive: true })
    }
  }
  for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) await fs.copyFile(path.join(k.modulesDir, f), path.join(kdir, f))
  const { $ } = await import('zx')
  await $({ quiet: true })`depmod -b ${dir} ${k.kver}`
  const modloop = path.join(dir, 'modloop-lts')
  await $({ quiet: true })`mksquashfs ${stage} ${modloop} -noappend -comp gzip -quiet`
  const kernel = path.join(dir, 'vmlinuz-lts')
  await fs.copyFile(path.join(k.root, 'boot', `vmlinuz-${k.kver}`), kernel)
  return { kernel, modloop, kver: k.kver }
}

test('--kernel/--modloop: a bzImage and a squashfs modloop in Alpine\'s layout go through the same assertions', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hostbake-modloop-'))
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }))
  const user = await makeModloop(dir)
  // the unpacked modloop is cached by content; this one is made fresh each run, so drop its cache entry
  const sum = createHash('sha256').update(await fs.readFile(user.modloop)).digest('hex').slice(0, 16)
  t.teardown(() => fs.rm(path.join(TEST_CACHE, 'modloop', sum), { recursive: true, force: true }))
  const r = await runCli(['boot-test', 'test/boot/profiles/seed001-ich9.yaml', '--kernel', user.kernel, '--modloop', user.modloop, '--json'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stderr, new RegExp(`modules ${user.kver} from ${user.modloop}`))
  const [res] = JSON.parse(r.stdout.toString()) as BootTestResult[]
  t.true(res.ok)
  t.true(res.checks.some((c) => /^vfio_probe_/.test(c.name) && c.pass))
  t.true(res.checks.some((c) => c.name === 'driver_0000:00:03.0' && c.pass), 'e1000e came from the modloop')
})

test('--kernel without --modloop, and a modloop that is not a squashfs, are input errors', async (t) => {
  const a = await runCli(['boot-test', 'profiles/twin-nic.yaml', '--kernel', '/etc/hostname'])
  t.is(a.code, 2)
  t.regex(a.stderr, /--kernel and --modloop go together/)
  const b = await runCli(['boot-test', 'profiles/twin-nic.yaml', '--kernel', '/etc/hostname', '--modloop', '/etc/hostname'])
  t.is(b.code, 2)
  t.regex(b.stderr, /--modloop \/etc\/hostname: unsquashfs failed/)
})
