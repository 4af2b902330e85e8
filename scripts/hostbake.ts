#!/usr/bin/env node
// hostbake: declarative per-host profiles -> Alpine apkovl overlays for VFIO passthrough hosts.
//
//   hostbake build [PROFILE...] [-o DIR] [--json]   bake overlays (default: every profile in profiles/)
//   hostbake render PROFILE -o FILE|-               one overlay, to a file or stdout
//   hostbake show PROFILE [--json]                  the resolved plan, each item with its reason
//   hostbake schema [-o FILE]                       the profile JSON Schema for editors
//   hostbake boot-test [PROFILE...] [--json] [--keep] [--timeout S] [--shard I/N] [--kernel K --modloop M]
//                                                   boot each overlay in QEMU; the guest's report is the verdict
//   hostbake snapshot --collector | --sysfs DIR [-o FILE]   the host snapshot collector, or run it on a tree
//   hostbake inspect SNAPSHOT [--json]              IOMMU groups, drivers and USB devices of a snapshot
//   hostbake check PROFILE --snapshot SNAPSHOT      does the profile fit the host? (also: build/show/render --snapshot)
//   hostbake diff --snapshot OLD NEW                what moved between two snapshots (exit 1 when anything did)
//
// Logs go to stderr, data to stdout. Exit codes: 0 ok, 2 bad input, 1 a failed boot test or anything else,
// 130 interrupted.
import { spawnSync } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import path from 'node:path'
import { HostbakeError } from './shared/hostbakeError.js'
import { applySnapshot, bakeHost, describeBaked, listProfiles, loadProfiles, renderHost } from './hostPipeline.js'
import type { LoadedProfile } from './profile/profileLoad.js'
import { sortedEntries } from './render/overlayRender.js'
import { mapLimit, writeAtomic } from './write/outputWrite.js'
import { renderJsonSchema } from './profile/profileSchema.js'
import { formatPlan } from './plan/planFormat.js'
import { packagePath } from './shared/packagePaths.js'
import { bootTestProfile, requireTestSection, selectShard } from './boot/bootTest.js'
import { loadSnapshot, parseSnapshotText } from './snapshot/snapshotLoad.js'
import { formatInspect, inspectGroups } from './snapshot/snapshotInspect.js'
import { diffSnapshots } from './snapshot/snapshotDiff.js'

const USAGE = `usage:
  hostbake build [PROFILE...] [-o DIR] [--json] [--snapshot SNAPSHOT]
  hostbake render PROFILE -o FILE|- [--snapshot SNAPSHOT]
  hostbake show PROFILE [--json] [--snapshot SNAPSHOT]
  hostbake check PROFILE --snapshot SNAPSHOT
  hostbake diff --snapshot OLD NEW
  hostbake schema [-o FILE]
  hostbake boot-test [PROFILE...] [--json] [--keep] [--timeout S] [--shard I/N] [--kernel K --modloop M]
  hostbake snapshot --collector | --sysfs DIR [-o FILE]
  hostbake inspect SNAPSHOT [--json]
options: --verbose (stack traces), --help`

const log = (msg: string) => process.stderr.write(`hostbake: ${msg}\n`)

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      shard: { type: 'string' },
      kernel: { type: 'string' },
      modloop: { type: 'string' },
      collector: { type: 'boolean', default: false },
      snapshot: { type: 'string' },
      sysfs: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const [command, ...args] = positionals
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return command === undefined && !values.help ? 2 : 0
  }
  switch (command) {
    case 'build': return cmdBuild(args, values.output ?? 'apkovl', values.json, values.snapshot)
    case 'render': return cmdRender(args, values.output, values.snapshot)
    case 'show': return cmdShow(args, values.json, values.snapshot)
    case 'check': return cmdCheck(args, values.snapshot)
    case 'diff': return cmdDiff(args, values.snapshot)
    case 'schema': return cmdSchema(values.output)
    case 'boot-test': return cmdBootTest(args, values)
    case 'snapshot': return cmdSnapshot(values)
    case 'inspect': return cmdInspect(args, values.json)
    default: throw new HostbakeError(`unknown command '${command}'`, { hint: USAGE })
  }
}

