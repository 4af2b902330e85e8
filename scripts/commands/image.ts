// hostbake image: a diskless host's bootable ISO/USB image, remastered from the user's Alpine ISO.
import { HostbakeError } from '../shared/hostbakeError.js'
import { resolveCacheDir } from '../shared/cachePaths.js'
import { loadProfiles } from '../hostPipeline.js'
import { flag, log, str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const v = args.values
  const base = str(v.base)
  const output = str(v.output)
  if (!base) throw new HostbakeError('image needs --base ALPINE.iso', { hint: 'hostbake image profiles/vmhost.yaml --base alpine-extended-3.22.0-x86_64.iso -o vmhost.iso' })
  if (!output || output === '-') throw new HostbakeError('image needs -o FILE.iso (an image is not written to stdout)')
  const [loaded] = await loadProfiles(args.positionals)
  const { checkTools, IMAGE_TOOLS } = await import('../image/imageTools.js')
  checkTools(IMAGE_TOOLS, 'hostbake image')
  const { buildImage } = await import('../image/imageBuild.js')
  // --probe: the test build boot-test reads a verdict from on a real Alpine ISO (scripts/image/probeOverlay.ts)
  const probe = flag(v.probe) ? await (await import('../image/probeOverlay.js')).readProbeFiles(resolveCacheDir(str(v.cache))) : undefined
  const r = await buildImage({ loaded, base, ...(str(v.sha256) ? { sha256: str(v.sha256) } : {}), output, log, ...(probe ? { probe } : {}) })
  log(`${r.output}: ${r.hostname} on Alpine ${r.base.release}, ${r.bytes} bytes, sha256 ${r.sha256}`)
  log(`  boot menus: "${r.menus.entries[0].title}" (default), "${r.menus.entries[1].title}"`)
  if (r.probe) {
    log(`  TEST BUILD (--probe): the overlay carries hostbake's probe, which reports and powers the machine off under boot-test`)
    log(`  boot it with: hostbake boot-test ${args.positionals[0]} --image ${r.output}; never write it to a host's stick`)
  } else {
    log(`  write it to a stick: dd if=${r.output} of=/dev/sdX bs=4M conv=fsync`)
  }
  if (flag(v.json)) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`)
  return 0
}
