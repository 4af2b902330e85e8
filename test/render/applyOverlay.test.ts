// Applying an overlay to an existing disk install, as the README says: busybox tar unpacks it over a root
// tree made like seed 001's crypto install, then the files are read the way their consumers read them
// (mkinitfs.conf and update-extlinux.conf sourced by sh, /etc/default/grub by GRUB's own grub-mkconfig).
// Nothing the host had may be lost; the negative control (built without a snapshot) must lose cryptroot=.
import test, { type ExecutionContext } from 'ava'
import { spawnSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { applySnapshot, bakeHost, loadProfile, parseProfileText, renderHost, type BakedHost } from '../../scripts/hostPipeline.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { readGrubAppend } from '../../scripts/boot/grubCmdline.js'
import { seed001, seed001CryptoFiles, seed001GrubFiles, type FakeHost } from '../snapshot/sysfsFixture.js'
import { collect } from '../snapshot/snapshotSupport.js'
import { tempDir } from '../testSupport.js'

const STORY = packagePath('test', 'fixtures', 'seed001-zigbee.yaml')

// a root tree with the host's files, plus one the overlay never touches
async function makeRoot(t: ExecutionContext, files: Record<string, string>): Promise<string> {
  const root = await tempDir(t)
  for (const [name, text] of Object.entries({ ...files, 'etc/fstab': '/dev/mapper/root / ext4 rw 0 1\n' })) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true })
    await writeFile(path.join(root, name), text.endsWith('\n') ? text : `${text}\n`)
  }
  return root
}

async function applyTo(t: ExecutionContext, root: string, host: BakedHost): Promise<void> {
  const ovl = path.join(await tempDir(t), 'host.apkovl.tar.gz')
  await writeFile(ovl, host.apkovl)
  const r = spawnSync('/bin/busybox', ['tar', '-xzf', ovl, '-C', root])
  t.is(r.status, 0, r.stderr.toString())
}

// the value a shell script sees after sourcing the file, as mkinitfs and update-extlinux do
function sourced(file: string, name: string): string {
  const r = spawnSync('/bin/busybox', ['sh', '-c', `. "$1"; eval "printf %s \\"\\$$2\\""`, 'sh', file, name], { encoding: 'utf8' })
  return r.stdout
}
const words = (s: string) => s.split(/\s+/).filter(Boolean)

async function bakeAgainst(t: ExecutionContext, host: FakeHost) {
  const snap = await collect(t, host)
  return bakeHost(applySnapshot(await loadProfile(STORY), snap, `${host.hostname}.json`))
}

test('apply over a seed-001 crypto install: world, features, cryptroot, root and modules all survive', async (t) => {
  const host = await bakeAgainst(t, { ...seed001, files: seed001CryptoFiles })
  const root = await makeRoot(t, seed001CryptoFiles)
  await applyTo(t, root, host)
  const world = (await readFile(path.join(root, 'etc/apk/world'), 'utf8')).split('\n').filter(Boolean)
  const hadWorld = seed001CryptoFiles['etc/apk/world'].split('\n')
  t.deepEqual(hadWorld.filter((p) => !world.includes(p)), [], 'every package the host had is still in the world')
  t.true(['libvirt-daemon', 'kmod', 'bridge'].every((p) => world.includes(p)), 'and ours are added')
  const features = words(sourced(path.join(root, 'etc/mkinitfs/mkinitfs.conf'), 'features'))
  t.deepEqual(['ata', 'base', 'ide', 'scsi', 'usb', 'virtio', 'ext4', 'lvm', 'cryptsetup', 'keymap'].filter((f) => !features.includes(f)), [])
  t.true(features.includes('vfio'))
  const conf = path.join(root, 'etc/update-extlinux.conf')
  t.is(sourced(conf, 'root'), '/dev/mapper/root')
  const opts = words(sourced(conf, 'default_kernel_opts'))
  t.deepEqual(['cryptroot=UUID=eec5190e-eebd-4985-9abc-36a61341e038', 'cryptdm=root', 'quiet', 'rootfstype=ext4', 'intel_iommu=on', 'iommu=pt'].filter((o) => !opts.includes(o)), [])
  t.is(new Set(opts).size, opts.length, 'no option twice')
  const modules = sourced(conf, 'modules').split(',')
  t.deepEqual(modules.slice(0, 3), ['sd-mod', 'usb-storage', 'ext4'])
  t.true(['vfio', 'vfio-pci', 'vfio_iommu_type1'].every((m) => modules.includes(m)))
  const modulesFile = (await readFile(path.join(root, 'etc/modules'), 'utf8')).split('\n')
  t.true(['af_packet', 'ipv6', 'tun'].every((m) => modulesFile.includes(m)), 'the host\'s /etc/modules lines stay')
  t.is(await readFile(path.join(root, 'etc/apk/repositories'), 'utf8'), `${seed001CryptoFiles['etc/apk/repositories']}\n`, 'no repositories: in the profile, so the host\'s file is not replaced')
  t.is(await readFile(path.join(root, 'etc/fstab'), 'utf8'), '/dev/mapper/root / ext4 rw 0 1\n', 'files the overlay does not carry are untouched')
})

