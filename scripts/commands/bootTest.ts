// hostbake boot-test: bake each profile that has a test: section and boot its overlay in QEMU; the guest's own
// report is the verdict. --prepare fetches the kernel into the cache ahead of time.
import { existsSync } from 'node:fs'
import { HostbakeError } from '../shared/hostbakeError.js'
import { resolveCacheDir } from '../shared/cachePaths.js'
import { loadProfiles } from '../hostPipeline.js'
import { bootTestProfile, requireTestSection, selectShard, type BootTestResult } from '../boot/bootTest.js'
import { checkBootTools, locateBootKernel, prepareBootKernel, prepareUserKernel, type BootKernel } from '../boot/bootKernel.js'
import { renderJunit } from '../boot/bootJunit.js'
import { writeAtomic } from '../write/outputWrite.js'
import { flag, log, profileFiles, str, type VerbArgs } from './verb.js'
import type { LoadedProfile } from '../profile/profileLoad.js'
import { macAddress } from '../profile/profileSchema.js'

// What each of boot-test's other modes reads (--cache everywhere: where hostbake keeps what it prepares); any
// other option given with it is refused, never silently ignored (--junit with --netboot would write no report)
const MODE_OPTIONS: Record<string, string[]> = {
  'stand-in-media': ['stand-in-media', 'cache'],
  image: ['image', 'firmware', 'medium', 'timeout', 'keep', 'json', 'cache'],
  netboot: ['netboot', 'firmware', 'mac', 'timeout', 'keep', 'json', 'cache', 'profiles', 'examples', 'shard', 'source-root'],
}

function refuseOtherOptions(v: VerbArgs['values']): void {
  const mode = Object.keys(MODE_OPTIONS).find((m) => v[m] !== undefined)
  if (!mode) return
  const others = Object.keys(v).filter((o) => v[o] !== undefined && !MODE_OPTIONS[mode].includes(o))
  if (others.length > 0) throw new HostbakeError(`${others.map((o) => `--${o}`).join(', ')} cannot go with --${mode}, which reads only ${MODE_OPTIONS[mode].map((o) => `--${o}`).join(', ')}`)
}

