/**
 * supplementInitramfs: the per-host initramfs that goes AFTER Alpine's stock one (ISO: `INITRD a,b` / `initrd a b`;
 * iPXE: a second `initrd`), so a host that runs from RAM binds its devices before coldplug.
 *
 *   const base = await readInitramfsModules('iso/boot/initramfs-lts')          // what the stock one holds
 *   const supp = await buildSupplementInitramfs({
 *     hostname: host.hostname, modulesDir: 'modloop/modules/6.12.69-0-lts',     // the medium's own modloop, unpacked
 *     baseKver: base.kver, baseModules: base.modules, files: supplementFilesOf(host.files),
 *   })
 *   await fs.writeFile('hostbake-host1.cpio.gz', supp.data)                    // newc, gzip, byte-reproducible
 *
 * What it carries, and why:
 *  - lib/modules/<kver>/: vfio, vfio-pci, vfio_iommu_type1 and their modules.dep closure, copied from the modloop
 *    (the exact kernel build: a module from another build is refused by the kernel, alpine-boot-facts T3).
 *  - lib/modules/<kver>/modules.*: the modloop's own depmod output. The kernel unpacks later archives over earlier
 *    ones, so these replace the stock index; being the whole build's index, they cover every module of the stock
 *    initramfs plus ours (checked: each base module must be in it). Copied, not regenerated: Alpine compresses
 *    modules (.ko.gz) and a Debian depmod built without zlib would skip them.
 *  - etc/modprobe.d/*.conf and the driver_override hook from the baked overlay (mkinitfs' base.files copies the
 *    build host's modprobe.d, never the host's own, into the stock image).
 *  - etc/hostbake/supplement: one line naming host and kernel, so a boot can tell this archive was applied.
 * modules= on the kernel line (vfio,vfio-pci,vfio_iommu_type1) then loads vfio-pci before nlplug-findfs coldplugs.
 */
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import type { FileMap } from '../render/overlayRender.js'
import { overlayMtime } from '../pack/apkovlPack.js'
import { decompressInitramfs, gzipCpio, listCpio, packCpio, type CpioEntry } from './cpioArchive.js'

/** The modules modules= names on the kernel line; their hard dependencies come from modules.dep. */
export const SUPPLEMENT_MODULES = ['vfio', 'vfio-pci', 'vfio_iommu_type1'] as const
export const SUPPLEMENT_MARKER = 'etc/hostbake/supplement'

export interface SupplementFile {
  name: string // relative path, e.g. etc/modprobe.d/vfio.conf
  mode: number
  data: Buffer
}

export interface SupplementSpec {
  hostname: string
  /** <modloop>/modules/<kver>: holds modules.dep and the module files */
  modulesDir: string
  /** the stock initramfs's kernel release and module paths (relative to lib/modules/<kver>), from readInitramfsModules */
  baseKver: string
  baseModules: string[]
  /** modprobe.d and the override hook: supplementFilesOf(baked.files) */
  files: SupplementFile[]
  /** default: SOURCE_DATE_EPOCH or hostbake's constant (the same as the overlay's) */
  mtime?: number
}

export interface Supplement {
  /** gzip'd newc cpio */
  data: Buffer
  kver: string
  /** module paths added, relative to lib/modules/<kver> */
  modules: string[]
  /** every file in the archive */
  entries: string[]
}

const MODULE_EXT = /\.ko(\.gz|\.xz|\.zst)?$/
export const moduleNameOf = (p: string) => path.basename(p).replace(MODULE_EXT, '').replaceAll('-', '_')

/** The overlay files the initramfs stage needs: modprobe.d, and the hook its install lines run. */
export function supplementFilesOf(files: FileMap): SupplementFile[] {
  return [...files.values()]
    .filter((e) => e.type === 'file' && (/^etc\/modprobe\.d\/[^/]+\.conf$/.test(e.name) || e.name === 'etc/hostbake/vfio-override.sh'))
    .map((e) => ({ name: e.name, mode: e.mode, data: e.data! }))
}

