// No QEMU survives: Ctrl-C during a boot (the harness exits 130), or a guest that never reports (timeout).
import test from 'ava'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { bootOverlay } from '../../scripts/boot/bootOverlay.js'
import { workDirFor } from './bootHelpers.js'
import { overlayFiles, packOverlay, scenarios } from './overlayFixture.js'

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bootChild.js')

function processesMentioning(needle: string): number[] {
  const pids: number[] = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) pids.push(Number(pid))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

function stateOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]
  } catch {
    return 'gone'
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

test('SIGINT during a boot kills QEMU and exits 130', async (t) => {
  const work = workDirFor('sigint')
  t.teardown(async () => {
    for (const pid of processesMentioning(work)) process.kill(pid, 'SIGKILL')
    await fs.rm(work, { recursive: true, force: true })
    await fs.rm(`${work}-ovl`, { recursive: true, force: true })
  })
  const p = spawn(process.execPath, [child, 'seed001-intel', work], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)))
  // wait until QEMU is up (its pidfile exists and a process carries the work folder in its argv)
  const deadline = Date.now() + 60_000
  while (!(existsSync(path.join(work, 'qemu.pid')) && processesMentioning(work).some((pid) => pid !== p.pid))) {
    if (Date.now() > deadline) t.fail('QEMU never started')
    await sleep(50)
  }
  const qemuPid = Number(readFileSync(path.join(work, 'qemu.pid'), 'utf8'))
  t.true(qemuPid > 0)
  await sleep(300)
  p.kill('SIGINT')
  t.is(await exited, 130)
  await sleep(100)
  t.deepEqual(processesMentioning(work), [], 'no process with the work folder in its command line')
  // killed; it may linger as a zombie until PID 1 reaps it (the child that spawned it has exited)
  t.true(!existsSync(`/proc/${qemuPid}`) || stateOf(qemuPid) === 'Z', `QEMU ${qemuPid} is gone (state ${stateOf(qemuPid)})`)
})

test('timeout before the sentinel is a failure with the log tail, and QEMU is gone', async (t) => {
  const s = scenarios.find((x) => x.name === 'seed001-intel')!
  const work = workDirFor('timeout')
  t.teardown(async () => {
    await fs.rm(work, { recursive: true, force: true })
    await fs.rm(`${work}-ovl`, { recursive: true, force: true })
  })
  const apkovl = await packOverlay(`${work}-ovl`, s.overlay.host, overlayFiles(s.overlay))
  const r = await bootOverlay({ apkovl, machine: s.machine, expect: s.expect, workDir: work, timeoutS: 1.5, log: () => {} })
  t.true(r.timedOut)
  t.false(r.ok)
  t.false(r.sentinel)
  t.is(typeof r.tail, 'string')
  t.truthy(r.workDir, 'work folder kept')
  t.true(existsSync(r.serialLogPath), 'serial log kept')
  t.deepEqual(processesMentioning(work).filter((pid) => pid !== process.pid), [])
})
