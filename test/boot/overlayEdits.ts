// Hand-edited overlays for `boot-test PROFILE --apkovl FILE`: the profile's own baked overlay, unpacked, changed
// the way a person (or an editor) would change it, and packed again. Each edit is one mistake class of issue 11.
import { $ } from 'zx'
import fs from 'node:fs/promises'
import path from 'node:path'
import { bakeHost, loadProfile } from '../../scripts/hostPipeline.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'

export type OverlayEdit = (root: string) => Promise<void>

export interface EditedOverlay {
  name: string
  /** the checks that must FAIL; [] for a positive control (the overlay must pass: no false alarm) */
  mustFail: string[]
  /** a pattern the failing check's detail must show (the real cause, in words) */
  detail?: RegExp
  edit: OverlayEdit
}

async function rewrite(file: string, change: (text: string) => string): Promise<void> {
  const before = await fs.readFile(file, 'utf8')
  const after = change(before)
  if (after === before) throw new Error(`edit changed nothing in ${file}`)
  await fs.writeFile(file, after)
}

export const editText = (rel: string, change: (text: string) => string): OverlayEdit => (root) => rewrite(path.join(root, rel), change)

/** every runlevel link made relative (../../init.d/<svc>), as `ln -s ../../init.d/x` or some tools write them */
export const relativeRunlevelLinks: OverlayEdit = async (root) => {
  const levels = path.join(root, 'etc/runlevels')
  let n = 0
  for (const level of await fs.readdir(levels)) {
    for (const svc of await fs.readdir(path.join(levels, level))) {
      const link = path.join(levels, level, svc)
      await fs.rm(link)
      await fs.symlink(`../../init.d/${svc}`, link)
      n++
    }
  }
  if (n === 0) throw new Error('no runlevel links to rewrite')
}

/** the modules= line of update-extlinux.conf without these modules */
export const dropFromModules = (...names: string[]): OverlayEdit => editText('etc/update-extlinux.conf',
  (t) => t.replace(/^modules=(.*)$/m, (_l, list: string) => `modules=${list.split(',').filter((m) => !names.includes(m)).join(',')}`))

/** Bakes PROFILE and writes one edited overlay per edit into dir; returns their paths in order. */
export async function writeEditedOverlays(profile: string, edits: EditedOverlay[], dir: string): Promise<string[]> {
  const host = await bakeHost(await loadProfile(packagePath(profile)))
  const out: string[] = []
  for (const e of edits) {
    const root = path.join(dir, `${e.name}.src`)
    await fs.mkdir(root, { recursive: true })
    await fs.writeFile(path.join(dir, 'base.tar.gz'), host.apkovl)
    await $({ quiet: true })`tar -xzf ${path.join(dir, 'base.tar.gz')} -C ${root}`
    await e.edit(root)
    const file = path.join(dir, `${e.name}.apkovl.tar.gz`)
    const top = (await fs.readdir(root)).sort()
    await $({ quiet: true })`tar -czf ${file} -C ${root} --sort=name --owner=0 --group=0 ${top}`
    await fs.rm(root, { recursive: true, force: true })
    out.push(file)
  }
  return out
}
