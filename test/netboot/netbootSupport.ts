// Shared by the netboot tests: the stand-in Alpine netboot files (built once, cached) and a tree made from them.
import path from 'node:path'
import type { ExecutionContext } from 'ava'
import { buildStandInMedia } from '../../scripts/boot/standInMedia.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { runCli, tempDir, TEST_CACHE, type CliResult } from '../testSupport.js'

export const NETBOOT_PROFILES = ['netboot-uhci', 'netboot-nic'].map((n) => packagePath('test', 'netboot', 'profiles', `${n}.yaml`))
// inside slirp's 10.0.2.0/24, outside its own addresses: the guestfwd bridge answers here
export const TEST_URL = 'http://10.0.2.100'

export async function standInNetboot(): Promise<{ dir: string; release: string }> {
  const media = await buildStandInMedia(TEST_CACHE)
  return { dir: path.dirname(media.netboot.vmlinuz), release: media.release }
}

export async function makeTree(t: ExecutionContext, extra: string[] = [], profiles = NETBOOT_PROFILES): Promise<{ tree: string; r: CliResult }> {
  const { dir, release } = await standInNetboot()
  const tree = path.join(await tempDir(t), 'netboot')
  const r = await runCli(['pxe', ...profiles, '--alpine', dir, '--alpine-version', release, '--url', TEST_URL, '-o', tree, ...extra])
  t.is(r.code, 0, r.stderr)
  return { tree, r }
}
