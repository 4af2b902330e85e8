// Limits concurrent QEMU boots to the core count, across processes too (ava runs test files in parallel):
// a boot holds one slot directory .cache/boot/slots/<i> containing its pid; slots of dead pids are reclaimed.
import { availableParallelism } from 'node:os'
import fs from 'node:fs/promises'
import path from 'node:path'
import { repoRoot } from './bootKernel.js'

export const defaultSlots = Math.max(1, Number(process.env.HOSTBAKE_BOOT_JOBS) || availableParallelism())
const slotsDir = path.join(repoRoot, '.cache', 'boot', 'slots')

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function tryTake(slot: string): Promise<boolean> {
  try {
    await fs.mkdir(slot)
  } catch {
    const pid = Number(await fs.readFile(path.join(slot, 'pid'), 'utf8').catch(() => ''))
    // a slot without pid may be mid-creation; only reclaim slots whose owner is gone
    if (!pid || alive(pid)) return false
    await fs.rm(slot, { recursive: true, force: true })
    return tryTake(slot)
  }
  await fs.writeFile(path.join(slot, 'pid'), String(process.pid))
  return true
}

/** Runs fn while holding one of `slots` machine-wide boot slots. */
export async function withBootSlot<T>(fn: () => Promise<T>, slots = defaultSlots): Promise<T> {
  await fs.mkdir(slotsDir, { recursive: true })
  let held: string | undefined
  for (let attempt = 0; !held; attempt++) {
    for (let i = 0; i < slots && !held; i++) {
      const slot = path.join(slotsDir, String(i))
      if (await tryTake(slot)) held = slot
    }
    if (!held) await new Promise((r) => setTimeout(r, Math.min(200, 20 + attempt * 10)))
  }
  try {
    return await fn()
  } finally {
    await fs.rm(held, { recursive: true, force: true })
  }
}

/** Runs tasks with at most `limit` in flight (each still takes a machine-wide slot). */
export async function runParallel<T>(tasks: (() => Promise<T>)[], limit = defaultSlots): Promise<T[]> {
  const results: T[] = new Array(tasks.length)
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++
      results[i] = await tasks[i]()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}