test('negative control: the same profile built without a snapshot loses what the host had (show says so)', async (t) => {
  const host = await bakeHost(await loadProfile(packagePath('profiles', 'homeassistant.yaml')))
  const root = await makeRoot(t, seed001CryptoFiles)
  await applyTo(t, root, host)
  const opts = words(sourced(path.join(root, 'etc/update-extlinux.conf'), 'default_kernel_opts'))
  t.false(opts.some((o) => o.startsWith('cryptroot=')), 'cryptroot= is gone: this install would not boot')
  t.false(words(sourced(path.join(root, 'etc/mkinitfs/mkinitfs.conf'), 'features')).includes('cryptsetup'))
  t.true(host.plan.notices.some((n) => /without a snapshot the host's own files are replaced: .*cryptroot=/.test(n)), 'show warns')
})

test('GRUB: /etc/default/grub keeps the host options, and grub-mkconfig puts ours on the kernel line', async (t) => {
  const grubHost = { ...seed001, files: seed001GrubFiles, efi: true }
  const host = await bakeAgainst(t, grubHost)
  t.is(host.plan.loader, 'grub')
  t.false(host.files.has('etc/update-extlinux.conf'), 'no update-extlinux.conf on a GRUB host')
  const world = host.plan.world.map((w) => w.value)
  t.true(world.includes('grub-efi') && !world.includes('syslinux'), 'UEFI: grub-efi, as setup-disk picks it')
  const root = await makeRoot(t, seed001GrubFiles)
  await applyTo(t, root, host)
  const line = sourced(path.join(root, 'etc/default/grub'), 'GRUB_CMDLINE_LINUX_DEFAULT')
  t.regex(line, /^modules=sd-mod,usb-storage,ext4,vfio,vfio-pci,vfio_iommu_type1 cryptroot=UUID=eec5190e-\S+ cryptdm=root quiet rootfstype=ext4 intel_iommu=on iommu=pt$/)

  // GRUB's own grub-mkconfig (Debian's grub-common) against a fake /boot with an Alpine kernel, in a mount
  // namespace so the machine's /etc/default and /boot are never touched
  const boot = path.join(root, 'boot')
  await writeFile(path.join(boot, 'vmlinuz-lts'), 'not a kernel')
  await writeFile(path.join(boot, 'initramfs-lts'), 'not an initramfs')
  const out = path.join(await tempDir(t), 'grub.cfg')
  const script = 'mount -t tmpfs none /etc/default && cp "$1/etc/default/grub" /etc/default/grub && mount --bind "$1/boot" /boot && grub-mkconfig -o "$2"'
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', root, out], { encoding: 'utf8', env: { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH}` } })
  t.is(r.status, 0, r.stderr)
  const cfg = await readFile(out, 'utf8')
  const linux = cfg.split('\n').filter((l) => /^\s*linux\s+\S*\/vmlinuz-lts /.test(l))
  t.true(linux.length > 0, cfg)
  // the boot harness forms the same options from the same file (scripts/boot/grubCmdline.ts)
  const harness = await readGrubAppend(root)
  t.deepEqual(words(harness!).slice(2), words(linux[0]).slice(4), 'the harness reads /etc/default/grub as grub-mkconfig does')
  for (const l of linux) {
    for (const o of ['modules=sd-mod,usb-storage,ext4,vfio,vfio-pci,vfio_iommu_type1', 'cryptroot=UUID=eec5190e-eebd-4985-9abc-36a61341e038', 'cryptdm=root', 'intel_iommu=on', 'iommu=pt']) {
      t.true(words(l).includes(o), `${o} on: ${l}`)
    }
  }
})

test('without a snapshot, boot.loader: grub renders /etc/default/grub and assumes UEFI (grub-efi)', async (t) => {
  const text = 'hostname: g\ncpu: amd\nboot: { loader: grub, kernelOpts: [quiet, rootfstype=ext4], initramfsFeatures: [ata, base, ext4, nvme, cryptsetup, keymap] }\npassthrough:\n  devices: [{ id: "10de:13c2" }]\n'
  const { profile, locate } = parseProfileText(text, 'g.yaml')
  const { plan, files } = renderHost({ file: 'g.yaml', profile, locate, sources: new Map() })
  t.regex(files.get('etc/default/grub')!.data!.toString(), /^GRUB_CMDLINE_LINUX_DEFAULT="modules=sd-mod,usb-storage,ext4,vfio,vfio-pci,vfio_iommu_type1 quiet rootfstype=ext4 iommu=pt"$/m)
  t.is(files.get('etc/mkinitfs/mkinitfs.conf')!.data!.toString().split('\n').find((l) => l.startsWith('features=')), 'features="ata base ext4 nvme cryptsetup keymap vfio"', 'boot.initramfsFeatures in full, plus vfio')
  t.true(plan.world.some((w) => w.value === 'grub-efi'))
  t.true(plan.notices.some((n) => n.includes('/etc/default/grub (kernel options and modules=)')))
})
