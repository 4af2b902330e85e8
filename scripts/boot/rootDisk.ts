// A sys install's root disk: an ext4 filesystem holding the overlay as the installed system has it, found by the
// root= the overlay's update-extlinux.conf names. Built with mke2fs -d (e2fsprogs): no loop mount, no root needed.
import { $ } from 'zx'
import { createHash } from 'node:crypto'

export interface RootDiskPlan {
  /** the command line the guest boots with (root= as update-extlinux would have written it for this disk) */
  cmdline: string
  uuid: string
  label?: string
  /** why root= was rewritten, when it was */
  note?: string
}

/** A UUID derived from the overlay's name: the same disk every run. */
export function deriveUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/**
 * root=UUID=... and root=LABEL=... become the disk's own UUID and label; root=/dev/vda (the disk as the test machine
 * attaches it) is kept. An empty root= is what update-extlinux fills in from blkid at install time: root=UUID=<disk>
 * and the filesystem type appended to modules=. Other device names (/dev/sda3, /dev/nvme0n1p2, PARTUUID=) cannot be
 * reproduced on the test machine's single virtio disk: they are replaced by the disk's UUID, and the note says so.
 */
export function planRootDisk(cmdline: string, seed: string): RootDiskPlan {
  const m = /(^|\s)root=(\S*)/.exec(cmdline)
  const root = m ? m[2] : ''
  const uuid = deriveUuid(seed)
  const setRoot = (value: string) => (m ? cmdline.replace(/(^|\s)root=\S*/, `$1root=${value}`) : `root=${value} ${cmdline}`)
  const uuidMatch = /^UUID=([0-9a-fA-F-]{36})$/.exec(root)
  if (uuidMatch) return { cmdline, uuid: uuidMatch[1].toLowerCase() }
  const label = /^LABEL=(\S{1,16})$/.exec(root)
  if (label) return { cmdline, uuid, label: label[1] }
  if (root === '/dev/vda') return { cmdline, uuid }
  if (root === '') {
    const withType = setRoot(`UUID=${uuid}`).replace(/(^|\s)modules=(\S*)/, (_all, pre: string, mods: string) => `${pre}modules=${mods ? `${mods},` : ''}ext4`)
    return { cmdline: withType, uuid, note: 'root= empty: filled in from the disk, as update-extlinux does (root=UUID=, modules=...,ext4)' }
  }
  return { cmdline: setRoot(`UUID=${uuid}`), uuid, note: `root=${root} cannot be named on the test machine's one virtio disk: booted as root=UUID=${uuid}` }
}

/** mke2fs -d copies the unpacked overlay (owners and modes as unpacked) into a fresh ext4 image. */
export async function buildRootDisk(overlayDir: string, image: string, plan: RootDiskPlan): Promise<void> {
  const label = plan.label ? ['-L', plan.label] : []
  await $({ quiet: true })`mke2fs -q -F -t ext4 -U ${plan.uuid} ${label} -E root_owner=0:0 -d ${overlayDir} ${image} 48M`.timeout('30s')
}
