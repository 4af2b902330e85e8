// pack: file map -> reproducible gzip tar, the format Alpine's initramfs unpacks with busybox tar -z.
// Sorted entries, explicit directories, numeric owners, fixed mtime, gzip header without a timestamp.
import { promisify } from 'node:util'
import { constants, gzip } from 'node:zlib'
import tar from 'tar-stream'
import { HostbakeError } from '../shared/hostbakeError.js'
import { sortedEntries, type FileMap } from '../render/overlayRender.js'

// SOURCE_DATE_EPOCH when the caller sets one; otherwise a constant, so output never depends on the day.
const DEFAULT_EPOCH = 1704067200 // 2024-01-01T00:00:00Z

// tar's mtime field: 11 octal digits
export const MAX_EPOCH = 0o77777777777

// A SOURCE_DATE_EPOCH that is not a non-negative integer in range is an error, never silently replaced or wrapped.
export function overlayMtime(env: NodeJS.ProcessEnv = process.env): Date {
  const sde = env.SOURCE_DATE_EPOCH
  if (sde === undefined || sde === '') return new Date(DEFAULT_EPOCH * 1000)
  if (!/^\d{1,12}$/.test(sde) || Number(sde) > MAX_EPOCH) {
    throw new HostbakeError(`SOURCE_DATE_EPOCH=${JSON.stringify(sde).slice(0, 40)}: expected whole seconds since 1970, from 0 to ${MAX_EPOCH}`, { hint: 'SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)' })
  }
  return new Date(Number(sde) * 1000)
}

// The overlay file itself is 0600 when any file in it is kept from others on the host (keys, secrets,
// libvirt definitions): whoever can read the artifact can read every file in it.
export function apkovlMode(files: FileMap): number {
  return [...files.values()].some((e) => e.type === 'file' && (e.mode & 0o004) === 0) ? 0o600 : 0o644
}

export async function packTar(files: FileMap, mtime = overlayMtime()): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (c: unknown) => { chunks.push(c as Buffer) })
  const done = new Promise<void>((resolve, reject) => { pack.on('end', resolve); pack.on('error', reject) })
  for (const e of sortedEntries(files)) {
    const header = { name: e.name, mode: e.mode, uid: e.uid, gid: e.gid, uname: '', gname: '', mtime }
    if (e.type === 'file') pack.entry({ ...header, type: 'file', size: e.data!.length }, e.data!)
    else if (e.type === 'directory') pack.entry({ ...header, type: 'directory' })
    else pack.entry({ ...header, type: 'symlink', linkname: e.target! })
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

const gzipAsync = promisify(gzip)

// Async: zlib runs on libuv's thread pool, so many hosts compress on all cores at once.
export async function gzipDeterministic(data: Buffer): Promise<Buffer> {
  const gz = await gzipAsync(data, { level: constants.Z_BEST_COMPRESSION })
  gz[9] = 3 // OS = Unix, whatever platform zlib was built for (bytes 4-7, MTIME, are already 0)
  return gz
}

export async function packApkovl(files: FileMap, mtime = overlayMtime()): Promise<Buffer> {
  return gzipDeterministic(await packTar(files, mtime))
}
