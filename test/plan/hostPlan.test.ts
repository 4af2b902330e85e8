import test from 'ava'
import { planHost } from '../../scripts/plan/hostPlan.js'
import { parseProfile, profileYaml } from '../testSupport.js'

const planOf = (yaml: string) => planHost(parseProfile(profileYaml(yaml)))
const values = (items: { value: string }[]) => items.map((i) => i.value)
const dev = 'passthrough:\n  devices: [{ id: "8086:2934" }]\n'

// Alpine release (or kernelVersion) -> VFIO module globs for the initramfs
const seriesTable: [string, string, string[]][] = [
  ['3.18 (6.1)', 'alpine: { release: "3.18" }\n', ['vfio', 'vfio_iommu_type1', 'vfio_virqfd', 'pci/vfio-pci-core', 'pci/vfio-pci']],
  ['3.19 (6.6)', 'alpine: { release: "3.19" }\n', ['vfio', 'vfio_iommu_type1', 'pci/vfio-pci-core', 'pci/vfio-pci']],
  ['3.22 (6.12)', 'alpine: { release: "3.22" }\n', ['vfio', 'vfio_iommu_type1', 'pci/vfio-pci-core', 'pci/vfio-pci']],
  ['3.23 (6.18)', 'alpine: { release: "3.23" }\n', ['vfio', 'vfio_iommu_type1', 'pci/vfio-pci-core', 'pci/vfio-pci']],
  ['kernelVersion 5.15', 'alpine: { release: "3.22", kernelVersion: "5.15" }\n', ['vfio', 'vfio_iommu_type1', 'vfio_virqfd', 'pci/vfio-pci-core', 'pci/vfio-pci']],
  ['kernelVersion 5.10', 'alpine: { release: "3.22", kernelVersion: "5.10" }\n', ['vfio', 'vfio_iommu_type1', 'vfio_virqfd', 'pci/vfio-pci']],
]
for (const [name, yaml, mods] of seriesTable) {
  test(`kernel series -> vfio modules: ${name}`, (t) => {
    t.deepEqual(values(planOf(yaml + dev).vfioModules), mods.map((m) => `kernel/drivers/vfio/${m}.ko*`))
  })
}

test('release -> kernel series and package', (t) => {
  t.like(planOf('alpine: { release: "3.20" }\n').kernel, { series: '6.6', package: 'linux-lts', flavor: 'lts' })
  t.like(planOf('alpine: { release: "3.21", kernel: virt }\n').kernel, { series: '6.12', package: 'linux-virt' })
})

// cpu vendor -> IOMMU kernel options
const vendorTable: [string, string, string[]][] = [
  ['intel', 'cpu: intel\n', ['quiet', 'intel_iommu=on', 'iommu=pt']],
  ['amd: no amd_iommu=on', 'cpu: amd\n', ['quiet', 'iommu=pt']],
  ['user iommu= kept, not doubled', 'cpu: intel\nboot: { kernelOpts: [iommu=force] }\n', ['iommu=force', 'intel_iommu=on']],
  ['user intel_iommu kept', 'cpu: intel\nboot: { kernelOpts: ["intel_iommu=on,sm_on"] }\n', ['intel_iommu=on,sm_on', 'iommu=pt']],
]
for (const [name, yaml, opts] of vendorTable) {
  test(`vendor -> kernel options: ${name}`, (t) => {
    const plan = planHost(parseProfile(`hostname: testhost\n${yaml}`))
    t.deepEqual(values(plan.kernelOpts), opts)
  })
}

