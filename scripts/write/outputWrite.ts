// write: the only place output reaches the file system. Temp file in the same folder, then rename,
// so a reader (or a failed build) never sees half a file and a previous good output stays intact.
// Never through or over anything but a regular file (`-o /dev/null` as root must not replace the device
// node), never over an input; temp files are removed on SIGINT/SIGTERM and on a failed write (ENOSPC).
import { randomBytes } from 'node:crypto'
import { renameSync, rmSync } from 'node:fs'
import { lstat, mkdir, open, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { onCleanup } from '../shared/cleanup.js'

/** The inputs of a run by file identity (dev:ino, symlinks followed): an output is refused if it is one of them,
 *  also through a hard link or a symlink. Stat'ed once per run, not once per output. */
export type InputIds = Map<string, string>
export async function identifyInputs(inputs: readonly string[]): Promise<InputIds> {
  const ids: InputIds = new Map()
  for (const input of new Set(inputs)) {
    const st = await stat(input).catch(() => undefined)
    if (st) ids.set(`${st.dev}:${st.ino}`, input)
  }
  return ids
}

// Refuse an output path that is not (yet) a regular file, or that is one of the inputs.
async function checkOutputPath(file: string, inputs: InputIds): Promise<void> {
  const st = await lstat(file).catch(() => undefined)
  if (st && !st.isFile()) {
    const kind = st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? 'a directory' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device node' : st.isFIFO() ? 'a FIFO' : 'not a regular file'
    throw new HostbakeError(`${file} is ${kind}: hostbake replaces only regular files`, { hint: 'name a new file, or -o - for stdout' })
  }
  // a regular file (never a symlink, refused above) is an input exactly when its dev:ino is one
  const input = st && inputs.get(`${st.dev}:${st.ino}`)
  if (input) throw new HostbakeError(`${file} is an input of this run (${input}): writing it would destroy it`)
}

export async function writeAtomic(file: string, data: Buffer, mode = 0o644, inputs: string[] | InputIds = []): Promise<void> {
  if (Array.isArray(inputs)) inputs = await identifyInputs(inputs)
  await checkOutputPath(file, inputs)
  await mkdir(path.dirname(file), { recursive: true }) // cheap when it exists
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const forget = onCleanup(() => rmSync(tmp, { force: true }))
  try {
    // O_EXCL: never through a file (or link) someone put at the temp name; mode before any byte is written
    const fh = await open(tmp, 'wx', mode)
    try {
      await fh.writeFile(data)
      await fh.chmod(mode) // the umask may have taken bits: the mode is part of the promise (0600 for secrets)
    } finally {
      await fh.close()
    }
    await checkOutputPath(file, inputs) // again, just before it is replaced
    // synchronous: a signal handled between an async rename's syscall (done in the thread pool) and its
    // completion would report the output as not written while it is there; from here the caller's record of
    // it runs before any signal handler
    renameSync(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  } finally {
    forget()
  }
}

export interface Output {
  path: string
  data: Buffer
  mode?: number
}

// Many outputs; on a failure (a full disk) or a signal, say which were written, and leave no temp file.
export async function writeOutputs(outputs: Output[], opts: { inputs?: string[]; limit?: number; log: (msg: string) => void }): Promise<string[]> {
  const written: string[] = []
  const report = (why: string) => opts.log(`${why}: wrote ${written.length} of ${outputs.length}${written.length > 0 ? `: ${written.join(' ')}` : ''}`)
  const forget = onCleanup(() => report('interrupted'))
  try {
    const inputs = await identifyInputs(opts.inputs ?? [])
    await mapLimit(outputs, opts.limit ?? 16, async (o) => {
      await writeAtomic(o.path, o.data, o.mode, inputs)
      written.push(o.path)
    })
    return outputs.map((o) => o.path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    report(`stopped (${code ?? (err as Error).message})`)
    if (err instanceof HostbakeError) throw err
    throw new HostbakeError(`cannot write the overlays: ${code ?? err}`, { exitCode: 1 })
  } finally {
    forget()
  }
}

// Run fn over items with at most `limit` in flight; results in input order. The first failure stops new work.
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  let failed = false
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++
      try {
        results[i] = await fn(items[i])
      } catch (err) {
        failed = true
        throw err
      }
    }
  }
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker))
  const bad = settled.find((s) => s.status === 'rejected')
  if (bad) throw (bad as PromiseRejectedResult).reason
  return results
}