// Profiles, checked against a host snapshot when one is given (a snapshot describes one host).
async function loadChecked(files: string[], snapshot: string | undefined): Promise<LoadedProfile[]> {
  const loaded = await loadProfiles(files)
  if (snapshot === undefined) return loaded
  if (loaded.length !== 1) throw new HostbakeError('--snapshot describes one host: give one PROFILE with it')
  return [applySnapshot(loaded[0], await loadSnapshot(snapshot), snapshot)]
}

async function cmdDiff(args: string[], old: string | undefined): Promise<number> {
  if (args.length !== 1 || old === undefined) throw new HostbakeError('diff takes --snapshot OLD and NEW')
  const lines = diffSnapshots(await loadSnapshot(old), await loadSnapshot(args[0]))
  process.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : '')
  log(lines.length > 0 ? `${lines.length} change${lines.length === 1 ? '' : 's'} from ${old} to ${args[0]}` : `no change from ${old} to ${args[0]}`)
  return lines.length > 0 ? 1 : 0 // as diff(1)
}

async function cmdCheck(args: string[], snapshot: string | undefined): Promise<number> {
  if (args.length !== 1 || snapshot === undefined) throw new HostbakeError('check takes one PROFILE and --snapshot SNAPSHOT')
  const [loaded] = await loadChecked(args, snapshot)
  const { plan } = renderHost(loaded)
  const fns = [...plan.vfioIds.map((i) => i.value), ...plan.vfioAddresses.map((a) => a.address)]
  process.stdout.write(`${loaded.file}: fits ${snapshot} (vfio-pci gets ${fns.join(', ') || 'nothing'})\n`)
  return 0
}

async function cmdBuild(args: string[], outDir: string, json: boolean, snapshot?: string): Promise<number> {
  const loaded = await loadChecked(args.length > 0 ? args : await bundledProfiles(), snapshot)
  // Bake everything in memory first: a bad profile stops the run before any file is written.
  const baked = await Promise.all(loaded.map((l) => bakeHost(l)))
  await mkdir(outDir, { recursive: true })
  const written = await mapLimit(baked, 16, async (host) => {
    const out = path.join(outDir, `${host.hostname}.apkovl.tar.gz`)
    await writeAtomic(out, host.apkovl)
    return describeBaked(host, out)
  })
  if (!json) process.stdout.write(written.map((w) => `${w.path}\n`).join(''))
  if (json) process.stdout.write(`${JSON.stringify(written, null, 2)}\n`)
  log(`baked ${written.length} host${written.length === 1 ? '' : 's'} into ${outDir}/`)
  return 0
}

async function cmdRender(args: string[], output: string | undefined, snapshot?: string): Promise<number> {
  if (args.length !== 1 || output === undefined) throw new HostbakeError('render takes one PROFILE and -o FILE (or -o - for stdout)')
  const [loaded] = await loadChecked(args, snapshot)
  const host = await bakeHost(loaded)
  if (output === '-') await writeStdout(host.apkovl)
  else await writeAtomic(output, host.apkovl)
  return 0
}

async function cmdShow(args: string[], json: boolean, snapshot?: string): Promise<number> {
  if (args.length !== 1) throw new HostbakeError('show takes one PROFILE')
  const [loaded] = await loadChecked(args, snapshot)
  const { plan, files } = renderHost(loaded)
  process.stdout.write(json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan, sortedEntries(files).map((e) => e.name)))
  return 0
}

async function cmdSchema(output: string | undefined): Promise<number> {
  const text = renderJsonSchema()
  if (output === undefined || output === '-') process.stdout.write(text)
  else await writeAtomic(output, Buffer.from(text))
  return 0
}

