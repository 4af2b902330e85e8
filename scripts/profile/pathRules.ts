// Rules about host paths an overlay may carry: one place for where a file may go, which paths hold
// secrets, which directories keep which owner and mode, and which owners fit. Every field that makes
// an overlay entry (files[].path, storage.pools[].path, ...) goes through these.
import path from 'node:path/posix'

// Mounted over at boot (devtmpfs, proc, sysfs, tmpfs) or by the user: an entry there never reaches the host.
const MOUNTED_TOP = ['dev', 'proc', 'sys', 'run', 'tmp', 'media', 'mnt']

// Symlinks in alpine-baselayout: a directory entry there would replace the link (the host then loses /run).
const ALIASES: Record<string, string> = { 'var/run': 'run', 'var/lock': 'run/lock', 'var/spool/mail': 'var/mail' }

// Directories whose own owner and mode the base system sets: an overlay entry restores the mode we give,
// so a pool or a file must not make one of them (or change its mode by being created inside it).
export const SYSTEM_DIRS = new Set([
  '', 'bin', 'boot', 'etc', 'home', 'lib', 'opt', 'root', 'sbin', 'srv', 'usr', 'var',
  'usr/bin', 'usr/lib', 'usr/local', 'usr/sbin', 'usr/share', 'var/cache', 'var/empty', 'var/lib', 'var/lib/libvirt',
  'var/log', 'var/mail', 'var/spool', 'var/tmp', 'etc/init.d', 'etc/runlevels', 'etc/ssh', 'etc/apk', 'etc/libvirt',
])

// Modes (and owner 0:0) of directories the overlay may create on the way to a file, where 0755 would be wrong.
const DIR_MODES: Record<string, number> = { root: 0o700, 'root/.ssh': 0o700, 'var/tmp': 0o1777, 'var/empty': 0o555, 'etc/sudoers.d': 0o750 }

// Looks like a key, a password or a token: 0600 by default, never readable by others. The one list.
const SECRET_NAME = new RegExp('^(' + [
  'id_(rsa|dsa|ecdsa|ed25519)(_sk)?', // ssh user keys
  'ssh_host_.+_key', 'dropbear_.+_host_key', // ssh host keys (OpenSSH, dropbear)
  '.+\\.(key|pem|p12|pfx|psk|keytab)', 'shadow-?', 'gshadow-?', '\\.?netrc', 'wpa_supplicant\\.conf',
  '.*secret.*', '.*token.*', '.*passw(or)?d.*', 'credentials?',
].join('|') + ')$', 'i')
// Directories whose every file is a secret: WireGuard configs, libvirt secrets, anything called private or secrets.
const SECRET_DIR = /(^|\/)(etc\/wireguard|etc\/libvirt\/secrets|private|secrets|etc\/dropbear)\//

// p: an absolute host path or an overlay name (relative)
export function isSecretPath(p: string): boolean {
  const rel = p.replace(/^\/+/, '')
  const base = path.basename(rel)
  if (base.endsWith('.pub')) return false
  return SECRET_NAME.test(base) || SECRET_DIR.test(rel)
}

// A directory that holds secrets: not listable by others (0700).
export function isSecretDir(dirName: string): boolean {
  return SECRET_DIR.test(`${dirName.replace(/\/$/, '')}/`)
}

