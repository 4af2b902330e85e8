// hostbake serve: only the tree's own files, byte ranges, HEAD, lengths, a log line per request naming the host,
// clean shutdown on SIGINT/SIGTERM. Everything listens on 127.0.0.1 only.
import test from 'ava'
import { spawn } from 'node:child_process'
import http from 'node:http'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startNetbootServer } from '../../scripts/netboot/serve.js'
import { MANIFEST_FORMAT } from '../../scripts/netboot/netbootTree.js'
import { parseListen } from '../../scripts/commands/serve.js'
import { CLI, tempDir } from '../testSupport.js'

const OVERLAY = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251))

async function makeTree(t: import('ava').ExecutionContext): Promise<{ root: string; outside: string }> {
  const dir = await tempDir(t)
  const root = path.join(dir, 'tree')
  await mkdir(path.join(root, 'ovl'), { recursive: true })
  await mkdir(path.join(root, 'hosts'), { recursive: true })
  await mkdir(path.join(root, '.git'), { recursive: true })
  await writeFile(path.join(root, 'ovl', '52:54:00:12:34:56.apkovl.tar.gz'), OVERLAY)
  await writeFile(path.join(root, 'hosts', '52-54-00-12-34-56.ipxe'), '#!ipxe\n')
  await writeFile(path.join(root, 'boot.ipxe'), '#!ipxe\nchain x\n')
  await writeFile(path.join(root, '.git', 'config'), 'secret')
  await writeFile(path.join(root, '.env'), 'secret')
  await writeFile(path.join(root, 'manifest.json'), JSON.stringify({ format: MANIFEST_FORMAT, base: 'http://10.0.2.100', unknownHosts: 'alpine', macs: { '52:54:00:12:34:56': 'vmhost-07' }, hosts: { 'vmhost-07': {} }, files: {} }))
  const outside = path.join(dir, 'outside.txt')
  await writeFile(outside, 'not yours')
  await symlink(outside, path.join(root, 'escape.txt'))
  await symlink(path.join(root, 'boot.ipxe'), path.join(root, 'inside.ipxe'))
  return { root, outside }
}

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: Buffer }
function request(url: string, rawPath: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    // the path goes out exactly as written: no client-side normalisation of .. or %2e
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function serve(t: import('ava').ExecutionContext) {
  const tree = await makeTree(t)
  const lines: string[] = []
  const s = await startNetbootServer({ root: tree.root, listen: { host: '127.0.0.1', port: 0 }, log: (l) => lines.push(l) })
  t.teardown(() => s.close())
  t.regex(s.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  return { ...tree, url: s.url, lines }
}

test('GET serves a file with its length and names the host in the log', async (t) => {
  const s = await serve(t)
  const r = await request(s.url, '/ovl/52:54:00:12:34:56.apkovl.tar.gz')
  t.is(r.status, 200)
  t.is(r.headers['content-length'], '1000')
  t.is(r.headers['accept-ranges'], 'bytes')
  t.deepEqual(r.body, OVERLAY)
  t.regex(s.lines.join('\n'), /GET \/ovl\/52:54:00:12:34:56\.apkovl\.tar\.gz 200 1000 B .* - vmhost-07 fetched its overlay/)
})

test('HEAD gives the length and no body', async (t) => {
  const s = await serve(t)
  const r = await request(s.url, '/ovl/52:54:00:12:34:56.apkovl.tar.gz', { method: 'HEAD' })
  t.is(r.status, 200)
  t.is(r.headers['content-length'], '1000')
  t.is(r.body.length, 0)
})

test('range requests: a middle range, a suffix, an open end, and an unsatisfiable one', async (t) => {
  const s = await serve(t)
  const p = '/ovl/52:54:00:12:34:56.apkovl.tar.gz'
  const mid = await request(s.url, p, { headers: { Range: 'bytes=100-199' } })
  t.is(mid.status, 206)
  t.is(mid.headers['content-range'], 'bytes 100-199/1000')
  t.is(mid.headers['content-length'], '100')
  t.deepEqual(mid.body, OVERLAY.subarray(100, 200))
  const suffix = await request(s.url, p, { headers: { Range: 'bytes=-10' } })
  t.deepEqual(suffix.body, OVERLAY.subarray(990))
  const resume = await request(s.url, p, { headers: { Range: 'bytes=900-' } })
  t.is(resume.headers['content-range'], 'bytes 900-999/1000')
  t.deepEqual(resume.body, OVERLAY.subarray(900))
  const bad = await request(s.url, p, { headers: { Range: 'bytes=5000-6000' } })
  t.is(bad.status, 416)
  t.is(bad.headers['content-range'], 'bytes */1000')
  t.regex(s.lines.join('\n'), /206 100 B bytes=100-199/)
})

for (const [name, p] of [
  ['..', '/../outside.txt'],
  ['.. deeper', '/ovl/../../outside.txt'],
  ['encoded %2e%2e', '/%2e%2e/outside.txt'],
  ['encoded %2E%2E%2F', '/ovl/%2E%2E%2F%2E%2E%2Foutside.txt'],
  ['backslash', '/ovl/..%5c..%5coutside.txt'],
  ['a symlink out of the tree', '/escape.txt'],
  ['a dotfile', '/.env'],
  ['inside a dot folder', '/.git/config'],
  ['a NUL byte', '/boot.ipxe%00.txt'],
  ['a folder', '/ovl/'],
  ['an unknown path', '/nothing/here'],
] as const) {
  test(`never served: ${name}`, async (t) => {
    const s = await serve(t)
    const r = await request(s.url, p)
    t.is(r.status, 404)
    t.notRegex(r.body.toString(), /not yours|secret/)
  })
}

test('a symlink that stays inside the tree is served', async (t) => {
  const s = await serve(t)
  const r = await request(s.url, '/inside.ipxe')
  t.is(r.status, 200)
  t.is(r.body.toString(), '#!ipxe\nchain x\n')
})

test('only GET and HEAD', async (t) => {
  const s = await serve(t)
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await request(s.url, '/boot.ipxe', { method })
    t.is(r.status, 405, method)
    t.is(r.headers.allow, 'GET, HEAD')
  }
})

test('an unknown MAC gets a 404 and a log line saying no host boots from it', async (t) => {
  const s = await serve(t)
  t.is((await request(s.url, '/hosts/52-54-00-99-99-99.ipxe')).status, 404)
  t.is((await request(s.url, '/ovl/52:54:00:99:99:99.apkovl.tar.gz')).status, 404)
  const log = s.lines.join('\n')
  t.regex(log, /GET \/hosts\/52-54-00-99-99-99\.ipxe 404 .* - unknown MAC 52:54:00:99:99:99: no host in this tree boots from it, boot\.ipxe falls back to its default \(alpine\)/)
  t.regex(log, /GET \/ovl\/52:54:00:99:99:99\.apkovl\.tar\.gz 404 .* - unknown MAC 52:54:00:99:99:99/)
})

test('--listen: loopback by default, ADDRESS:PORT otherwise', (t) => {
  t.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 })
  t.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 })
  t.throws(() => parseListen('8080'), { message: /expected ADDRESS:PORT/ })
  t.throws(() => parseListen('127.0.0.1:99999'), { message: /expected ADDRESS:PORT/ })
})

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`hostbake serve stops cleanly on ${signal}`, async (t) => {
    const { root } = await makeTree(t)
    const child = spawn(process.execPath, [CLI, 'serve', root, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString()
        const m = /serving .* at (http:\/\/127\.0\.0\.1:\d+)\//.exec(err)
        if (m) resolve(m[1])
      })
      child.on('exit', () => reject(new Error(`serve exited early: ${err}`)))
    })
    t.is((await request(url, '/boot.ipxe')).status, 200)
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    child.kill(signal)
    t.is(await exited, 0)
    t.regex(err, new RegExp(`${signal}: stopped serving`))
    t.regex(err, /GET \/boot\.ipxe 200 15 B/)
    await t.throwsAsync(request(url, '/boot.ipxe'), { message: /ECONNREFUSED/ })
  })
}
