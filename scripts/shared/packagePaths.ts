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