// Normalized overlay entry name (relative, no leading /) or an error message.
export function overlayPathOf(p: string): { name?: string; error?: string } {
  if (!p.startsWith('/')) return { error: `expected an absolute path on the host, like /${p.replace(/^\.?\//, '')}` }
  if (/[\x00-\x1f\x7f\\]/.test(p)) return { error: 'control characters and backslashes are not allowed in paths' }
  const parts = p.split('/').slice(1)
  if (parts.some((s) => s === '..')) return { error: `${p} escapes the overlay (..)` }
  if (p === '/') return { error: '/ is the root directory itself' }
  if (parts.some((s) => s === '' || s === '.')) return { error: `${p} is not a normalized path (empty or . component, or a trailing /)` }
  const name = parts.join('/')
  for (const [alias, target] of Object.entries(ALIASES)) {
    if (name === alias || name.startsWith(`${alias}/`)) {
      return { error: `/${alias} is a symlink to /${target} on Alpine: an entry there would replace the link${MOUNTED_TOP.includes(target.split('/')[0]) ? ` (and /${target} is mounted at boot)` : `; use /${target}${name.slice(alias.length)}`}` }
    }
  }
  const top = parts[0]
  if (MOUNTED_TOP.includes(top)) return { error: `/${top} is mounted at boot: a file there never reaches the host` }
  const long = parts.find((s) => Buffer.byteLength(s) > 255)
  if (long !== undefined) return { error: `a path component is limited to 255 bytes (${long.slice(0, 20)}... has ${Buffer.byteLength(long)})` }
  if (Buffer.byteLength(name) > 4095) return { error: 'paths are limited to 4095 bytes' }
  return { name }
}

// A directory hostbake creates for a field (a storage pool): a file path's rules, and not a system directory.
export function ownDirPathOf(p: string): { name?: string; error?: string } {
  const r = overlayPathOf(p)
  if (r.error) return r
  if (SYSTEM_DIRS.has(r.name!)) return { error: `${p} is a system directory: hostbake would set its owner and mode; use a folder of its own, like /var/lib/libvirt/images` }
  return r
}

// Owner and mode of a directory the overlay creates. Never taken from a file inside it (a user's key in
// /root/.ssh must not make /root/.ssh theirs): /root stays 0:0 0700; a home directory and its .ssh
// belong to the home's user (homeOwner), with 0700 for .ssh.
export function dirEntryOf(dirName: string, homeOwner?: { uid: number; gid: number }): { mode: number; uid: number; gid: number } {
  const name = dirName.replace(/\/$/, '')
  const fixed = DIR_MODES[name]
  if (fixed !== undefined) return { mode: fixed, uid: 0, gid: 0 }
  const home = /^home\/[^/]+(\/\.ssh)?$/.exec(name)
  if (home && homeOwner) return { mode: home[1] ? 0o700 : 0o755, ...homeOwner }
  if (name.endsWith('/.ssh') || isSecretDir(name)) return { mode: 0o700, uid: 0, gid: 0 }
  return { mode: 0o755, uid: 0, gid: 0 }
}

// files[].owner as numbers: "root" or absent is 0:0.
export function parseOwner(owner: string | undefined): { uid: number; gid: number } {
  if (owner === undefined || owner === 'root') return { uid: 0, gid: 0 }
  const [uid, gid] = owner.split(':').map(Number)
  return { uid, gid }
}

// The home directory (/home/<user>) a path lies in, if any: it belongs to that user's files' owner.
export function homeOf(name: string): string | undefined {
  return /^(home\/[^/]+)\//.exec(name)?.[1]
}

// ustar's 7-byte octal uid/gid field as tar-stream writes it (it clamps larger values to 0777777).
export const MAX_TAR_ID = 0o777777

// Where a file owned by someone else than root hands root to that owner (root runs, sources or trusts it).
const ROOT_ONLY_TOP = ['bin', 'boot', 'etc', 'lib', 'root', 'sbin', 'usr', 'var/spool']

export function ownerProblem(name: string, owner: { uid: number; gid: number }, mode: number): string | undefined {
  for (const [what, id] of [['uid', owner.uid], ['gid', owner.gid]] as const) {
    if (id > MAX_TAR_ID) return `${what} ${id} does not fit the overlay's tar header (at most ${MAX_TAR_ID}); it would be cut silently, so it is refused`
  }
  const top = ROOT_ONLY_TOP.find((t) => name === t || name.startsWith(`${t}/`))
  if (top === undefined) return undefined
  const why = `/${name} is under /${top}, which root reads, runs or trusts`
  if (owner.uid !== 0) return `${why}: a file there owned by uid ${owner.uid} hands root to that user; keep it root-owned (0:gid with a group-readable mode is fine)`
  if (owner.gid !== 0 && (mode & 0o022) !== 0) return `${why}: group ${owner.gid} could write it; drop the group write bit`
  return undefined
}
