// The kernel command line a GRUB host boots with, formed as GRUB's 10_linux forms it from /etc/default/grub
// (grub-mkconfig sources the file): `root=<device> ro ${GRUB_CMDLINE_LINUX} ${GRUB_CMDLINE_LINUX_DEFAULT}`.
// The device is grub-probe's answer on the real host: left empty here, like update-extlinux's blkid case.
// test/render/applyOverlay.test.ts compares this with the linux line Debian's grub-mkconfig writes.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { $ } from 'zx'

export async function readGrubAppend(overlayDir: string): Promise<string | undefined> {
  const conf = path.join(overlayDir, 'etc/default/grub')
  if (!existsSync(conf)) return undefined
  const script = '. "$1"; printf "root= ro %s %s" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"'
  const out = await $({ quiet: true })`sh -c ${script} sh ${conf}`.timeout('5s')
  return out.stdout.replace(/\s+/g, ' ').trim()
}