// preempted driver -> the modprobe.d line that makes vfio-pci win (none where kmod would ignore it)
const orderingTable: [string, string, string[], RegExp][] = [
  ['plain driver: softdep', 'preempt: [igb]', ['softdep igb pre: vfio-pci'], /modprobe\.d line loads vfio-pci first/],
  ['uhci_hcd has its own softdep: no line, modules= does it', 'preempt: [uhci_hcd]', [], /kmod ignores softdep and install lines .* modules= on the kernel command line \(update-extlinux\.conf/],
  ['r8169 has its own softdep: no line', 'preempt: [r8169]', [], /kmod ignores softdep and install lines/],
]
for (const [name, preempt, lines, why] of orderingTable) {
  test(`preempt ordering: ${name}`, (t) => {
    const plan = planOf(`passthrough:\n  devices: [{ id: "8086:2934" }]\n  ${preempt}\n`)
    t.deepEqual(values(plan.modprobe), ['options vfio-pci ids=8086:2934', ...lines])
    t.is(values(plan.world).includes('kmod'), lines.length > 0, 'kmod in the world exactly when softdep/install lines are used')
    t.regex(plan.preemptOrdering[0].reason, why)
    t.true(values(plan.initramfsModules).includes('vfio-pci'))
  })
}

test('ids only and no preempt: no kmod needed', (t) => {
  const plan = planOf(dev)
  t.deepEqual(values(plan.modprobe), ['options vfio-pci ids=8086:2934'])
  t.false(values(plan.world).includes('kmod'))
})

test('address binding: driver_override hook via install lines, script in the initramfs, kmod in the world', (t) => {
  const plan = planOf('passthrough:\n  devices: [{ address: "0000:00:04.0", id: "8086:10d3" }]\n  preempt: [e1000e]\n')
  t.deepEqual(plan.vfioIds, [])
  t.deepEqual(plan.vfioAddresses, [{ address: '0000:00:04.0', id: '8086:10d3' }])
  t.deepEqual(values(plan.modprobe), [
    'install vfio-pci /etc/hostbake/vfio-override.sh; /sbin/modprobe --ignore-install vfio-pci $CMDLINE_OPTS',
    'install e1000e /etc/hostbake/vfio-override.sh; /sbin/modprobe vfio-pci; /sbin/modprobe --ignore-install e1000e $CMDLINE_OPTS',
  ])
  t.deepEqual(values(plan.vfioFiles), ['/etc/hostbake/vfio-override.sh'])
  t.true(values(plan.world).includes('kmod'))
})

test('allowUnsafeInterrupts -> vfio_iommu_type1 option', (t) => {
  const plan = planOf('passthrough:\n  devices: [{ id: "8086:2934" }]\n  allowUnsafeInterrupts: true\n')
  t.true(values(plan.modprobe).includes('options vfio_iommu_type1 allow_unsafe_interrupts=1'))
})

test('modules= : Alpine defaults per install kind, plus the vfio modules once', (t) => {
  t.deepEqual(values(planOf(dev).initramfsModules), ['sd-mod', 'usb-storage', 'ext4', 'vfio', 'vfio-pci', 'vfio_iommu_type1'])
  t.deepEqual(values(planOf(`install: diskless\n${dev}`).initramfsModules), ['loop', 'squashfs', 'sd-mod', 'usb-storage', 'vfio', 'vfio-pci', 'vfio_iommu_type1'])
  t.deepEqual(values(planOf(`boot: { initramfsModules: [nvme, vfio_pci] }\n${dev}`).initramfsModules), ['nvme', 'vfio_pci', 'vfio', 'vfio_iommu_type1'])
  t.deepEqual(values(planOf('').initramfsModules), ['sd-mod', 'usb-storage', 'ext4'], 'no devices, no vfio')
})

test('cmdline: update-extlinux APPEND for sys, media cmdline for diskless', (t) => {
  t.is(planOf(`boot: { kernelOpts: [quiet], root: "UUID=abcd-1234" }\n${dev}`).cmdline,
    'root=UUID=abcd-1234 modules=sd-mod,usb-storage,ext4,vfio,vfio-pci,vfio_iommu_type1 quiet intel_iommu=on iommu=pt')
  t.is(planOf(`install: diskless\n${dev}`).cmdline,
    'modules=loop,squashfs,sd-mod,usb-storage,vfio,vfio-pci,vfio_iommu_type1 quiet intel_iommu=on iommu=pt')
})

test('world: derived packages for sys installs, sorted and unique', (t) => {
  t.deepEqual(values(planOf('packages: [qemu-img, alpine-base, qemu-img]\n').world), ['alpine-base', 'linux-lts', 'mkinitfs', 'qemu-img', 'syslinux'])
  t.deepEqual(values(planOf('install: diskless\npackages: [qemu-img]\n').world), ['alpine-base', 'qemu-img'])
})

test('runlevels: Alpine defaults are always there, user services added once', (t) => {
  const plan = planOf('network: { ports: [eth0] }\nservices: { sysinit: [mdev], boot: [networking], default: [libvirtd] }\n')
  t.deepEqual(values(plan.runlevels.sysinit), ['devfs', 'dmesg', 'mdev', 'hwdrivers', 'modloop'])
  t.deepEqual(values(plan.runlevels.boot), ['modules', 'sysctl', 'hostname', 'bootmisc', 'syslog', 'networking'])
  t.deepEqual(values(plan.runlevels.default), ['libvirtd'])
  t.deepEqual(values(plan.runlevels.shutdown), ['mount-ro', 'killprocs', 'savecache'])
})

test('every derived item says why it is there', (t) => {
  const plan = planOf('passthrough:\n  devices: [{ id: "8086:2934" }, { address: "0000:00:04.0", id: "8086:10d3" }]\n  preempt: [igb, uhci_hcd]\nmodules: [tun]\n')
  const items = [plan.kernelOpts, plan.initramfsModules, plan.vfioModules, plan.vfioFiles, plan.vfioIds, plan.modprobe, plan.preemptOrdering, plan.modules, plan.world, ...Object.values(plan.runlevels)].flat()
  t.true(items.length > 30)
  for (const i of items) t.true(i.reason.length > 5, i.value)
})