export async function run(args: VerbArgs): Promise<number> {
  const v = args.values
  refuseOtherOptions(v)
  if (str(v['stand-in-media']) !== undefined || str(v.image) !== undefined) return (await import('./bootTestMedia.js')).run(args)
  if (str(v.medium) !== undefined) throw new HostbakeError('--medium chooses how --image boots: give --image FILE')
  const cacheDir = resolveCacheDir(str(v.cache))
  const [kernelFile, modloop] = [str(v.kernel), str(v.modloop)]
  if ((kernelFile === undefined) !== (modloop === undefined)) throw new HostbakeError('--kernel and --modloop go together: a kernel image and its modules (e.g. Alpine\'s vmlinuz-lts and modloop-lts)')
  const timeoutS = str(v.timeout) === undefined ? 60 : Number(v.timeout)
  if (!(timeoutS > 0)) throw new HostbakeError(`--timeout ${v.timeout}: expected a number of seconds`)
  const apkovls = (v.apkovl as string[] | undefined) ?? []
  if (apkovls.length > 0) {
    if (args.positionals.length !== 1) throw new HostbakeError('--apkovl boots given overlays on one profile\'s test machine: name exactly one PROFILE', { hint: 'hostbake boot-test profiles/host.yaml --apkovl host-backup.apkovl.tar.gz' })
    for (const f of apkovls) if (!existsSync(f)) throw new HostbakeError(`--apkovl ${f}: no such file`)
  }
  const prepareOnly = flag(v.prepare) && args.positionals.length === 0 && !flag(v.examples) && str(v.profiles) === undefined

  let loaded = prepareOnly ? [] : await loadProfiles(await profileFiles(args, 'boot-test'), { sourceRoot: str(v['source-root']) })
  if (!prepareOnly) {
    if (args.positionals.length > 0) requireTestSection(loaded)
    else {
      for (const l of loaded.filter((x) => x.profile.test === undefined)) log(`${l.file}: no test: section, not boot-tested`)
      loaded = loaded.filter((x) => x.profile.test !== undefined)
    }
    loaded = selectShard(loaded, str(v.shard))
    if (loaded.length === 0) throw new HostbakeError('no profile to boot-test', { hint: 'give profiles with a test: section' })
  }

  checkBootTools()
  const tree = str(v.netboot)
  if (tree !== undefined) return runNetboot(loaded, tree, v, timeoutS)
  for (const o of ['firmware', 'mac']) if (str(v[o]) !== undefined) throw new HostbakeError(`--${o} goes with --netboot TREE${o === 'firmware' ? ' (or --image FILE)' : ''}`)
  const harness = await harnessKernel(cacheDir, flag(v.prepare))
  if (prepareOnly) {
    log(`boot-test kernel ${harness.kver} ready in ${cacheDir}`)
    return 0
  }
  // after the cheap input checks: unpacking a modloop takes seconds
  const kernel = kernelFile && modloop ? await prepareUserKernel({ kernel: kernelFile, modloop }, cacheDir) : harness
  if (kernelFile) log(`kernel ${kernelFile}, modules ${kernel.kver} from ${modloop}`)

  const started = performance.now()
  const bootLog = (m: string) => log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${m}`)
  // the harness schedules boots up to the core count; all profiles are handed over at once
  const opts = { timeoutS, keep: flag(v.keep), log: bootLog, kernel }
  const results = await Promise.all(apkovls.length > 0
    ? apkovls.map((apkovl) => bootTestProfile(loaded[0], { ...opts, apkovl }))
    : loaded.map((l) => bootTestProfile(l, opts)))
  for (const r of results) reportResult(r, timeoutS)
  const bad = results.filter((r) => !r.ok).length
  if (flag(v.json)) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  const junit = str(v.junit)
  if (junit) await writeAtomic(junit, Buffer.from(renderJunit(results)))
  log(`boot-test: ${results.length - bad} passed, ${bad} failed`)
  return bad > 0 ? 1 : 0
}

// The harness's own Debian kernel: prepared on first use (or with --prepare), then only located.
async function harnessKernel(cacheDir: string, prepare: boolean): Promise<BootKernel> {
  if (!prepare) {
    try {
      return locateBootKernel(cacheDir)
    } catch (err) {
      log(`${err instanceof Error ? err.message : String(err)}: preparing it (once; hostbake boot-test --prepare does this ahead of time)`)
    }
  }
  return prepareBootKernel(cacheDir)
}

function reportResult(r: BootTestResult, timeoutS: number): void {
  log(`${r.ok ? 'PASS' : 'FAIL'} ${r.hostname} (${r.apkovl ? `${r.apkovl} on ` : ''}${r.profile}): ${r.passed} passed, ${r.failed} failed, ${r.wallS} s`)
  if (!r.ok) {
    if (r.timedOut) log(`  no report from the guest within --timeout ${timeoutS} s`)
    if (r.panicked) log('  the guest kernel panicked')
    for (const c of r.checks.filter((x) => !x.pass)) log(`  FAIL ${c.name} ${c.detail}`)
    if (r.tail) process.stderr.write(`${r.tail.replace(/^/gm, '  | ')}\n`)
  }
  if (r.workDir) log(`  work folder kept: ${r.workDir} (serial log ${r.serialLog})`)
}

// --netboot TREE: each profile's test machine network-boots the tree (iPXE ROM, slirp TFTP, HTTP from a loopback serve)
async function runNetboot(loaded: LoadedProfile[], tree: string, v: VerbArgs['values'], timeoutS: number): Promise<number> {
  const firmware = str(v.firmware) ?? 'bios'
  if (firmware !== 'bios' && firmware !== 'uefi') throw new HostbakeError(`--firmware ${firmware}: expected bios or uefi`)
  // the profile's own rule (spelling, multicast)
  const parsed = str(v.mac) === undefined ? undefined : macAddress.safeParse(str(v.mac))
  if (parsed && !parsed.success) throw new HostbakeError(`--mac ${v.mac}: ${parsed.error.issues[0].message}`)
  const mac = parsed?.data
  const { bootTestNetboot } = await import('../boot/netbootTest.js')
  // a network boot takes ~3x a direct kernel boot under TCG: iPXE, the bzImage, DHCP twice
  const bootTimeout = str(v.timeout) === undefined ? 180 : timeoutS
  let bad = 0
  const results = []
  for (const l of loaded) {
    const r = await bootTestNetboot(l, { tree, firmware, timeoutS: bootTimeout, keep: flag(v.keep), log, ...(mac ? { mac } : {}) })
    results.push(r)
    log(`${r.ok ? 'PASS' : 'FAIL'} ${r.hostname} (${r.profile}) ${r.firmware} network boot from ${r.mac}: ${r.passed} passed, ${r.failed} failed, ${r.wallS.toFixed(1)} s`)
    for (const line of r.serverLog) log(`  serve: ${line}`)
    if (!r.ok) {
      bad++
      if (r.timedOut) log(`  no report from the guest within ${bootTimeout} s`)
      for (const c of r.checks.filter((x) => !x.pass)) log(`  FAIL ${c.name} ${c.detail}`)
      if (r.tail) process.stderr.write(`${r.tail.replace(/^/gm, '  | ')}\n`)
    }
    if (r.workDir) log(`  work folder kept: ${r.workDir}`)
  }
  if (flag(v.json)) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  log(`boot-test --netboot: ${results.length - bad} passed, ${bad} failed`)
  return bad > 0 ? 1 : 0
}
