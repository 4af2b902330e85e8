// Files that ship beside the code (templates, profiles, fixtures), found from the compiled module:
// dist/scripts/repoRoot.js -> the repository root.
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = path.resolve(here, path.basename(path.dirname(here)) === 'dist' ? '../..' : '..')

export function repoPath(...parts: string[]): string {
  return path.join(REPO_ROOT, ...parts)
}
