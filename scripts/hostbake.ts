#!/usr/bin/env node
// hostbake: declarative per-host profiles -> Alpine apkovl overlays for VFIO passthrough hosts, proven by booting them.
// The verbs live in commands/verbTable.ts; this file parses one verb's options strictly and handles every error once.
// Logs go to stderr, data to stdout. Exit codes: 0 ok, 2 bad input, 1 a failed boot test or anything else, 130 interrupted.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { HostbakeError } from './shared/hostbakeError.js'
import { packagePath } from './shared/packagePaths.js'
import { GLOBAL_OPTIONS, VERBS, mainUsage, verbHelp } from './commands/verbTable.js'

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${JSON.parse(readFileSync(packagePath('package.json'), 'utf8')).version}\n`)
    return 0
  }
  if (name === '--help' || name === '-h') return out(mainUsage(), 0)
  if (name === undefined) return fail(mainUsage())
  if (name === 'help') {
    if (rest.length === 0) return out(mainUsage(), 0)
    if (!VERBS[rest[0]]) throw new HostbakeError(`hostbake help: unknown verb '${rest[0]}'`, { hint: 'hostbake --help lists the verbs' })
    return out(verbHelp(rest[0]), 0)
  }
  const verb = VERBS[name]
  if (!verb) throw new HostbakeError(`unknown command '${name}'`, { hint: 'hostbake --help lists the verbs' })
  const { values, positionals } = parseVerbArgs(name, rest)
  if (values.help) return out(verbHelp(name), 0)
  const [min, max] = verb.positionals
  const missing = (verb.required ?? []).filter((o) => values[o] === undefined)
  if (positionals.length < min || positionals.length > max || missing.length > 0) {
    const what = missing.length > 0 ? `needs ${missing.map((o) => (verb.options[o].short ? `-${verb.options[o].short}/--${o}` : `--${o}`)).join(' and ')}` : positionals.length < min ? 'needs more arguments' : `takes at most ${max} argument${max === 1 ? '' : 's'}`
    throw new HostbakeError(`hostbake ${name} ${what}\nusage: hostbake ${verb.usage}`, { hint: verb.example })
  }
  const { run } = await verb.load()
  return run({ values, positionals })
}

// parseArgs with this verb's options only; its errors become ours, naming the verb that owns a stray option.
function parseVerbArgs(name: string, args: string[]) {
  try {
    return parseArgs({ args, options: { ...VERBS[name].options, ...GLOBAL_OPTIONS }, strict: true, allowPositionals: true })
  } catch (err) {
    const code = (err as { code?: string }).code ?? ''
    if (!code.startsWith('ERR_PARSE_ARGS')) throw err
    const opt = /'(-{1,2}[^' ]+)/.exec((err as Error).message)?.[1] ?? ''
    const bare = opt.replace(/^-+/, '').split('=')[0]
    const owners = Object.entries(VERBS).filter(([, v]) => bare in v.options || Object.values(v.options).some((o) => o.short === bare)).map(([n]) => n)
    const message = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
      ? owners.length > 0 ? `hostbake ${name}: ${opt} is an option of ${owners.join(', ')}, not of ${name}` : `hostbake ${name}: unknown option ${opt}`
      : code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ? `hostbake ${name}: ${(err as Error).message.replace(/^Option /, 'option ')}`
        : `hostbake ${name}: ${(err as Error).message}`
    throw new HostbakeError(`${message}\nusage: hostbake ${VERBS[name].usage}`, { hint: `hostbake help ${name}` })
  }
}

function out(text: string, code: number): number {
  process.stdout.write(`${text}\n`)
  return code
}

function fail(text: string): number {
  process.stderr.write(`${text}\n`)
  return 2
}

const verbose = process.argv.includes('--verbose')
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code },
  (err: unknown) => {
    if (err instanceof HostbakeError) {
      process.stderr.write(`${err.message}\n`)
      if (err.hint) process.stderr.write(`hint: ${err.hint}\n`)
      if (verbose) process.stderr.write(`${err.stack}\n`)
      process.exitCode = err.exitCode
    } else {
      process.stderr.write(`hostbake: unexpected error: ${verbose ? (err as Error)?.stack : (err as Error)?.message ?? err}\n`)
      process.exitCode = 1
    }
  },
)
