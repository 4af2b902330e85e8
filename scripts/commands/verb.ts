// What every verb shares: its arguments, logging to stderr, and where profiles come from.
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'

export interface VerbArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>
  positionals: string[]
}
export type VerbRun = (args: VerbArgs) => Promise<number>

export const log = (msg: string) => process.stderr.write(`hostbake: ${msg}\n`)

export const str = (v: VerbArgs['values'][string]): string | undefined => (typeof v === 'string' ? v : undefined)
export const flag = (v: VerbArgs['values'][string]): boolean => v === true

// Profiles named on the command line; else every *.yaml in --profiles DIR (default ./profiles, the user's own);
// --examples: hostbake's bundled examples.
export async function profileFiles(args: VerbArgs, verb: string): Promise<string[]> {
  const { listProfiles } = await import('../hostPipeline.js')
  if (flag(args.values.examples)) {
    if (args.positionals.length > 0 || str(args.values.profiles)) throw new HostbakeError(`${verb}: --examples bakes the bundled examples: give no PROFILE or --profiles with it`)
    const { packagePath } = await import('../shared/packagePaths.js')
    return (await listProfiles(packagePath('profiles'))).map((f) => path.relative(process.cwd(), f))
  }
  if (args.positionals.length > 0) {
    if (str(args.values.profiles)) throw new HostbakeError(`${verb}: name PROFILE files or --profiles DIR, not both`)
    return args.positionals
  }
  const dir = str(args.values.profiles) ?? 'profiles'
  const found = await listProfiles(dir)
  if (found.length === 0) {
    throw new HostbakeError(`no profiles in ${dir}/`, { hint: `hostbake init (a profiles repository), hostbake ${verb} PROFILE.yaml, or hostbake ${verb} --examples (the bundled examples)` })
  }
  return found.map((f) => path.relative(process.cwd(), f) || f)
}

export function writeStdout(data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(data, (err) => (err ? reject(err) : resolve())))
}
