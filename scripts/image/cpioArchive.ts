// newc cpio, the format the kernel unpacks an initramfs from: a reproducible writer (sorted entries, fixed
// mtime, owner 0:0, inode numbers by position) and a reader that lists an existing (maybe compressed) archive.
import { spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { gunzipSync, gzip } from 'node:zlib'
import { cmp } from '../plan/hostPlan.js'

export interface CpioEntry {
  /** relative, no leading / or ./ */
  name: string
  type: 'file' | 'directory'
  mode: number
  data?: Buffer
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0')
const pad4 = (n: number) => (4 - (n % 4)) % 4

function header(name: string, ino: number, mode: number, nlink: number, size: number, mtime: number): Buffer {
  const fields = [ino, mode, 0, 0, nlink, mtime, size, 0, 0, 0, 0, Buffer.byteLength(name) + 1, 0]
  const head = Buffer.from(`070701${fields.map(hex8).join('')}${name}\0`, 'latin1')
  return Buffer.concat([head, Buffer.alloc(pad4(head.length))])
}

/** Every parent directory gets its own entry, so modes never depend on the unpacking side's umask. */
export function packCpio(entries: CpioEntry[], mtime: number): Buffer {
  const all = new Map<string, CpioEntry>()
  for (const e of entries) {
    const parts = e.name.split('/')
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/')
      if (!all.has(dir)) all.set(dir, { name: dir, type: 'directory', mode: 0o755 })
    }
    all.set(e.name, e)
  }
  const chunks: Buffer[] = []
  let ino = 1
  for (const e of [...all.values()].sort((a, b) => cmp(a.name, b.name))) {
    const data = e.type === 'file' ? e.data ?? Buffer.alloc(0) : Buffer.alloc(0)
    const mode = (e.type === 'file' ? 0o100000 : 0o040000) | e.mode
    chunks.push(header(e.name, ino++, mode, e.type === 'file' ? 1 : 2, data.length, mtime), data, Buffer.alloc(pad4(data.length)))
  }
  chunks.push(header('TRAILER!!!', 0, 0, 1, 0, 0))
  return Buffer.concat(chunks)
}

/** Decompresses by magic: gzip (mkinitfs' default), xz, zstd, or plain. */
export function decompressInitramfs(data: Buffer, what: string): Buffer {
  if (data[0] === 0x1f && data[1] === 0x8b) return gunzipSync(data)
  if (data.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return run(['xz', '-dc'], data, what)
  if (data.readUInt32LE(0) === 0xfd2fb528) return run(['zstd', '-dc'], data, what)
  return data
}

function run(cmd: string[], input: Buffer, what: string): Buffer {
  const r = spawnSync(cmd[0], cmd.slice(1), { input, maxBuffer: 1 << 30 })
  if (r.status !== 0) throw new Error(`${what}: ${cmd[0]} failed (${r.error?.message ?? r.stderr.toString().trim()})`)
  return r.stdout
}

/** Names in a newc archive, or in several concatenated ones (the kernel unpacks them all, in order). */
export function listCpio(data: Buffer): string[] {
  const names: string[] = []
  let off = 0
  while (off + 110 <= data.length) {
    if (data[off] === 0) { off++; continue } // padding between concatenated archives
    const magic = data.toString('latin1', off, off + 6)
    if (magic !== '070701' && magic !== '070702') throw new Error(`not a newc cpio archive at byte ${off}`)
    const field = (i: number) => parseInt(data.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16)
    const size = field(6)
    const nameSize = field(11)
    const name = data.toString('utf8', off + 110, off + 110 + nameSize - 1)
    if (name !== 'TRAILER!!!') names.push(name.replace(/^\.?\//, ''))
    off += 110 + nameSize
    off += pad4(off)
    off += size + pad4(size)
  }
  return names
}

const gzipAsync = promisify(gzip)

/** gzip at zlib's default level: 5 % larger than -9 on a module index, several times faster. */
export async function gzipCpio(data: Buffer): Promise<Buffer> {
  const gz = await gzipAsync(data, { level: 6 })
  gz[9] = 3 // OS = Unix whatever zlib was built for (MTIME is already 0)
  return gz
}
