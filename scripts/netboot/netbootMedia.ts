// load the user's Alpine netboot files: alpine-netboot-<ver>-x86_64.tar.gz, its unpacked boot/ folder, or a
// netboot-<ver>/ mirror folder. Pinned by version, never a moving "latest" (delivery-facts §9 T11), and kernel and
// modloop must be one build (T3): the modloop must hold modules/<the kernel's release>/.
import { $ } from 'zx'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { ALPINE_FILES } from './ipxeRender.js'

export interface AlpineNetboot {
  /** the Alpine version the files come from: 3.22.2 */
  version: string
  /** vmlinuz-lts, initramfs-lts, modloop-lts -> a readable path */
  files: Record<(typeof ALPINE_FILES)[number], string>
  /** uname -r of the kernel, read from the bzImage header */
  kernelRelease: string
  /** removes the unpacked tarball, if any */
  release(): Promise<void>
}

const VERSION = /^\d+\.\d+\.\d+(_rc\d+)?$/
const HINT = "give Alpine's alpine-netboot-<ver>-x86_64.tar.gz or its unpacked boot/ folder (vmlinuz-lts, initramfs-lts, modloop-lts)"

export async function loadAlpineNetboot(src: string, versionFlag?: string): Promise<AlpineNetboot> {
  if (!existsSync(src)) throw new HostbakeError(`--alpine ${src}: no such file or folder`, { hint: HINT })
  let dir = src
  let scratch: string | undefined
  if (!statSync(src).isDirectory()) {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'hostbake-netboot-'))
    const wanted = ALPINE_FILES.map((f) => `*${f}`)
    const r = await $({ quiet: true, nothrow: true })`tar -xzf ${src} -C ${scratch} --wildcards ${wanted}`.timeout('300s')
    if (r.exitCode !== 0) {
      await rm(scratch, { recursive: true, force: true })
      throw new HostbakeError(`--alpine ${src}: not a readable netboot tarball: ${r.stderr.trim().split('\n').pop()}`, { hint: HINT })
    }
    dir = scratch
  }
  const release = async () => { if (scratch) await rm(scratch, { recursive: true, force: true }) }
  try {
    const folder = findFolder(dir)
    if (!folder) throw new HostbakeError(`--alpine ${src}: no folder with ${ALPINE_FILES.join(', ')}`, { hint: HINT })
    const version = versionFlag ?? versionFromNames([src, folder])
    if (version === undefined) {
      throw new HostbakeError(`--alpine ${src}: cannot tell the Alpine version from the names`, { hint: 'name it as Alpine does (alpine-netboot-3.22.2-x86_64.tar.gz, netboot-3.22.2/) or give --alpine-version 3.22.2' })
    }
    if (!VERSION.test(version)) throw new HostbakeError(`--alpine-version ${version}: expected a release like 3.22.2 (never "latest": a moving target breaks kernel/modloop pairs)`)
    const files = Object.fromEntries(ALPINE_FILES.map((f) => [f, path.join(folder, f)])) as AlpineNetboot['files']
    const kernelRelease = await readKernelRelease(files['vmlinuz-lts'])
    await checkModloopMatches(files['modloop-lts'], kernelRelease)
    return { version, files, kernelRelease, release }
  } catch (err) {
    await release()
    throw err
  }
}

function findFolder(dir: string): string | undefined {
  const candidates = [dir, path.join(dir, 'boot')]
  // an unpacked tarball may hold one more level (netboot-<ver>/ or alpine-netboot-<ver>/boot)
  for (const c of [...candidates]) {
    try {
      for (const e of subfolders(c)) candidates.push(path.join(c, e), path.join(c, e, 'boot'))
    } catch { /* not a folder */ }
  }
  return candidates.find((c) => ALPINE_FILES.every((f) => existsSync(path.join(c, f))))
}

function subfolders(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()
}

export function versionFromNames(names: string[]): string | undefined {
  for (const n of names) {
    const m = /(?:alpine-netboot-|netboot-)(\d+\.\d+\.\d+(?:_rc\d+)?)/.exec(n)
    if (m) return m[1]
  }
  return undefined
}

/** The bzImage header names the kernel: offset 0x20e holds a pointer (minus 0x200) to "6.12.13-0-lts (buildozer@...) ..." */
export async function readKernelRelease(vmlinuz: string): Promise<string> {
  const fh = await open(vmlinuz, 'r')
  try {
    const head = Buffer.alloc(0x4000 + 256)
    const { bytesRead } = await fh.read(head, 0, head.length, 0)
    if (bytesRead < 0x210 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') {
      throw new HostbakeError(`${vmlinuz}: not a Linux bzImage (no HdrS header)`, { hint: HINT })
    }
    const at = head.readUInt16LE(0x20e) + 0x200
    const buf = Buffer.alloc(256)
    await fh.read(buf, 0, 256, at)
    const release = buf.toString('latin1').split(/[\s\0]/)[0]
    if (!/^\d+\.\d+/.test(release)) throw new HostbakeError(`${vmlinuz}: no kernel version in its header`, { hint: HINT })
    return release
  } finally {
    await fh.close()
  }
}

/** modloop-lts must hold modules/<kernel release>/: a modloop from another build mounts but has no modules (T3). */
async function checkModloopMatches(modloop: string, kernelRelease: string): Promise<void> {
  const r = await $({ quiet: true, nothrow: true })`unsquashfs -l -d m ${modloop} modules`.timeout('60s')
  if (r.exitCode !== 0) throw new HostbakeError(`${modloop}: not a squashfs modloop (unsquashfs: ${r.stderr.trim().split('\n').pop()})`, { hint: HINT })
  const kvers = [...new Set([...r.stdout.matchAll(/^m\/modules\/([^/\n]+)/gm)].map((m) => m[1]))]
  if (!kvers.includes(kernelRelease)) {
    throw new HostbakeError(`${modloop} holds modules for ${kvers.join(', ') || 'no kernel'}, but vmlinuz-lts is ${kernelRelease}: kernel and modloop must come from one netboot release`, { hint: HINT })
  }
}
