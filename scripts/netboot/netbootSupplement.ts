// The supplementary initramfs of each netboot host (image issue's builder, scripts/image/supplementInitramfs.ts),
// from the netboot's own files: the stock initramfs says which modules it holds, the modloop gives the vfio
// modules of the same kernel build. Only the files needed are taken out of the modloop (a real one is ~100 MB).
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { BakedHost } from '../hostPipeline.js'
import { buildSupplementInitramfs, readInitramfsModules, supplementFilesOf } from '../image/supplementInitramfs.js'
import { readModloop } from '../image/modloopRead.js'
import type { AlpineNetboot } from './netbootMedia.js'

export async function buildNetbootSupplements(hosts: BakedHost[], media: AlpineNetboot): Promise<Map<string, Buffer>> {
  const base = await readInitramfsModules(media.files['initramfs-lts'])
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'hostbake-modloop-'))
  try {
    const modulesDir = await readModloop(media.files['modloop-lts'], scratch, base.kver)
    const out = new Map<string, Buffer>()
    for (const h of hosts) {
      const s = await buildSupplementInitramfs({ hostname: h.hostname, modulesDir, baseKver: base.kver, baseModules: base.modules, files: supplementFilesOf(h.files) })
      out.set(h.hostname, s.data)
    }
    return out
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}
