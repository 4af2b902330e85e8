// Build step (npm run build, after tsc and the template precompile): the `hostbake` bin as an esbuild bundle in
// dist/bin/. Node 20 loads ES modules file by file (resolve, stat, read, compile, link: ~280 files for one build,
// zod ~130 of them with its 50 locales, yaml ~70) and has no compile cache for them (module.enableCompileCache
// is Node 22): that was ~200 ms of the ~360 ms `hostbake build` of one host took. The bundle is the tsc output
// itself (dist/scripts/hostbake.js and what it imports), its dependencies inlined and tree-shaken, split at every
// dynamic import so a verb loads only its own chunks. zx stays external: only verbs that spawn processes load it.
import { build, type BuildOptions } from 'esbuild'
import { chmodSync } from 'node:fs'
import { packagePath } from './shared/packagePaths.js'

// inlined CommonJS dependencies call require() for Node's built-ins: give the ES module chunks a real one
const REQUIRE_SHIM = "import { createRequire as __hostbakeCreateRequire } from 'node:module'; const require = __hostbakeCreateRequire(import.meta.url);"

const BUNDLE_OPTIONS: BuildOptions = {
  entryPoints: { hostbake: packagePath('dist', 'scripts', 'hostbake.js') },
  outdir: packagePath('dist', 'bin'),
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['zx'],
  banner: { js: REQUIRE_SHIM },
  sourcemap: 'linked', // through tsc's maps to scripts/*.ts, for `node --enable-source-maps`; costs nothing unless asked for
  logLevel: 'warning',
}

const result = await build(BUNDLE_OPTIONS)
if (result.errors.length + result.warnings.length > 0) process.exit(1)
chmodSync(packagePath('dist', 'bin', 'hostbake.js'), 0o755)
