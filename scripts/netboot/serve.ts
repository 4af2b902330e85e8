/**
 * serve: a netboot tree over HTTP, for iPXE and Alpine's initramfs (busybox wget).
 *
 *   const s = await startNetbootServer({ root: 'netboot', listen: { host: '127.0.0.1', port: 8080 } })
 *   // ... s.url is http://127.0.0.1:8080; await s.close()
 *
 * Files come from `send` (pillarjs, the file server under Express' static middleware): byte ranges and
 * If-Range (iPXE and wget resume), HEAD, Content-Length, ETag/Last-Modified, its own traversal guard. Around it,
 * what send leaves to us: only GET and HEAD; no path segment starting with '.' (dotfiles, '..', also when
 * percent-encoded); nothing whose real path (symlinks resolved) leaves the tree; no folder listings.
 * Every request is one log line naming the host its MAC belongs to (manifest.json), or saying that no host
 * boots from that MAC.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import fs from 'node:fs/promises'
import path from 'node:path'
import send from 'send'
import { readManifest, type NetbootManifest } from './netbootTree.js'

export interface ServeOptions {
  root: string
  listen: { host: string; port: number }
  log?: (line: string) => void
}

export interface NetbootServer {
  url: string
  close(): Promise<void>
}

const MAC = '[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}'
const OVERLAY = new RegExp(`^/ovl/(${MAC})\\.apkovl\\.tar\\.gz$`, 'i')
const HOST_SCRIPT = new RegExp(`^/hosts/(${MAC})\\.ipxe$`, 'i')
const INITRD = /^\/initrd\/([a-z0-9-]+)\.cpio\.gz$/

/** What a request is about, in words: which host fetched what, or which MAC has no host. */
export function describeRequest(urlPath: string, status: number, manifest: NetbootManifest | undefined): string {
  const what = (m: RegExpExecArray | null, thing: string) => {
    if (!m) return undefined
    const mac = m[1].toLowerCase().replaceAll('-', ':')
    const host = manifest?.macs[mac]
    if (host) return status < 400 ? `${host} fetched its ${thing}` : `${host} (${mac}): ${thing} missing from the tree`
    return `unknown MAC ${mac}: no host in this tree boots from it${thing === 'boot script' ? `, boot.ipxe falls back to its default (${manifest?.unknownHosts ?? '?'})` : ''}`
  }
  const initrd = INITRD.exec(urlPath)
  return what(HOST_SCRIPT.exec(urlPath), 'boot script')
    ?? what(OVERLAY.exec(urlPath), 'overlay')
    ?? (initrd && manifest?.hosts[initrd[1]] ? `${initrd[1]} fetched its supplementary initramfs` : undefined)
    ?? ''
}

/** The decoded path, or undefined when it is one we never serve ('..', dotfiles, NUL, not absolute). */
export function checkRequestPath(rawUrl: string): string | undefined {
  const pathname = rawUrl.split('?')[0].split('#')[0]
  if (!pathname.startsWith('/')) return undefined
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return undefined
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined
  if (decoded.split('/').some((seg) => seg.startsWith('.'))) return undefined
  return decoded
}

export async function startNetbootServer(opts: ServeOptions): Promise<NetbootServer> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`hostbake serve: ${line}\n`))
  const root = await fs.realpath(opts.root)
  const manifest = await readManifest(root)
  const server = http.createServer((req, res) => {
    const started = performance.now()
    const urlPath = checkRequestPath(req.url ?? '')
    res.on('finish', () => {
      const bytes = req.method === 'HEAD' ? 0 : Number(res.getHeader('content-length') ?? 0)
      const about = urlPath ? describeRequest(urlPath, res.statusCode, manifest) : 'refused: outside the tree, a dotfile or malformed'
      const range = req.headers.range ? ` ${req.headers.range}` : ''
      log(`${req.socket.remoteAddress ?? '-'} ${req.method} ${req.url} ${res.statusCode} ${bytes} B${range} ${((performance.now() - started) / 1000).toFixed(3)} s${about ? ` - ${about}` : ''}`)
    })
    void handle(req, res, root, urlPath)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.listen.port, opts.listen.host, () => resolve())
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    url: `http://${host}:${addr.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      // iPXE keeps connections alive: do not wait for idle ones, and cut transfers in flight
      server.closeAllConnections()
    }),
  }
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, root: string, urlPath: string | undefined) {
  const fail = (status: number, message: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(message), ...headers })
    res.end(req.method === 'HEAD' ? undefined : message)
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'only GET and HEAD\n', { Allow: 'GET, HEAD' })
  if (urlPath === undefined) return fail(404, 'not found\n')
  // symlinks are followed only while they stay inside the tree
  let real: string
  try {
    real = await fs.realpath(path.join(root, urlPath))
  } catch {
    return fail(404, 'not found\n')
  }
  if (real !== root && !real.startsWith(root + path.sep)) return fail(404, 'not found\n')
  const st = await fs.stat(real).catch(() => undefined)
  if (!st?.isFile()) return fail(404, 'not found\n')
  const rel = '/' + path.relative(root, real).split(path.sep).map(encodeURIComponent).join('/')
  send(req, rel, { root, dotfiles: 'ignore', index: false, cacheControl: false })
    .on('error', (err: { status?: number; headers?: Record<string, string> }) => {
      const status = err.status ?? 500
      fail(status, `${status === 416 ? 'range not satisfiable' : 'error'}\n`, err.headers ?? {})
    })
    .pipe(res)
}
