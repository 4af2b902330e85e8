// boot-test's medium modes: --stand-in-media DIR writes the stand-in Alpine media the harness boots;
// --image FILE boots a bootable image through real firmware ([--firmware bios|uefi] [--medium cdrom|usb]).
import { HostbakeError } from '../shared/hostbakeError.js'
import { resolveCacheDir } from '../shared/cachePaths.js'
import { loadProfiles } from '../hostPipeline.js'
import { requireTestSection } from '../boot/bootTest.js'
import { FIRMWARES, MEDIA, type Firmware, type Medium } from '../boot/imageBoot.js'
import { flag, log, str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const v = args.values
  const dir = str(v['stand-in-media'])
  const image = str(v.image)
  if (dir !== undefined && image !== undefined) throw new HostbakeError('--stand-in-media and --image are two different runs: give one')
  const { checkTools, MEDIA_TOOLS } = await import('../image/imageTools.js')
  checkTools(MEDIA_TOOLS, `boot-test ${dir !== undefined ? '--stand-in-media' : '--image'}`)
  if (dir !== undefined) {
    if (args.positionals.length > 0) throw new HostbakeError('--stand-in-media DIR writes media and boots nothing: give no PROFILE')
    const { writeStandInMedia } = await import('../boot/standInMedia.js')
    const m = await writeStandInMedia(dir, resolveCacheDir(str(v.cache)))
    log(`stand-in Alpine ${m.release} media (Debian kernel ${m.kver}; not Alpine's files): ${m.iso}, ${m.netboot.vmlinuz}, ${m.netboot.initramfs}, ${m.netboot.modloop}`)
    return 0
  }
  const firmware = (str(v.firmware) ?? 'bios') as Firmware
  const medium = (str(v.medium) ?? 'cdrom') as Medium
  if (!FIRMWARES.includes(firmware)) throw new HostbakeError(`--firmware ${firmware}: expected ${FIRMWARES.join(' or ')}`)
  if (!MEDIA.includes(medium)) throw new HostbakeError(`--medium ${medium}: expected ${MEDIA.join(' or ')}`)
  if (args.positionals.length !== 1) throw new HostbakeError('--image boots one image: give exactly one PROFILE (its test: section is the machine and the expectations)')
  const timeoutS = str(v.timeout) === undefined ? 180 : Number(v.timeout)
  if (!(timeoutS > 0)) throw new HostbakeError(`--timeout ${v.timeout}: expected a number of seconds`)
  const loaded = await loadProfiles(args.positionals)
  requireTestSection(loaded)
  const { bootTestImage } = await import('../boot/imageBootTest.js')
  const r = await bootTestImage(loaded[0], { image: image!, firmware, medium, timeoutS, keep: flag(v.keep), log })
  log(`${r.ok ? 'PASS' : 'FAIL'} ${r.hostname} (${image}, ${firmware} ${medium}, entry "${r.entry}"): ${r.passed} passed, ${r.failed} failed, ${r.wallS} s`)
  for (const c of r.checks.filter((x) => !x.pass)) log(`  FAIL ${c.name} ${c.detail}`)
  if (!r.ok && r.checks.length === 0) log(`  ${explainNoReport(r.probe, args.positionals[0])}`)
  if (!r.ok && r.tail) process.stderr.write(`${r.tail.replace(/^/gm, '  | ')}\n`)
  if (r.workDir) log(`  work folder kept: ${r.workDir}`)
  if (flag(v.json)) process.stdout.write(`${JSON.stringify([r], null, 2)}\n`)
  return r.ok ? 0 : 1
}

/** Why a boot of an image ended without a report: the stand-in init reports by itself; under Alpine's own init only
 * the probe of a test build (`hostbake image --probe`) does. */
export function explainNoReport(probe: boolean, profile: string): string {
  return probe
    ? 'no report from the guest: the image carries hostbake\'s probe, but it printed nothing (see the serial log: did OpenRC reach the default runlevel? is qemu_fw_cfg in the kernel?)'
    : 'no report from the guest: this image carries no hostbake probe. An image made from a real Alpine ISO boots Alpine\'s own init, ' +
      `which prints no report: build a test image with \`hostbake image ${profile} --base ALPINE.iso --probe -o test.iso\` and boot that`
}
