// The packed overlay as Alpine's initramfs sees it: unpacked by busybox tar -z, as root.
import test from 'ava'
import { execFile } from 'node:child_process'
import { lstat, readFile, readlink, readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { bakeHost } from '../../scripts/hostPipeline.js'
import { loadProfile } from '../../scripts/hostPipeline.js'
import { sortedEntries } from '../../scripts/render/overlayRender.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { BUNDLED_PROFILES, tempDir } from '../testSupport.js'

const run = promisify(execFile)
const BUSYBOX = '/bin/busybox'

async function walk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = []
  for (const name of (await readdir(path.join(root, rel))).sort()) {
    const r = rel ? `${rel}/${name}` : name
    const st = await lstat(path.join(root, r))
    out.push(st.isDirectory() ? `${r}/` : r)
    if (st.isDirectory()) out.push(...(await walk(root, r)))
  }
  return out
}

for (const name of BUNDLED_PROFILES) {
  test(`busybox tar unpacks ${name} with the names, modes, owners and links we packed`, async (t) => {
    const host = await bakeHost(await loadProfile(packagePath('profiles', `${name}.yaml`)))
    const dir = await tempDir(t)
    const ovl = path.join(dir, `${name}.apkovl.tar.gz`)
    await writeFile(ovl, host.apkovl)
    const root = path.join(dir, 'sysroot')
    await run('mkdir', [root])
    // exactly what initramfs-init does: tar -C /sysroot -zxvf <ovl>
    const { stdout } = await run(BUSYBOX, ['tar', '-C', root, '-zxvf', ovl])
    const listed = stdout.trim().split('\n')
    const entries = sortedEntries(host.files)
    t.deepEqual(listed, entries.map((e) => e.name), 'tar -v list (fed to apk --overlay-from-stdin): relative, no ./, sorted')
    t.false(listed.some((n) => n.startsWith('./') || n.startsWith('/')))
    t.deepEqual(await walk(root), entries.map((e) => e.name), 'nothing more, nothing less on disk')
    for (const e of entries) {
      const p = path.join(root, e.name)
      const st = await lstat(p)
      if (e.type === 'symlink') {
        t.true(st.isSymbolicLink(), e.name)
        t.is(await readlink(p), e.target!)
        continue
      }
      t.is(st.mode & 0o7777, e.mode, `mode of ${e.name}`)
      t.is(st.uid, e.uid, `uid of ${e.name}`)
      t.is(st.gid, e.gid, `gid of ${e.name}`)
      if (e.type === 'file') t.deepEqual(await readFile(p), e.data!, `content of ${e.name}`)
      else t.true(st.isDirectory(), e.name)
    }
  })
}

test('runlevel links point at /etc/init.d and Alpine defaults are present (never a host without devfs/mdev/modloop)', async (t) => {
  const host = await bakeHost(await loadProfile(packagePath('profiles', 'homeassistant.yaml')))
  for (const svc of ['sysinit/devfs', 'sysinit/mdev', 'sysinit/modloop', 'sysinit/hwdrivers', 'boot/modules', 'shutdown/mount-ro', 'default/libvirtd']) {
    const e = host.files.get(`etc/runlevels/${svc}`)
    t.is(e?.target, `/etc/init.d/${svc.split('/')[1]}`, svc)
  }
})

test('gzip header carries no timestamp and a fixed OS byte; tar headers a fixed mtime and numeric owners', async (t) => {
  const host = await bakeHost(await loadProfile(packagePath('profiles', 'twin-nic.yaml')))
  const gz = host.apkovl
  t.deepEqual([...gz.subarray(0, 3)], [0x1f, 0x8b, 8])
  t.is(gz.readUInt32LE(4), 0, 'MTIME')
  t.is(gz[9], 3, 'OS = Unix')
  const tarData = gunzipSync(gz)
  for (let off = 0; off + 512 <= tarData.length && tarData[off] !== 0; ) {
    const h = tarData.subarray(off, off + 512)
    const field = (a: number, n: number) => h.subarray(a, a + n).toString('latin1').replace(/\0.*$/s, '').trim()
    t.is(parseInt(field(136, 12), 8), 1704067200, `mtime of ${field(0, 100)}`)
    t.is(field(265, 32), '', 'no user name: busybox falls back to the numeric id')
    const size = parseInt(field(124, 12), 8)
    off += 512 + Math.ceil(size / 512) * 512
  }
})
