// Semantic tests for the facts a boot depends on that only the golden files pinned (golden files can be re-blessed
// with one variable): each overlay is unpacked with busybox tar (Alpine's consumer) and read the way Alpine reads it.
import test from 'ava'
import { $ } from 'zx'
import fs from 'node:fs/promises'
import path from 'node:path'
import { bakeHost, loadProfile } from '../../scripts/hostPipeline.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { parseFeatureFile, readFeatures } from '../../scripts/boot/initramfsBuild.js'
import { readExtlinuxAppend } from '../../scripts/boot/bootOverlay.js'
import { tempDir } from '../testSupport.js'

async function unpack(t: Parameters<typeof tempDir>[0], profile: string): Promise<string> {
  const host = await bakeHost(await loadProfile(packagePath(profile)))
  const dir = await tempDir(t, 'hostbake-facts-')
  await fs.writeFile(path.join(dir, 'ovl.tar.gz'), host.apkovl)
  await fs.mkdir(path.join(dir, 'root'))
  await $({ quiet: true })`/bin/busybox tar -xzf ${path.join(dir, 'ovl.tar.gz')} -C ${path.join(dir, 'root')}`
  return path.join(dir, 'root')
}

/** update-extlinux sources its conf: the value a variable has after that */
async function sourced(file: string, name: string): Promise<string> {
  return (await $({ quiet: true })`sh -c ${`. "$1"; printf %s "$${name}"`} sh ${file}`).stdout
}

for (const profile of ['profiles/twin-nic.yaml', 'test/boot/profiles/seed001-ich9.yaml']) {
  test(`${profile}: modules= loads vfio, vfio-pci and vfio_iommu_type1 from the initramfs, and APPEND carries it`, async (t) => {
    const root = await unpack(t, profile)
    const modules = (await sourced(path.join(root, 'etc/update-extlinux.conf'), 'modules')).split(',')
    for (const m of ['vfio', 'vfio-pci', 'vfio_iommu_type1']) t.true(modules.includes(m), `${m} in modules=${modules}`)
    // Alpine's sys defaults stay: the root disk must still be mountable
    for (const m of ['sd-mod', 'usb-storage', 'ext4']) t.true(modules.includes(m), m)
    t.regex((await readExtlinuxAppend(root))!, /(^| )modules=\S*vfio-pci\S*( |$)/)
  })

  test(`${profile}: features= is quoted, so sourcing it yields every feature (base, ext4, virtio, vfio)`, async (t) => {
    const root = await unpack(t, profile)
    const conf = await fs.readFile(path.join(root, 'etc/mkinitfs/mkinitfs.conf'), 'utf8')
    t.regex(conf, /^features="[^"\r\n]*"$/m)
    t.notRegex(conf, /\r/)
    const features = await readFeatures(root)
    for (const f of ['base', 'ext4', 'virtio', 'vfio']) t.true(features.includes(f), `${f} in ${features}`)
  })

  test(`${profile}: every vfio.modules glob ends in .ko* (matches compressed modules too)`, async (t) => {
    const root = await unpack(t, profile)
    const words = parseFeatureFile(await fs.readFile(path.join(root, 'etc/mkinitfs/features.d/vfio.modules'), 'utf8'))
    t.true(words.length > 0)
    for (const w of words) t.regex(w, /\.ko\*$/, w)
  })
}

test('the hook the install lines run is listed in vfio.files, executable and owned by root', async (t) => {
  const root = await unpack(t, 'profiles/twin-nic.yaml')
  const conf = await fs.readFile(path.join(root, 'etc/modprobe.d/vfio.conf'), 'utf8')
  const hooks = [...new Set([...conf.matchAll(/^install \S+ (\/\S+);/gm)].map((m) => m[1]))]
  t.deepEqual(hooks, ['/etc/hostbake/vfio-override.sh'])
  // mkinitfs copies what vfio.files lists: the hook must be there, or the install lines fail in the initramfs
  const listed = parseFeatureFile(await fs.readFile(path.join(root, 'etc/mkinitfs/features.d/vfio.files'), 'utf8')).map((w) => path.normalize(`/${w}`))
  t.true(listed.includes(hooks[0]), `${hooks[0]} in vfio.files: ${listed}`)
  for (const rel of [hooks[0], '/etc/init.d/hostbake-guard']) {
    const st = await fs.lstat(path.join(root, rel))
    t.true(st.isFile(), rel)
    t.is(st.mode & 0o777, 0o755, `${rel} mode`)
    t.is(st.uid, 0, `${rel} owner`)
    t.is(st.gid, 0, `${rel} group`)
  }
})
