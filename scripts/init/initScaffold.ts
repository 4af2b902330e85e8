// hostbake init: the files of a new profiles repository, rendered purely (path -> text). One example profile that
// boot-tests as it is, the editor schema, and CI for GitHub Actions and GitLab that boot-tests every profile.
import { readFileSync } from 'node:fs'
import Handlebars from 'handlebars'
import { renderJsonSchema } from '../profile/profileSchema.js'
import { packagePath } from '../shared/packagePaths.js'

// template -> where it lands in the new repository
const SCAFFOLD: Record<string, string> = {
  'vmhost.yaml.hbs': 'profiles/vmhost.yaml',
  'gitignore.hbs': '.gitignore',
  'README.md.hbs': 'README.md',
  'github-workflow.yml.hbs': '.github/workflows/hostbake.yml',
  'gitlab-ci.yml.hbs': '.gitlab-ci.yml',
}

export const SCAFFOLD_SHARDS = 2

/** The Debian packages boot-test needs on a fresh Debian machine (boot-tools.json, plus the probe's static libc). */
export function bootDebianPackages(): string[] {
  const table = JSON.parse(readFileSync(packagePath('scripts', 'boot', 'boot-tools.json'), 'utf8')) as Record<string, string>
  const base = new Set(['dpkg', 'apt']) // every Debian has them
  return [...new Set([...Object.entries(table).filter(([b, p]) => !b.startsWith('_') && !base.has(p)).map(([, p]) => p), 'libc6-dev'])].sort()
}

export function renderScaffold(name: string, version: string): Map<string, string> {
  const data = {
    name, version, alpineRelease: '3.22',
    shardCount: SCAFFOLD_SHARDS, shards: Array.from({ length: SCAFFOLD_SHARDS }, (_, i) => i + 1),
    debianPackages: bootDebianPackages().join(' '),
  }
  const files = new Map<string, string>()
  for (const [tpl, dest] of Object.entries(SCAFFOLD)) {
    const text = readFileSync(packagePath('scripts', 'init', 'templates', tpl), 'utf8')
    files.set(dest, Handlebars.compile(text, { noEscape: true, strict: true })(data))
  }
  files.set('hostbake.schema.json', renderJsonSchema())
  return files
}
