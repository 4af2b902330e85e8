// The root disk plan (pure) and the kernel-defaults table: which root= the guest mounts, which defaults it boots with.
import test from 'ava'
import { deriveUuid, planRootDisk } from '../../scripts/boot/rootDisk.js'
import { ALPINE_DEFAULTS_CMDLINE, KERNEL_CONFIG_DIFFERENCES } from '../../scripts/boot/kernelDefaults.js'

test('root=UUID= and LABEL= name the disk itself; the command line is kept', (t) => {
  const u = '3f1c2b9e-5a4d-4c1e-9b7a-2d6e8f0a1b2c'
  t.deepEqual(planRootDisk(`root=UUID=${u} modules=ext4 quiet`, 'h'), { cmdline: `root=UUID=${u} modules=ext4 quiet`, uuid: u })
  const l = planRootDisk('root=LABEL=alpine modules=ext4', 'h')
  t.is(l.label, 'alpine')
  t.is(l.cmdline, 'root=LABEL=alpine modules=ext4')
})

test('an empty root= is filled in as update-extlinux does: root=UUID=<disk>, the fs type appended to modules=', (t) => {
  const p = planRootDisk('root= modules=sd-mod,vfio quiet', 'host.apkovl.tar.gz')
  t.is(p.uuid, deriveUuid('host.apkovl.tar.gz'))
  t.is(p.cmdline, `root=UUID=${p.uuid} modules=sd-mod,vfio,ext4 quiet`)
  t.regex(p.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/)
})

test('a device name the test machine cannot reproduce is replaced by the disk UUID, and the note says so', (t) => {
  const p = planRootDisk('root=/dev/sda3 modules=ext4', 'x')
  t.is(p.cmdline, `root=UUID=${p.uuid} modules=ext4`)
  t.regex(p.note!, /root=\/dev\/sda3 cannot be named/)
})

test('Alpine kernel defaults: VT-d off unless the command line says on (later parameters win)', (t) => {
  t.is(ALPINE_DEFAULTS_CMDLINE, 'intel_iommu=off')
  const row = KERNEL_CONFIG_DIFFERENCES.find((d) => d.option === 'CONFIG_INTEL_IOMMU_DEFAULT_ON')!
  t.regex(row.alpine, /# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set/)
  for (const d of KERNEL_CONFIG_DIFFERENCES) t.truthy(d.alpine && d.debian && d.consequence, d.option)
})
