// Build step (npm run build, after tsc and the template precompile): the `hostbake` bin in dist/bin/.
// - hostbake.cjs: the tsc output (dist/scripts/hostbake.js and all it imports) as one esbuild bundle, its dependencies
//   inlined and tree-shaken. Node 20 loads ES modules file by file (resolve, stat, read, compile, link: ~280 files for
//   one build, zod ~130 of them with its 50 locales, yaml ~70): ~200 ms of the ~360 ms a build of one host took.
//   CommonJS because only a classic script can be given a V8 code cache on Node 20 (vm.Script cachedData).
//   Each verb's modules still run only when that verb runs (esbuild keeps dynamic imports lazy). zx stays external:
//   only verbs that spawn processes load it.
// - hostbake.js: the loader (hostbakeLoader.ts) that runs hostbake.cjs through the code cache, told the bundle's hash
//   and the verb names.
import { build, type BuildOptions } from 'esbuild'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { VERBS } from './commands/verbTable.js'
import { packagePath } from './shared/packagePaths.js'

const BUNDLE = packagePath('dist', 'bin', 'hostbake.cjs')
const LOADER = packagePath('dist', 'bin', 'hostbake.js')

const common: BuildOptions = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', write: false }

async function bundleCli(): Promise<string> {
  const r = await build({
    ...common,
    entryPoints: [packagePath('dist', 'scripts', 'hostbake.js')],
    outfile: BUNDLE,
    format: 'cjs',
    external: ['zx'],
    // the modules find their package root (and the boot harness hashes its own code) through import.meta.url:
    // the loader passes the bundle's URL in (a banner would come before "use strict" and end strict mode)
    define: { 'import.meta.url': '__hostbakeImportMetaUrl' },
    // through tsc's maps to scripts/*.ts: to read a reported stack trace (Node applies no source map to vm-run code;
    // `node --enable-source-maps dist/scripts/hostbake.js` gives mapped traces live)
    sourcemap: 'linked',
  })
  failOnWarnings(r)
  let text = ''
  for (const f of r.outputFiles!) {
    // the loader wraps the bundle in a function: no #! line there (kept as an empty line, for the source map)
    const out = f.path === BUNDLE ? (text = f.text.replace(/^#!.*/, '')) : f.text
    writeOut(f.path, out)
  }
  return createHash('sha256').update(text).digest('hex').slice(0, 16)
}

async function bundleLoader(bundleId: string): Promise<void> {
  const r = await build({
    ...common,
    entryPoints: [packagePath('dist', 'scripts', 'hostbakeLoader.js')],
    outfile: LOADER,
    format: 'esm',
    define: { HOSTBAKE_BUNDLE_ID: JSON.stringify(bundleId), HOSTBAKE_VERBS: JSON.stringify(Object.keys(VERBS)) },
  })
  failOnWarnings(r)
  for (const f of r.outputFiles!) writeOut(f.path, f.text)
  chmodSync(LOADER, 0o755)
}

function failOnWarnings(r: { errors: unknown[]; warnings: unknown[] }): void {
  if (r.errors.length + r.warnings.length > 0) throw new Error('hostbakeBundle: esbuild reported problems (above)')
}

function writeOut(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, text)
}

await bundleLoader(await bundleCli())
