// Only what a supplementary initramfs needs out of a modloop (a real one is hundreds of MB unpacked): the
// modules/<kver>/modules.* index and the vfio modules' modules.dep closure. Used by image (the ISO's modloop) and
// pxe (the netboot's), each from the medium's own kernel build.
import { $ } from 'zx'
import fs from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { SUPPLEMENT_MODULES, closeOverDeps, readModulesDep } from './supplementInitramfs.js'

/** Unpacks into dest and returns modules/<kver>; kver: the build the modloop must hold (else: its only one). */
export async function readModloop(modloop: string, dest: string, kver?: string): Promise<string> {
  const run = async (...globs: string[]) => {
    const r = await $({ quiet: true, nothrow: true })`unsquashfs -no-progress -f -d ${dest} ${modloop} ${globs}`.timeout('120s')
    if (r.exitCode !== 0) throw new HostbakeError(`${modloop}: unsquashfs failed (${r.exitCode}): ${r.stderr.trim().split('\n').slice(-1)[0]}`, { hint: 'a modloop is Alpine\'s squashfs holding modules/<kver>/' })
  }
  await run(`modules/${kver ?? '*'}/modules.*`)
  const kvers = await fs.readdir(path.join(dest, 'modules')).catch(() => [] as string[])
  if (kver !== undefined && !kvers.includes(kver)) throw new HostbakeError(`${modloop}: no modules/${kver}/modules.dep: the modloop is not from the initramfs's kernel build`)
  if (kvers.length !== 1) throw new HostbakeError(`${modloop}: expected modules/<kver>/ for one kernel, found ${kvers.join(', ') || 'none'}`)
  const modulesDir = path.join(dest, 'modules', kvers[0])
  const { modules } = closeOverDeps(await readModulesDep(modulesDir), SUPPLEMENT_MODULES)
  if (modules.length > 0) await run(...modules.map((m) => `modules/${kvers[0]}/${m}`))
  return modulesDir
}
