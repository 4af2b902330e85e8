// Remaster an ISO with xorriso, without root, loop or nbd: load the base, map new files over it, and replay the
// base's own El Torito and hybrid-MBR/GPT setup (`-boot_image any replay`; delivery-facts.md §2, §7c), so both boot
// paths, the volume id (GRUB's early config searches it) and the volume dates stay Alpine's.
// Reproducible: every added file carries the same fixed mtime, all file dates follow their mtimes, and xorriso's
// "now" is pinned, so two remasters of one base are byte-identical on any day.
import { $ } from 'zx'
import fs from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'

export interface IsoFile {
  /** absolute path on the ISO */
  isoPath: string
  data: Buffer
}

export async function remasterIso(base: string, output: string, files: IsoFile[], epochS: number, workDir: string): Promise<void> {
  const stage = path.join(workDir, 'map')
  await fs.mkdir(stage, { recursive: true })
  const maps: string[] = []
  const when = new Date(epochS * 1000)
  for (const [i, f] of files.entries()) {
    const local = path.join(stage, `${i}-${path.basename(f.isoPath)}`)
    await fs.writeFile(local, f.data, { mode: 0o644 })
    await fs.chmod(local, 0o644) // the umask must not reach the image
    await fs.utimes(local, when, when)
    maps.push('-map', local, f.isoPath)
  }
  await fs.mkdir(path.dirname(path.resolve(output)), { recursive: true })
  const tmp = path.join(path.dirname(path.resolve(output)), `.${path.basename(output)}.${process.pid}.tmp`)
  await fs.rm(tmp, { force: true })
  const env = { ...process.env, SOURCE_DATE_EPOCH: String(epochS) }
  try {
    const r = await $({ quiet: true, nothrow: true, env })`xorriso -abort_on FAILURE -indev ${base} -outdev ${`stdio:${tmp}`} -boot_image any replay -iso_nowtime ${`=${epochS}`} -volume_date all_file_dates set_to_mtime ${maps} -commit`.timeout('120s')
    if (r.exitCode !== 0) {
      throw new HostbakeError(`xorriso could not remaster ${base} (exit ${r.exitCode}): ${r.stderr.trim().split('\n').filter((l) => /FAILURE|SORRY|FATAL/.test(l)).slice(-3).join(' ')}`)
    }
    await fs.rename(tmp, output)
  } finally {
    await fs.rm(tmp, { force: true })
  }
}
