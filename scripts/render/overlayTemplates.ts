// The overlay's handlebars templates (overlays/<entry name>.hbs), compiled once per process.
// `npm run build` precompiles them into dist/overlay-templates.cjs (overlayPrecompile.ts): the handlebars
// compiler and the source-map library it generates code with cost ~140 ms of every start. Without that file
// (a checkout run through tsx) the templates are compiled at first use, with the same options.
import { existsSync } from 'node:fs'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type HandlebarsNs from 'handlebars'
// the runtime only (not the compiler), imported statically so that the CLI bundle (hostbakeBundle.ts) carries it
import runtimeModule from 'handlebars/runtime.js'
import { packagePath } from '../shared/packagePaths.js'

export type Template = HandlebarsNs.TemplateDelegate
const require = createRequire(import.meta.url)
const runtime = runtimeModule as unknown as typeof HandlebarsNs // its .d.ts declares no exports; it is Handlebars minus the compiler
export const PRECOMPILED = packagePath('dist', 'overlay-templates.cjs')

// XML is escaped (names and paths are checked, but a libosinfo URL may carry &); config files are not
export const templateOptions = (name: string) => ({ noEscape: !name.endsWith('.xml'), strict: false })

let cache: Map<string, Template> | undefined
export function overlayTemplate(name: string): Template {
  cache ??= loadAll()
  const t = cache.get(name) ?? compileOne(name)
  cache.set(name, t)
  return t
}

function loadAll(): Map<string, Template> {
  if (!existsSync(PRECOMPILED)) return new Map()
  const specs = require(PRECOMPILED) as Record<string, object>
  return new Map(Object.entries(specs).map(([n, spec]) => [n, runtime.template(spec as Parameters<typeof runtime.template>[0])]))
}

function compileOne(name: string): Template {
  const Handlebars = require('handlebars') as typeof HandlebarsNs
  return Handlebars.compile(readFileSync(packagePath('overlays', `${name}.hbs`), 'utf8'), templateOptions(name))
}
