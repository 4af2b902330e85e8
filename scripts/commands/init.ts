// hostbake init [DIR]: scaffold a profiles repository. Never overwrites: an existing file is an error, nothing written.
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { renderScaffold } from '../init/initScaffold.js'
import { HostbakeError } from '../shared/hostbakeError.js'
import { packagePath } from '../shared/packagePaths.js'
import { writeAtomic } from '../write/outputWrite.js'
import { log, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const dir = path.resolve(args.positionals[0] ?? '.')
  const { version } = JSON.parse(await readFile(packagePath('package.json'), 'utf8')) as { version: string }
  const files = renderScaffold(path.basename(dir), version)
  const taken = [...files.keys()].filter((f) => existsSync(path.join(dir, f)))
  if (taken.length > 0) throw new HostbakeError(`${dir} already has ${taken.join(', ')}: hostbake init writes only new files`, { hint: 'init an empty folder, or move those files away' })
  for (const [name, text] of files) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
    await writeAtomic(path.join(dir, name), Buffer.from(text))
  }
  process.stdout.write([...files.keys()].map((f) => `${path.join(args.positionals[0] ?? '.', f)}\n`).join(''))
  log(`a profiles repository in ${dir}: next, cd there and run hostbake build, then hostbake boot-test`)
  return 0
}
