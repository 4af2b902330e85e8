// The netboot tree `hostbake pxe` writes and `hostbake serve` serves. The layout is a contract (checks outside
// this repo read it):
//   alpine/<version>/{vmlinuz,initramfs,modloop}-lts   the user's netboot files, sha256 in manifest.json
//   ovl/<mac>.apkovl.tar.gz                            per host per MAC, as Alpine's {MAC} asks for it
//   initrd/<host>.cpio.gz                              the host's supplementary initramfs (vfio modules, modprobe.d)
//   hosts/<mac-with-hyphens>.ipxe                      per host per MAC
//   boot.ipxe                                          chains hosts/ by MAC, else the unknown-host default
//   dnsmasq.d/hostbake.conf                            the site's dnsmasq snippet
//   manifest.json                                      what is where, MAC -> host (serve's log reads it)
// plan is pure (content in, file list out); write is the one effect: a temp folder renamed into place.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { overlayMtime } from '../pack/apkovlPack.js'
import { renderDnsmasqConf, type DnsmasqSpec } from './dnsmasqRender.js'
import {
  ALPINE_FILES, hostScriptPath, overlayPath, renderBootIpxe, renderHostIpxe,
  type NetbootUrls, type UnknownHostAction,
} from './ipxeRender.js'

export const MANIFEST = 'manifest.json'
export const MANIFEST_FORMAT = 'hostbake-netboot/1'

export interface TreeFile {
  path: string
  /** content, or a file to copy (the Alpine media) */
  data?: Buffer
  source?: string
  sha256: string
  bytes: number
}

export interface NetbootHost {
  hostname: string
  macs: string[]
  /** modules=... and the kernel options, from the host's plan */
  cmdline: string
  iface?: string
  apkovl: Buffer
  supplement: Buffer
}

export interface NetbootMediaFile {
  name: (typeof ALPINE_FILES)[number]
  source: string
  sha256: string
  bytes: number
}

export interface TreeSpec {
  urls: NetbootUrls
  version: string
  kernelRelease: string
  media: NetbootMediaFile[]
  hosts: NetbootHost[]
  unknown: UnknownHostAction
  dnsmasq: Omit<DnsmasqSpec, 'bootUrl'>
}

export interface NetbootManifest {
  format: string
  base: string
  alpine: { version: string; kernelRelease: string; repo: string }
  unknownHosts: UnknownHostAction
  /** MAC (lowercase, colons) -> hostname */
  macs: Record<string, string>
  hosts: Record<string, { macs: string[]; initrd: string; cmdline: string }>
  files: Record<string, { sha256: string; bytes: number }>
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const text = (p: string, s: string): TreeFile => {
  const data = Buffer.from(s)
  return { path: p, data, sha256: sha256(data), bytes: data.length }
}
export const initrdPath = (hostname: string) => `initrd/${hostname}.cpio.gz`

export function planNetbootTree(spec: TreeSpec): TreeFile[] {
  const alpineDir = spec.urls.alpineDir
  const files: TreeFile[] = spec.media.map((m) => ({ path: `${alpineDir}/${m.name}`, source: m.source, sha256: m.sha256, bytes: m.bytes }))
  for (const h of [...spec.hosts].sort((a, b) => (a.hostname < b.hostname ? -1 : 1))) {
    const initrd = initrdPath(h.hostname)
    files.push({ path: initrd, data: h.supplement, sha256: sha256(h.supplement), bytes: h.supplement.length })
    for (const mac of h.macs) {
      files.push({ path: overlayPath(mac), data: h.apkovl, sha256: sha256(h.apkovl), bytes: h.apkovl.length })
      files.push(text(hostScriptPath(mac), renderHostIpxe({ hostname: h.hostname, mac, initrd, cmdline: h.cmdline, ...(h.iface ? { iface: h.iface } : {}) }, spec.urls)))
    }
  }
  files.push(text('boot.ipxe', renderBootIpxe(spec.urls, spec.unknown)))
  files.push(text('dnsmasq.d/hostbake.conf', renderDnsmasqConf({ ...spec.dnsmasq, bootUrl: `${spec.urls.base}/boot.ipxe` })))
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const manifest: NetbootManifest = {
    format: MANIFEST_FORMAT,
    base: spec.urls.base,
    alpine: { version: spec.version, kernelRelease: spec.kernelRelease, repo: spec.urls.repo },
    unknownHosts: spec.unknown,
    macs: Object.fromEntries(spec.hosts.flatMap((h) => h.macs.map((m) => [m, h.hostname] as const)).sort()),
    hosts: Object.fromEntries(spec.hosts.map((h) => [h.hostname, { macs: h.macs, initrd: initrdPath(h.hostname), cmdline: h.cmdline }] as const).sort()),
    files: Object.fromEntries(files.map((f) => [f.path, { sha256: f.sha256, bytes: f.bytes }])),
  }
  files.push(text(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`))
  return files
}

export async function readManifest(tree: string): Promise<NetbootManifest | undefined> {
  const file = path.join(tree, MANIFEST)
  if (!existsSync(file)) return undefined
  const m = JSON.parse(await fs.readFile(file, 'utf8')) as NetbootManifest
  return m.format === MANIFEST_FORMAT ? m : undefined
}

/**
 * Writes the whole tree into a temp folder beside OUT, then swaps it in: a reader never sees half a tree and a
 * failed run leaves the previous tree. An existing OUT that is not a hostbake tree is never replaced.
 */
export async function writeNetbootTree(out: string, files: TreeFile[]): Promise<void> {
  const target = path.resolve(out)
  if (existsSync(target)) {
    const st = await fs.lstat(target)
    const entries = st.isDirectory() ? await fs.readdir(target) : ['?']
    if (entries.length > 0 && !entries.includes(MANIFEST)) {
      throw new HostbakeError(`-o ${out}: exists and is not a hostbake netboot tree (no ${MANIFEST}): refusing to replace it`, { hint: 'give a new folder, or the folder a previous `hostbake pxe` wrote' })
    }
  }
  await fs.mkdir(path.dirname(target), { recursive: true })
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`
  const tmp = `${target}.hostbake-tmp-${tag}`
  const old = `${target}.hostbake-old-${tag}`
  const mtime = overlayMtime()
  try {
    await fs.mkdir(tmp)
    const dirs = new Set<string>([tmp])
    for (const f of files) {
      const dest = path.join(tmp, f.path)
      for (let d = path.dirname(dest); !dirs.has(d); d = path.dirname(d)) dirs.add(d)
      await fs.mkdir(path.dirname(dest), { recursive: true })
      if (f.data !== undefined) await fs.writeFile(dest, f.data, { mode: 0o644 })
      else await fs.copyFile(f.source!, dest)
      await fs.chmod(dest, 0o644)
      await fs.utimes(dest, mtime, mtime)
    }
    // deepest first: setting a folder's time after its last child was written
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
      await fs.chmod(d, 0o755)
      await fs.utimes(d, mtime, mtime)
    }
    if (existsSync(target)) await fs.rename(target, old)
    await fs.rename(tmp, target)
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true })
    if (existsSync(old) && !existsSync(target)) await fs.rename(old, target)
    throw err
  }
  await fs.rm(old, { recursive: true, force: true })
}
