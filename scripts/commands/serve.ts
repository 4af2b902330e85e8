// hostbake serve: a netboot tree over HTTP until SIGINT/SIGTERM. Loopback unless --listen names another address.
import { existsSync, statSync } from 'node:fs'
import { HostbakeError } from '../shared/hostbakeError.js'
import { log, str, type VerbArgs } from './verb.js'

export const DEFAULT_LISTEN = '127.0.0.1:8080'

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(value)
  const port = m ? Number(m[2]) : NaN
  if (!m || port > 65535) throw new HostbakeError(`--listen ${value}: expected ADDRESS:PORT, like 127.0.0.1:8080 (port 0: any free port)`)
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port }
}

export const isLoopback = (host: string) => /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === 'localhost'

export async function run(args: VerbArgs): Promise<number> {
  const [tree] = args.positionals
  if (!existsSync(tree) || !statSync(tree).isDirectory()) throw new HostbakeError(`${tree}: no such folder`, { hint: 'hostbake pxe PROFILE... --alpine NETBOOT -o TREE writes one' })
  const listen = parseListen(str(args.values.listen) ?? DEFAULT_LISTEN)
  const { startNetbootServer } = await import('../netboot/serve.js')
  const { readManifest } = await import('../netboot/netbootTree.js')
  if (!(await readManifest(tree))) log(`${tree} has no manifest.json: serving it, but requests cannot be named by host`)
  const server = await startNetbootServer({ root: tree, listen }).catch((err: NodeJS.ErrnoException) => {
    throw new HostbakeError(`cannot listen on ${listen.host}:${listen.port}: ${err.code ?? err.message}`, { exitCode: 1 })
  })
  // listening beyond this machine is what --listen asked for; say what that exposes
  if (!isLoopback(listen.host)) log(`listening on ${listen.host}: any machine that reaches it can fetch every overlay in ${tree}`)
  log(`serving ${tree} at ${server.url}/ (Ctrl-C stops)`)
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  await server.close()
  log(`${signal}: stopped serving ${tree}`)
  return 0
}
