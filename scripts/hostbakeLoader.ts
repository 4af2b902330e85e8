#!/usr/bin/env node
// The `hostbake` bin (dist/bin/hostbake.js): runs a verb from the CLI bundle (dist/bin/hostbake.cjs, hostbakeBundle.ts)
// with a V8 code cache. Node 20 has no compile cache of its own (module.enableCompileCache is Node 22): compiling the
// bundle was ~65 ms of a build of one host. One cache file per verb (each holds the code that verb ran), in the user's
// cache folder. The cache is only code, never output: V8 refuses data from another V8 or other flags, and the file
// name carries the bundle's content hash, which V8 does not check. Without a verb (--help, --version, help VERB,
// usage, an unknown verb) it runs the unbundled entry: the same source, five small modules, no bundle to read.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import vm from 'node:vm'
import { resolveCacheDir } from './shared/cachePaths.js'

// defined at build time by hostbakeBundle.ts: the bundle's sha256 prefix, and the verbs
declare const HOSTBAKE_BUNDLE_ID: string
declare const HOSTBAKE_VERBS: string[]
const STALE_MS = 30 * 24 * 3600 * 1000 // other bundles' caches (an older hostbake) and lost temp files older than this go

const prefix = `${HOSTBAKE_BUNDLE_ID}-${process.version}-${process.arch}-`

const verb = process.argv[2]
if (HOSTBAKE_VERBS.includes(verb)) runVerb(verb)
else await import(new URL('../scripts/hostbake.js', import.meta.url).href)

function runVerb(name: string): void {
  const bundle = fileURLToPath(new URL('./hostbake.cjs', import.meta.url))
  let cacheFile: string | undefined
  let cachedData: Buffer | undefined
  try {
    cacheFile = path.join(resolveCacheDir(), 'code-cache', `${prefix}${name}.bin`) // no home folder at all: no cache
    cachedData = readFileSync(cacheFile)
  } catch { /* the first run of this verb */ }
  // the CommonJS wrapper (and import.meta.url, hostbakeBundle.ts) on the bundle's first line: line numbers stay as they are
  const source = `(function (exports, require, module, __filename, __dirname, __hostbakeImportMetaUrl) { ${readFileSync(bundle, 'utf8')}\n})`
  const script = new vm.Script(source, { filename: bundle, cachedData, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER })
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) process.once('exit', () => saveCache(script, cacheFile))
  const module = { exports: {}, filename: bundle }
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle), pathToFileURL(bundle).href)
}

// What this run compiled, for the next run of the same verb. A read-only or full cache folder only costs speed.
function saveCache(s: vm.Script, cacheFile: string): void {
  const cacheDir = path.dirname(cacheFile)
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 })
    const tmp = `${cacheFile}.${process.pid}.tmp`
    writeFileSync(tmp, s.createCachedData(), { mode: 0o600 })
    renameSync(tmp, cacheFile)
    for (const f of readdirSync(cacheDir)) {
      const p = path.join(cacheDir, f)
      if ((!f.startsWith(prefix) || f.endsWith('.tmp')) && Date.now() - statSync(p).mtimeMs > STALE_MS) rmSync(p, { force: true })
    }
  } catch { /* run without a cache */ }
}
