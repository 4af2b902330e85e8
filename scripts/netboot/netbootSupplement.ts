// The supplementary initramfs of each netboot host (image issue's builder, scripts/image/supplementInitramfs.ts),
// from the netboot's own files: the stock initramfs says which modules it holds, the modloop gives the vfio
// modules of the same kernel build. Only the files needed are taken out of the modloop (a real one is ~100 MB).
import { $ } from 'zx'
import fs from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import type { BakedHost } from '../hostPipeline.js'
import {
  SUPPLEMENT_MODULES, buildSupplementInitramfs, closeOverDeps, readInitramfsModules, supplementFilesOf,
} from '../image/supplementInitramfs.js'
import type { AlpineNetboot } from './netbootMedia.js'

export async function buildNetbootSupplements(hosts: BakedHost[], media: AlpineNetboot): Promise<Map<string, Buffer>> {
  const base = await readInitramfsModules(media.files['initramfs-lts'])
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'hostbake-modloop-'))
  try {
    const modulesDir = await unpackModloopModules(media.files['modloop-lts'], base.kver, scratch)
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

async function unsquash(modloop: string, dest: string, paths: string[]): Promise<void> {
  const r = await $({ quiet: true, nothrow: true })`unsquashfs -no-progress -f -d ${dest} ${modloop} ${paths}`.timeout('120s')
  if (r.exitCode !== 0) throw new HostbakeError(`${modloop}: unsquashfs failed (${r.exitCode}): ${r.stderr.trim().split('\n').pop()}`)
}

/** modules/<kver>/modules.* and the vfio modules' modules.dep closure, unpacked into dest. */
async function unpackModloopModules(modloop: string, kver: string, dest: string): Promise<string> {
  await unsquash(modloop, dest, [`modules/${kver}/modules.*`])
  const modulesDir = path.join(dest, 'modules', kver)
  const depFile = path.join(modulesDir, 'modules.dep')
  const text = await fs.readFile(depFile, 'utf8').catch(() => {
    throw new HostbakeError(`${modloop}: no modules/${kver}/modules.dep: the modloop is not from the initramfs's kernel build`)
  })
  const deps = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) deps.set(line.slice(0, i), line.slice(i + 1).split(/\s+/).filter(Boolean))
  }
  const { modules } = closeOverDeps(deps, SUPPLEMENT_MODULES)
  if (modules.length > 0) await unsquash(modloop, dest, modules.map((m) => `modules/${kver}/${m}`))
  return modulesDir
}
