// The user's Alpine ISO, checked before anything is written: checksum, Alpine's x86_64 layout (.alpine-release,
// boot/vmlinuz-*, boot/initramfs-*, boot/modloop-*, both El Torito boot images), and the boot files extracted.
// Read with xorriso (no mount, no root); every problem found is reported at once (exit 2).
import { $ } from 'zx'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'

export interface BaseIso {
  path: string
  sha256: string
  /** `.alpine-release`, e.g. "alpine-standard-3.22.0 250530" */
  releaseLine: string
  /** "3.22.0"; branch "3.22" */
  release: string
  branch: string
  volid: string
  /** kernel flavour the boot menus start: lts (standard/extended), virt */
  flavor: string
  /** absolute paths on the ISO */
  kernel: string
  initramfs: string
  modloop: string
  /** images Alpine lists before its initramfs (extended: intel-ucode.img, amd-ucode.img) */
  ucode: string[]
  syslinuxCfg: string
  grubCfg: string
  /** extracted copies of initramfs and modloop (in the caller's work dir) */
  files: { initramfs: string; modloop: string }
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** --sha256, else Alpine's published `<iso>.sha256` next to it ("HEX  name"), else nothing to verify. */
async function expectedSha256(iso: string, given?: string): Promise<{ hex: string; from: string } | undefined> {
  if (given !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(given)) throw new HostbakeError(`--sha256 ${given}: expected 64 hex digits`)
    return { hex: given.toLowerCase(), from: '--sha256' }
  }
  const side = `${iso}.sha256`
  if (!existsSync(side)) return undefined
  const m = /^([0-9a-fA-F]{64})\b/.exec(await fs.readFile(side, 'utf8'))
  if (!m) throw new HostbakeError(`${side}: expected "<64 hex digits>  <file name>"`)
  return { hex: m[1].toLowerCase(), from: side }
}

export async function readBaseIso(iso: string, sha256: string | undefined, workDir: string): Promise<BaseIso> {
  if (!existsSync(iso)) throw new HostbakeError(`--base ${iso}: no such file`, { hint: 'give an Alpine x86_64 ISO, e.g. alpine-extended-3.22.0-x86_64.iso' })
  const want = await expectedSha256(iso, sha256)
  const have = await sha256File(iso)
  if (want && want.hex !== have) throw new HostbakeError(`--base ${iso}: sha256 is ${have}, ${want.from} says ${want.hex}`, { hint: 'download the ISO again' })
  const report = await $({ quiet: true, nothrow: true })`xorriso -indev ${iso} -report_el_torito plain -pvd_info -find / -maxdepth 1 -type f -- -find /boot -type f`.timeout('60s')
  if (report.exitCode !== 0) throw new HostbakeError(`--base ${iso}: not an ISO 9660 image xorriso can read (${report.stderr.trim().split('\n').slice(-1)[0]})`)
  const files = [...report.stdout.matchAll(/^'(\/[^']*)'$/gm)].map((m) => m[1])
  const volid = /^Volume Id\s*:\s*(.*)$/m.exec(report.stdout)?.[1].trim() ?? ''
  const problems: string[] = []
  if (!/\bx86_64$/.test(volid)) problems.push(`volume id "${volid}" is not an Alpine x86_64 one ("alpine-<abbrev> <release> x86_64")`)
  if (!/^El Torito boot img\s*:\s*\d+\s+BIOS\b/m.test(report.stdout)) problems.push('no BIOS El Torito boot image (isolinux)')
  if (!/^El Torito boot img\s*:\s*\d+\s+UEFI\b/m.test(report.stdout)) problems.push('no UEFI El Torito boot image (boot/grub/efi.img)')
  for (const f of ['/.alpine-release', '/boot/syslinux/syslinux.cfg', '/boot/grub/grub.cfg']) if (!files.includes(f)) problems.push(`no ${f}`)
  const flavors = files.map((f) => /^\/boot\/vmlinuz-(.+)$/.exec(f)?.[1]).filter((f): f is string => !!f)
  const flavor = flavors.includes('lts') ? 'lts' : flavors[0]
  if (!flavor) problems.push('no /boot/vmlinuz-*')
  else {
    for (const f of [`/boot/initramfs-${flavor}`, `/boot/modloop-${flavor}`]) if (!files.includes(f)) problems.push(`no ${f} next to /boot/vmlinuz-${flavor}`)
  }
  if (problems.length > 0) throw new HostbakeError(`--base ${iso} is not an Alpine x86_64 ISO as hostbake expects it: ${problems.join('; ')}`)
  // --- extract what the image is built from
  await fs.mkdir(workDir, { recursive: true })
  const out = (name: string) => path.join(workDir, name)
  const pairs: [string, string][] = [['/.alpine-release', out('alpine-release')], ['/boot/syslinux/syslinux.cfg', out('syslinux.cfg')],
    ['/boot/grub/grub.cfg', out('grub.cfg')], [`/boot/initramfs-${flavor}`, out('initramfs')], [`/boot/modloop-${flavor}`, out('modloop')]]
  await $({ quiet: true })`xorriso -osirrox on -indev ${iso} ${pairs.flatMap(([from, to]) => ['-extract', from, to])}`.timeout('120s')
  const releaseLine = (await fs.readFile(out('alpine-release'), 'utf8')).split('\n')[0].trim()
  const m = /-(\d+)\.(\d+)\.(\d+)\S*\s/.exec(`${releaseLine} `)
  if (!m) throw new HostbakeError(`--base ${iso}: /.alpine-release says "${releaseLine}", expected "alpine-<profile>-<x.y.z> <date>"`)
  const syslinuxCfg = await fs.readFile(out('syslinux.cfg'), 'utf8')
  return {
    path: iso, sha256: have, releaseLine, release: `${m[1]}.${m[2]}.${m[3]}`, branch: `${m[1]}.${m[2]}`, volid, flavor,
    kernel: `/boot/vmlinuz-${flavor}`, initramfs: `/boot/initramfs-${flavor}`, modloop: `/boot/modloop-${flavor}`,
    ucode: readUcode(syslinuxCfg, flavor), syslinuxCfg, grubCfg: await fs.readFile(out('grub.cfg'), 'utf8'),
    files: { initramfs: out('initramfs'), modloop: out('modloop') },
  }
}

// BASE initrd_ucode: the extended ISO lists microcode images before the initramfs; keep them first
function readUcode(syslinuxCfg: string, flavor: string): string[] {
  for (const m of syslinuxCfg.matchAll(/^\s*INITRD\s+(\S+)/gim)) {
    const list = m[1].split(',')
    if (list.includes(`/boot/initramfs-${flavor}`)) return list.filter((f) => f !== `/boot/initramfs-${flavor}`)
  }
  return []
}

/** The menus' timeouts as Alpine generated them (syslinux in tenths, GRUB in seconds). */
export function readTimeouts(base: Pick<BaseIso, 'syslinuxCfg' | 'grubCfg'>): { syslinux?: number; grub?: number } {
  const s = /^\s*TIMEOUT\s+(\d+)/im.exec(base.syslinuxCfg)?.[1]
  const g = /^\s*set\s+timeout=(\d+)/m.exec(base.grubCfg)?.[1]
  return { ...(s ? { syslinux: Number(s) } : {}), ...(g ? { grub: Number(g) } : {}) }
}

/** syslinux's SERIAL line, if Alpine's menu has one (the virt ISO: SERIAL 0 115200). */
export const readSerial = (syslinuxCfg: string) => /^\s*SERIAL\s+.*$/im.exec(syslinuxCfg)?.[0].trim()
