// The snapshot collector: a POSIX sh script that reads /sys (busybox is enough) and prints one JSON document.
// hostbake prints it for `ssh host sh < collector.sh`, or runs it here over a tree (a host's /, or a copy of its /sys).
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { packagePath } from '../shared/packagePaths.js'
import { parseSnapshotText } from './snapshotLoad.js'

export const COLLECTOR_SCRIPT = packagePath('scripts', 'snapshot', 'snapshotCollector.sh')

export function readCollector(): Promise<string> {
  return readFile(COLLECTOR_SCRIPT, 'utf8')
}

/** Runs the collector over ROOT (`/` for this machine); the text it printed, checked to read back. */
export async function collectSnapshot(root: string): Promise<string> {
  const script = await readCollector()
  const r = spawnSync('sh', ['-s'], { input: script, env: { ...process.env, HOSTBAKE_ROOT: root === '/' ? '' : path.resolve(root) }, encoding: 'utf8', maxBuffer: 1 << 26 })
  if (r.status !== 0) throw new HostbakeError(`the collector failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`, { exitCode: 1 })
  const snap = parseSnapshotText(r.stdout, `snapshot of ${root}`) // what we write must read back
  if (snap.pci.length === 0) {
    throw new HostbakeError(`${root}: no PCI devices under ${path.join(root, 'sys/bus/pci/devices')}`, { hint: 'give the root of a host (/), or a folder holding a copy of its sys/' })
  }
  return r.stdout
}
