// The harness on a build machine where it runs as root: QEMU dies with the CLI even when the CLI is
// SIGKILLed (no handler of ours runs), work folders cannot be redirected by a symlink planted in /tmp,
// and test devices are checked again before QEMU starts.
import test from 'ava'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { lstat, mkdir, readdir, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'
import { makeBootDirs } from '../../scripts/boot/bootTest.js'
import { qemuArgs } from '../../scripts/boot/qemuBoot.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { CLI, TEST_CACHE, tempDir } from '../testSupport.js'

function childrenOf(ppid: number): { pid: number; comm: string }[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'))
      const fields = st.slice(st.lastIndexOf(')') + 2).split(' ')
      return Number(fields[1]) === ppid ? [{ pid: Number(pid), comm }] : []
    } catch {
      return []
    }
  })
}

test('SIGKILL of the CLI during a boot: its QEMU dies too (pdeathsig, no cooperation from the dead parent)', async (t) => {
  const tmp = await tempDir(t) // the killed CLI cannot clean its work folders: they go with this one
  const p = spawn(process.execPath, [CLI, 'boot-test', 'test/boot/profiles/seed001-ich9-amd.yaml', '--timeout', '300'],
    { cwd: packagePath(), stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOSTBAKE_CACHE: TEST_CACHE, TMPDIR: tmp, HOSTBAKE_BOOT_JOBS: '1' } })
  let qemu: number | undefined
  t.teardown(() => { if (qemu && existsSync(`/proc/${qemu}`)) process.kill(qemu, 'SIGKILL') })
  let err = ''
  p.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => p.on('exit', (_code, signal) => resolve(signal)))
  const deadline = Date.now() + 280_000 // a boot slot may be busy with another boot (slots are machine-wide)
  while (qemu === undefined && Date.now() < deadline && p.exitCode === null) {
    qemu = childrenOf(p.pid!).find((c) => c.comm.startsWith('qemu-system'))?.pid
    await new Promise((r) => setTimeout(r, 100))
  }
  t.truthy(qemu, `QEMU started as the CLI's child\n${err}`)
  t.regex(readFileSync(`/proc/${qemu}/status`, 'utf8'), /PPid:\s+\d+/)
  p.kill('SIGKILL')
  t.is(await exited, 'SIGKILL')
  const gone = Date.now() + 5000
  while (existsSync(`/proc/${qemu}`) && !/State:\s+Z/.test(readFileSync(`/proc/${qemu}/status`, 'utf8')) && Date.now() < gone) await new Promise((r) => setTimeout(r, 50))
  t.false(existsSync(`/proc/${qemu}`) && !/State:\s+Z/.test(readFileSync(`/proc/${qemu}/status`, 'utf8')), 'QEMU is gone within 5 s')
})

test('SIGKILL of a process running runQemu: its QEMU dies too (the mechanism, on a paused guest: no boot slot needed)', async (t) => {
  const dir = await tempDir(t)
  const { vmlinux } = locateBootKernel(TEST_CACHE)
  const script = path.join(dir, 'run.mjs')
  const mod = pathToFileURL(packagePath('dist', 'scripts', 'boot', 'qemuBoot.js')).href
  // -S: QEMU starts with its CPU stopped, so this costs no TCG time
  await writeFile(script, `import { runQemu } from '${mod}'
await runQemu({ machine: { iommu: 'none', devices: [] }, kernel: ${JSON.stringify(vmlinux)}, initrd: ${JSON.stringify(vmlinux)}, append: '', extra: ['-S'],
  serialLog: '${dir}/serial.log', pidFile: '${dir}/qemu.pid', timeoutS: 120, accel: 'tcg' })
`)
  const p = spawn(process.execPath, [script], { stdio: 'ignore' })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => p.on('exit', (_c, signal) => resolve(signal)))
  let qemu: number | undefined
  t.teardown(() => { if (qemu && existsSync(`/proc/${qemu}`)) process.kill(qemu, 'SIGKILL') })
  const deadline = Date.now() + 30_000
  while (qemu === undefined && Date.now() < deadline) {
    qemu = childrenOf(p.pid!).find((c) => c.comm.startsWith('qemu-system'))?.pid
    await new Promise((r) => setTimeout(r, 50))
  }
  t.truthy(qemu, 'QEMU started')
  p.kill('SIGKILL')
  t.is(await exited, 'SIGKILL')
  const alive = () => existsSync(`/proc/${qemu}`) && !/State:\s+Z/.test(readFileSync(`/proc/${qemu}/status`, 'utf8'))
  const gone = Date.now() + 5000
  while (alive() && Date.now() < gone) await new Promise((r) => setTimeout(r, 50))
  t.false(alive(), 'QEMU is gone within 5 s')
})

test('work folders: unpredictable names, fresh 0700 directories, never a planted symlink', async (t) => {
  const tmp = await tempDir(t)
  const victim = await tempDir(t)
  // every name the old scheme made (hostbake-boot-<host>-<pid>-<n>[-apkovl]) planted as a symlink to the victim
  for (let n = 0; n < 50; n++) {
    await symlink(victim, path.join(tmp, `hostbake-boot-h-${process.pid}-${n}`))
    await symlink(victim, path.join(tmp, `hostbake-boot-h-${process.pid}-${n}-apkovl`))
  }
  const before = process.env.TMPDIR
  process.env.TMPDIR = tmp
  try {
    const seen = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const { work, ovlDir } = await makeBootDirs('h')
      for (const d of [work, ovlDir]) {
        t.is(path.dirname(d), tmp)
        const st = await lstat(d)
        t.true(st.isDirectory() && !st.isSymbolicLink(), d)
        t.is(st.mode & 0o777, 0o700)
        t.is((await readdir(d)).length, 0)
        t.false(seen.has(d))
        seen.add(d)
      }
    }
  } finally {
    if (before === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = before
  }
  t.deepEqual(await readdir(victim), [], 'nothing reached the symlinks target')
})

test('a work folder is emptied without following a symlink planted inside it', async (t) => {
  const { prepareWorkDir } = await import('../../scripts/boot/bootOverlay.js')
  const work = await tempDir(t)
  const victim = await tempDir(t)
  await mkdir(path.join(victim, 'keep'))
  await symlink(victim, path.join(work, 'overlay'))
  await symlink(victim, path.join(work, 'serial.log'))
  await writeFile(path.join(work, 'old'), 'x')
  await prepareWorkDir(work, ['overlay'])
  t.deepEqual(await readdir(victim), ['keep'], 'the symlinks target untouched')
  t.deepEqual(await readdir(work), ['overlay'])
  t.true((await lstat(path.join(work, 'overlay'))).isDirectory(), 'the planted link was removed, not followed')
})

test('qemuArgs refuses test devices outside the allowed set, whoever calls it', (t) => {
  const run = { kernel: 'k', initrd: 'i', append: 'a', extra: [], serialLog: 's', pidFile: '/tmp/x/p', timeoutS: 1 }
  for (const d of ['loader,file=/etc/shadow', 'e1000e,romfile=/etc/shadow', '-object memory-backend-file,mem-path=/x', 'vfio-pci,host=01:00.0']) {
    t.throws(() => qemuArgs({ ...run, machine: { iommu: 'intel', devices: [d] } }), { message: /test devices refused/ }, d)
  }
  t.notThrows(() => qemuArgs({ ...run, machine: { iommu: 'intel', devices: ['e1000e,addr=03.0,netdev=hostnet0'] } }))
})