/** Kernel release and module paths inside a stock initramfs (gzip, xz, zstd or plain newc). */
export async function readInitramfsModules(initramfs: string): Promise<{ kver: string; modules: string[] }> {
  const names = listCpio(decompressInitramfs(await fs.readFile(initramfs), initramfs))
  const kvers = new Set(names.map((n) => /^lib\/modules\/([^/]+)\//.exec(n)?.[1]).filter((k): k is string => !!k))
  if (kvers.size !== 1) throw new HostbakeError(`${initramfs}: expected modules of one kernel under lib/modules/, found ${kvers.size === 0 ? 'none' : [...kvers].join(', ')}`)
  const [kver] = kvers
  const prefix = `lib/modules/${kver}/`
  return { kver, modules: names.filter((n) => n.startsWith(prefix) && MODULE_EXT.test(n)).map((n) => n.slice(prefix.length)).sort() }
}

/** depmod's modules.dep: module path -> the paths of its hard dependencies (never softdeps). */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) deps.set(line.slice(0, i), line.slice(i + 1).split(/\s+/).filter(Boolean))
  }
  return deps
}

export async function readModulesDep(modulesDir: string): Promise<Map<string, string[]>> {
  const file = path.join(modulesDir, 'modules.dep')
  if (!existsSync(file)) throw new HostbakeError(`${modulesDir}: no modules.dep (not a module tree)`)
  return parseModulesDep(await fs.readFile(file, 'utf8'))
}

/** The named modules and their hard dependencies (modules.dep), as paths. */
export function closeOverDeps(deps: Map<string, string[]>, names: readonly string[]): { modules: string[]; missing: string[] } {
  const byName = new Map([...deps.keys()].map((p) => [moduleNameOf(p), p]))
  const seen = new Set<string>()
  const missing: string[] = []
  const visit = (p: string) => {
    if (seen.has(p)) return
    seen.add(p)
    for (const d of deps.get(p) ?? []) visit(d)
  }
  for (const n of names) {
    const p = byName.get(n.replaceAll('-', '_'))
    if (p) visit(p)
    else missing.push(n)
  }
  return { modules: [...seen].sort(), missing }
}

export async function buildSupplementInitramfs(spec: SupplementSpec): Promise<Supplement> {
  const kver = path.basename(spec.modulesDir)
  if (kver !== spec.baseKver) {
    throw new HostbakeError(`the stock initramfs is for kernel ${spec.baseKver}, the modloop holds ${kver}: they must come from one kernel build`)
  }
  const deps = await readModulesDep(spec.modulesDir)
  const unknown = spec.baseModules.filter((m) => !deps.has(m))
  if (unknown.length > 0) {
    throw new HostbakeError(`${spec.modulesDir}/modules.dep does not know ${unknown.length} module(s) of the stock initramfs (${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', ...' : ''}): another kernel build?`)
  }
  const { modules, missing } = closeOverDeps(deps, SUPPLEMENT_MODULES)
  if (missing.length > 0) {
    throw new HostbakeError(`${spec.modulesDir}: no ${missing.join(', ')} module in this kernel build`, { hint: 'passthrough needs linux-lts (linux-virt is built without VFIO)' })
  }
  const prefix = `lib/modules/${kver}`
  const entries: CpioEntry[] = []
  for (const m of modules) entries.push({ name: `${prefix}/${m}`, type: 'file', mode: 0o644, data: await fs.readFile(path.join(spec.modulesDir, m)) })
  for (const f of (await fs.readdir(spec.modulesDir)).filter((f) => f.startsWith('modules.')).sort()) {
    entries.push({ name: `${prefix}/${f}`, type: 'file', mode: 0o644, data: await fs.readFile(path.join(spec.modulesDir, f)) })
  }
  for (const f of spec.files) entries.push({ name: f.name, type: 'file', mode: f.mode, data: f.data })
  entries.push({ name: SUPPLEMENT_MARKER, type: 'file', mode: 0o644, data: Buffer.from(`host=${spec.hostname} kver=${kver} modules=${modules.map(moduleNameOf).join(',')}\n`) })
  const mtime = spec.mtime ?? Math.floor(overlayMtime().getTime() / 1000)
  return { data: await gzipCpio(packCpio(entries, mtime)), kver, modules, entries: entries.map((e) => e.name).sort() }
}

/** The archive's file name on the medium, next to Alpine's initramfs. */
export const supplementName = (hostname: string) => `hostbake-${hostname}.cpio.gz`