async function cmdBootTest(args: string[], o: { json: boolean; keep: boolean; timeout?: string; shard?: string; kernel?: string; modloop?: string }): Promise<number> {
  if ((o.kernel === undefined) !== (o.modloop === undefined)) throw new HostbakeError('--kernel and --modloop go together: a kernel image and its modules (e.g. Alpine\'s vmlinuz-lts and modloop-lts)')
  const timeoutS = o.timeout === undefined ? 60 : Number(o.timeout)
  if (!(timeoutS > 0)) throw new HostbakeError(`--timeout ${o.timeout}: expected a number of seconds`)
  let loaded = await loadProfiles(args.length > 0 ? args : await bundledProfiles())
  if (args.length > 0) requireTestSection(loaded)
  else {
    for (const l of loaded.filter((x) => x.profile.test === undefined)) log(`${l.file}: no test: section, not boot-tested`)
    loaded = loaded.filter((x) => x.profile.test !== undefined)
  }
  loaded = selectShard(loaded, o.shard)
  if (loaded.length === 0) throw new HostbakeError('no profile to boot-test', { hint: 'give profiles with a test: section' })
  // after the cheap input checks: unpacking a modloop takes seconds
  const kernel = o.kernel && o.modloop
    ? await (await import('./boot/bootKernel.js')).prepareUserKernel({ kernel: o.kernel, modloop: o.modloop })
    : undefined
  if (kernel) log(`kernel ${o.kernel}, modules ${kernel.kver} from ${o.modloop}`)
  const started = performance.now()
  const bootLog = (m: string) => log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${m}`)
  // the harness schedules boots up to the core count; all profiles are handed over at once
  const results = await Promise.all(loaded.map((l) => bootTestProfile(l, { timeoutS, keep: o.keep, log: bootLog, ...(kernel ? { kernel } : {}) })))
  for (const r of results) {
    log(`${r.ok ? 'PASS' : 'FAIL'} ${r.hostname} (${r.profile}): ${r.passed} passed, ${r.failed} failed, ${r.wallS} s`)
    if (!r.ok) {
      if (r.timedOut) log(`  no report from the guest within --timeout ${timeoutS} s`)
      if (r.panicked) log('  the guest kernel panicked')
      for (const c of r.checks.filter((x) => !x.pass)) log(`  FAIL ${c.name} ${c.detail}`)
      if (r.tail) process.stderr.write(`${r.tail.replace(/^/gm, '  | ')}\n`)
    }
    if (r.workDir) log(`  work folder kept: ${r.workDir} (serial log ${r.serialLog})`)
  }
  const bad = results.filter((r) => !r.ok).length
  if (o.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  log(`boot-test: ${results.length - bad} passed, ${bad} failed`)
  return bad > 0 ? 1 : 0
}

async function cmdSnapshot(o: { collector: boolean; sysfs?: string; output?: string }): Promise<number> {
  const script = await readFile(packagePath('scripts', 'snapshot', 'snapshotCollector.sh'), 'utf8')
  if (o.collector) {
    process.stdout.write(script)
    return 0
  }
  if (o.sysfs === undefined) throw new HostbakeError('snapshot needs --collector (print the collector) or --sysfs DIR (collect from a tree; / for this host)')
  const r = spawnSync('sh', ['-s'], { input: script, env: { ...process.env, HOSTBAKE_ROOT: o.sysfs === '/' ? '' : path.resolve(o.sysfs) }, encoding: 'utf8', maxBuffer: 1 << 26 })
  if (r.status !== 0) throw new HostbakeError(`the collector failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`, { exitCode: 1 })
  parseSnapshotText(r.stdout, `snapshot of ${o.sysfs}`) // what we write must read back
  if (o.output === undefined || o.output === '-') process.stdout.write(r.stdout)
  else await writeAtomic(o.output, Buffer.from(r.stdout))
  return 0
}

async function cmdInspect(args: string[], json: boolean): Promise<number> {
  if (args.length !== 1) throw new HostbakeError('inspect takes one SNAPSHOT')
  const snap = await loadSnapshot(args[0])
  process.stdout.write(json ? `${JSON.stringify(inspectGroups(snap), null, 2)}\n` : formatInspect(snap))
  return 0
}

// No PROFILE given: every profile in the bundled profiles/ folder, named relative to where we run.
async function bundledProfiles(): Promise<string[]> {
  return (await listProfiles(packagePath('profiles'))).map((f) => path.relative(process.cwd(), f))
}

function writeStdout(data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(data, (err) => (err ? reject(err) : resolve())))
}

const verbose = process.argv.includes('--verbose')
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code },
  (err: unknown) => {
    if (err instanceof HostbakeError) {
      process.stderr.write(`${err.message}\n`)
      if (err.hint) process.stderr.write(`hint: ${err.hint}\n`)
      if (verbose) process.stderr.write(`${err.stack}\n`)
      process.exitCode = err.exitCode
    } else if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${err.message}\n${USAGE}\n`)
      process.exitCode = 2
    } else {
      process.stderr.write(`hostbake: unexpected error: ${verbose ? (err as Error)?.stack : (err as Error)?.message ?? err}\n`)
      process.exitCode = 1
    }
  },
)
