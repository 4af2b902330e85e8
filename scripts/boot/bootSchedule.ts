// Limits concurrent QEMU boots to the core count, across processes too (ava runs test files in parallel):
// a boot holds one slot file <user cache>/slots/<i> containing its pid; slots of dead pids are reclaimed.
// The slots live in the user's cache root whatever --cache says, so every hostbake of this user shares them.
import { availableParallelism } from 'node:os'
import fs from 'node:fs/promises'
import path from 'node:path'
import { userCacheRoot } from '../shared/cachePaths.js'

export const defaultSlots = Math.max(1, Number(process.env.HOSTBAKE_BOOT_JOBS) || availableParallelism())
const slotsDir = path.join(userCacheRoot(), 'slots')

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function tryTake(slot: string): Promise<boolean> {
  // link() of a file already holding our pid: atomic, and a slot file is never seen without its owner
  const mine = `${slot}.${process.pid}.${Math.random().toString(36).slice(2)}`
  await fs.writeFile(mine, String(process.pid))
  try {
    await fs.link(mine, slot)
    return true
  } catch {
    const pid = Number(await fs.readFile(slot, 'utf8').catch(() => ''))
    if (pid && !alive(pid)) await fs.rm(slot, { force: true }) // owner died without releasing: next round takes it
    return false
  } finally {
    await fs.rm(mine, { force: true })
  }
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
    await fs.rm(held, { force: true })
  }
}
