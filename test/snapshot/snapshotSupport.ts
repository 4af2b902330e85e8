// Run the real collector (busybox ash, as on a stock Alpine host) over a fake /sys tree.
import { COLLECTOR_SCRIPT } from '../../scripts/snapshot/snapshotCollect.js'
import { spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { ExecutionContext } from 'ava'
import { loadSnapshot, parseSnapshotText } from '../../scripts/snapshot/snapshotLoad.js'
import { applySnapshot, loadProfile } from '../../scripts/hostPipeline.js'
import type { LoadedProfile } from '../../scripts/profile/profileLoad.js'
import type { Snapshot } from '../../scripts/snapshot/snapshotSchema.js'
import { makeSysfs, type FakeHost } from './sysfsFixture.js'
import { tempDir } from '../testSupport.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'

export async function collect(t: ExecutionContext, host: FakeHost): Promise<Snapshot> {
  return parseSnapshotText(await collectText(t, host), `${host.hostname}.json`)
}

export async function collectText(t: ExecutionContext, host: FakeHost): Promise<string> {
  const root = await tempDir(t)
  await makeSysfs(root, host)
  const script = await readFile(COLLECTOR_SCRIPT, 'utf8')
  const r = spawnSync('/bin/busybox', ['sh', '-s'], { input: script, env: { HOSTBAKE_ROOT: root, PATH: '/nonexistent' }, encoding: 'utf8' })
  t.is(r.status, 0, r.stderr)
  t.is(r.stderr, '', 'the collector is quiet')
  return r.stdout
}

// Profiles that name USB devices build only against their host's snapshot (committed next to them in
// test/fixtures, made by the collector over the fixtures in sysfsFixture.ts; snapshot.test.ts keeps them in step).
export const PROFILE_SNAPSHOTS: Record<string, string> = {
  'seed001-crypto.yaml': 'test/fixtures/seed001-crypto-qemu.json',
  'seed001-zigbee.yaml': 'test/fixtures/seed001-host.json',
}

export async function loadForBuild(file: string): Promise<LoadedProfile> {
  const loaded = await loadProfile(file)
  const snap = PROFILE_SNAPSHOTS[path.basename(file)]
  return snap ? applySnapshot(loaded, await loadSnapshot(packagePath(snap)), snap) : loaded
}

// The snapshot as a file, for the CLI.
export async function collectFile(t: ExecutionContext, host: FakeHost): Promise<string> {
  const file = path.join(await tempDir(t), `${host.hostname}.json`)
  await writeFile(file, await collectText(t, host))
  return file
}
