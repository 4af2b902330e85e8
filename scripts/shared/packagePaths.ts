// Files that ship beside the code (templates, harness assets, bundled examples), found from the compiled module:
// dist/scripts/shared/packagePaths.js (or scripts/shared/ under tsx) -> the package root, wherever npm put it.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'overlays'))) return dir
    if (path.dirname(dir) === dir) throw new Error(`hostbake: no package root above ${from}`)
  }
}

export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)))

export function packagePath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, ...parts)
}

// The file whose bytes are a module's code, for cache keys: the module's own file (tsc's output, or the .ts under tsx),
// or, when it runs inside the bin's bundle (hostbakeBundle.ts), the tsc output the bundle was made from: the bin and
// the modules imported directly (tests) then share what they cache.
export function codeFileOf(moduleUrl: string, tscOutput: string): string {
  const file = fileURLToPath(moduleUrl)
  return path.basename(file).replace(/\.[cm]?[jt]s$/, '') === path.basename(tscOutput, '.js') ? file : packagePath(tscOutput)
}
