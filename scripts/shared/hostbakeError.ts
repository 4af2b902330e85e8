// One error class for expected failures: bad input, a failed preflight, a failed tool.
// The CLI prints `message` (one line per problem) and `hint`, and exits with `exitCode`.
import { escapeControl } from './safeText.js'

export class HostbakeError extends Error {
  readonly hint?: string
  readonly exitCode: number

  constructor(message: string, opts: { hint?: string; exitCode?: number } = {}) {
    super(message)
    this.name = 'HostbakeError'
    this.hint = opts.hint
    this.exitCode = opts.exitCode ?? 2
  }
}

// A problem located in a profile: `file:line:col field: message`.
export interface ProfileProblem {
  file: string
  line?: number
  col?: number
  field: string
  fieldPath?: (string | number)[] // set when the file position is not known yet
  message: string
}

export function formatProblem(p: ProfileProblem): string {
  const where = escapeControl(p.line !== undefined ? `${p.file}:${p.line}:${p.col ?? 1}` : p.file)
  // messages quote snapshot strings and profile values: one problem is one line, whatever they hold
  return p.field ? `${where} ${escapeControl(p.field)}: ${escapeControl(p.message)}` : `${where} ${escapeControl(p.message)}`
}

export class ProfileError extends HostbakeError {
  readonly problems: ProfileProblem[]

  constructor(problems: ProfileProblem[]) {
    super(problems.map(formatProblem).join('\n'))
    this.name = 'ProfileError'
    this.problems = problems
  }
}

// Field paths as a person writes them: passthrough.devices[1].address
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out ? `.${String(part)}` : String(part)
  }
  return out
}
