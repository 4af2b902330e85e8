// A preflight before anything is read or written (as boot-test's): each program or file the image path uses,
// with the Debian package that provides it.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'

// hostbake image: read and remaster the ISO, read its modloop
export const IMAGE_TOOLS: Record<string, string> = { xorriso: 'xorriso', unsquashfs: 'squashfs-tools' }
// the stand-in Alpine media and image boots (boot-test --stand-in-media, --image)
export const MEDIA_TOOLS: Record<string, string> = {
  ...IMAGE_TOOLS, xorrisofs: 'xorriso', mksquashfs: 'squashfs-tools', 'grub-mkimage': 'grub-common', mformat: 'mtools', mcopy: 'mtools',
  '/usr/lib/ISOLINUX/isolinux.bin': 'isolinux', '/usr/lib/syslinux/modules/bios/ldlinux.c32': 'syslinux-common',
  '/usr/lib/grub/x86_64-efi/linux.mod': 'grub-efi-amd64-bin', '/usr/share/OVMF/OVMF_CODE.fd': 'ovmf',
}

export function checkTools(table: Record<string, string>, what: string): void {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean)
  const missing = Object.entries(table).filter(([t]) => (t.startsWith('/') ? !existsSync(t) : !dirs.some((d) => existsSync(path.join(d, t)))))
  if (missing.length > 0) {
    throw new HostbakeError(`${what} needs ${missing.map(([t]) => t).join(', ')}, not found`, {
      hint: `apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')} (Debian/Ubuntu)`, exitCode: 1,
    })
  }
}
