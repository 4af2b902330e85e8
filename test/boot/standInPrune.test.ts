// The stand-in media cache keeps the current build and any used within the hour; older builds go.
import test from 'ava'
import { mkdtemp, mkdir, rm, utimes, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pruneStandIns } from '../../scripts/boot/standInMedia.js'

test('pruneStandIns removes stand-ins unused for an hour, keeps the current one, recent ones and builds in progress', async (t) => {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'hb-standin-'))
  t.teardown(() => rm(parent, { recursive: true, force: true }))
  const now = Date.now()
  const make = async (name: string, ageS: number) => {
    const dir = path.join(parent, name)
    await mkdir(dir)
    await writeFile(path.join(dir, '.ready'), '')
    const at = new Date(now - ageS * 1000)
    await utimes(dir, at, at)
    return dir
  }
  const current = await make('current', 7200)
  const old = await make('old', 3700)
  const recent = await make('recent', 600)
  const building = await make('old.123.tmp', 7200)
  const gone = await pruneStandIns(parent, current, now)
  t.deepEqual(gone, [old])
  t.false(existsSync(old))
  for (const d of [current, recent, building]) t.true(existsSync(d), d)
})
