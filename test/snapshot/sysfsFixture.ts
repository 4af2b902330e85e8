// Fake /sys + /proc trees shaped like the kernel's (relative symlinks from bus and class views into
// /sys/devices), for running the real snapshot collector over the hosts the seeds describe.
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'

export interface FakePci {
  address: string
  id: string
  class: string
  driver?: string
  group?: number
  parent?: string // a bridge's address: this function sits below it
  resetMethod?: string
  subsystem?: string // default: the vendor with device 0000
}
export interface FakeUsb { port: string; id: string; product: string; controller: string }
export interface FakeHost {
  hostname: string
  pci: FakePci[]
  usb?: FakeUsb[]
  mounts: { mount: string; device: string; controller: string; disk: string }[]
  nic?: { name: string; mac: string; pci: string; bridge?: string }
  files?: Record<string, string> // the host's own files, e.g. etc/apk/world, boot/extlinux.conf
  efi?: boolean // /sys/firmware/efi exists
}

// The module a driver lives in, as /sys/bus/pci/drivers/<driver>/module links it; none: built in.
const DRIVER_MODULES: Record<string, string | undefined> = { pcieport: undefined, xhci_hcd: 'xhci_pci', 'ehci-pci': 'ehci_pci', 'ohci-pci': 'ohci_pci' }
const moduleOf = (driver: string) => (driver in DRIVER_MODULES ? DRIVER_MODULES[driver] : driver.replaceAll('-', '_'))

const rel = (from: string, to: string) => path.relative(path.dirname(from), to)

export async function makeSysfs(root: string, host: FakeHost): Promise<void> {
  const sys = path.join(root, 'sys')
  const devPath = new Map<string, string>()
  const dirOf = (a: string): string => {
    const known = devPath.get(a)
    if (known) return known
    const d = host.pci.find((x) => x.address === a)!
    const p = d.parent ? path.join(dirOf(d.parent), a) : path.join(sys, 'devices', `pci${a.slice(0, 7)}`, a)
    devPath.set(a, p)
    return p
  }
  const put = async (file: string, text: string) => { await mkdir(path.dirname(file), { recursive: true }); await writeFile(file, `${text}\n`) }
  const link = async (at: string, target: string) => { await mkdir(path.dirname(at), { recursive: true }); await symlink(rel(at, target), at) }

  for (const d of host.pci) {
    const dir = dirOf(d.address)
    const [v, dev] = d.id.split(':')
    await put(path.join(dir, 'vendor'), `0x${v}`)
    await put(path.join(dir, 'device'), `0x${dev}`)
    const [sv, sd] = (d.subsystem ?? `${v}:0000`).split(':')
    await put(path.join(dir, 'subsystem_vendor'), `0x${sv}`)
    await put(path.join(dir, 'subsystem_device'), `0x${sd}`)
    await put(path.join(dir, 'class'), d.class)
    if (d.resetMethod) await put(path.join(dir, 'reset_method'), d.resetMethod)
    if (d.driver) {
      await mkdir(path.join(sys, 'bus/pci/drivers', d.driver), { recursive: true })
      const mod = moduleOf(d.driver)
      const modLink = path.join(sys, 'bus/pci/drivers', d.driver, 'module')
      if (mod) {
        await mkdir(path.join(sys, 'module', mod), { recursive: true })
        await symlink(rel(modLink, path.join(sys, 'module', mod)), modLink).catch(() => {}) // once per driver
      }
      await link(path.join(dir, 'driver'), path.join(sys, 'bus/pci/drivers', d.driver))
    }
    if (d.group !== undefined) {
      await mkdir(path.join(sys, 'kernel/iommu_groups', String(d.group), 'devices'), { recursive: true })
      await link(path.join(dir, 'iommu_group'), path.join(sys, 'kernel/iommu_groups', String(d.group)))
      await link(path.join(sys, 'kernel/iommu_groups', String(d.group), 'devices', d.address), dir)
    }
    await link(path.join(sys, 'bus/pci/devices', d.address), dir)
  }
  const buses = new Map<string, number>()
  for (const u of host.usb ?? []) {
    const bus = Number(u.port.split('-')[0])
    buses.set(u.controller, bus)
    const dir = path.join(dirOf(u.controller), `usb${bus}`, u.port)
    const [v, p] = u.id.split(':')
    await put(path.join(dir, 'idVendor'), v)
    await put(path.join(dir, 'idProduct'), p)
    await put(path.join(dir, 'product'), u.product)
    await put(path.join(dir, 'busnum'), String(bus))
    await put(path.join(dir, 'devnum'), String(Number(u.port.split('-')[1]) + 1))
    await link(path.join(sys, 'bus/usb/devices', u.port), dir)
  }
  for (const [ctrl, bus] of buses) {
    const hub = path.join(dirOf(ctrl), `usb${bus}`)
    await put(path.join(hub, 'idVendor'), '1d6b')
    await put(path.join(hub, 'idProduct'), '0002')
    await link(path.join(sys, 'bus/usb/devices', `usb${bus}`), hub)
  }
  const mounts: string[] = []
  for (const m of host.mounts) {
    const disk = path.join(dirOf(m.controller), 'host0', 'block', m.disk)
    const part = path.join(disk, m.device)
    await mkdir(part, { recursive: true })
    await link(path.join(sys, 'class/block', m.device), part)
    mounts.push(`/dev/${m.device} ${m.mount} ext4 rw 0 0`)
  }
  await put(path.join(root, 'proc/mounts'), ['proc /proc proc rw 0 0', ...mounts].join('\n'))
  const route = ['Iface\tDestination\tGateway\tFlags']
  if (host.nic) {
    const n = host.nic
    const netdir = path.join(dirOf(n.pci), 'net', n.name)
    await put(path.join(netdir, 'address'), n.mac)
    await link(path.join(netdir, 'device'), dirOf(n.pci))
    await link(path.join(sys, 'class/net', n.name), netdir)
    if (n.bridge) {
      const br = path.join(sys, 'devices/virtual/net', n.bridge)
      await put(path.join(br, 'address'), n.mac)
      await mkdir(path.join(netdir, 'brport'), { recursive: true })
      await link(path.join(br, 'brif', n.name), path.join(netdir, 'brport'))
      await link(path.join(br, `lower_${n.name}`), netdir) // the kernel lists a port twice: brif/ and lower_
      await link(path.join(sys, 'class/net', n.bridge), br)
    }
    route.push(`${n.bridge ?? n.name}\t00000000\t0101A8C0\t0003`, `${n.bridge ?? n.name}\t0001A8C0\t00000000\t0001`)
  }
  await put(path.join(root, 'proc/net/route'), route.join('\n'))
  await put(path.join(root, 'proc/sys/kernel/hostname'), host.hostname)
  await put(path.join(root, 'proc/sys/kernel/osrelease'), '6.12.69-0-lts')
  for (const [name, text] of Object.entries(host.files ?? {})) await put(path.join(root, name), text.replace(/\n$/, ''))
  if (host.efi) await mkdir(path.join(sys, 'firmware/efi'), { recursive: true })
}

// What setup-alpine leaves on seed 001's disk: a crypto sys install (LUKS + LVM, extlinux), with the
// seed's packages and its IOMMU options already in default_kernel_opts (it took its groups after that boot).
export const seed001CryptoFiles: Record<string, string> = {
  'etc/apk/world': ['alpine-base', 'chrony', 'cryptsetup', 'e2fsprogs', 'libvirt-daemon', 'linux-firmware-none', 'linux-lts', 'lvm2',
    'openrc', 'openssh', 'pciutils', 'qemu-img', 'qemu-modules', 'qemu-system-x86_64', 'syslinux', 'usbutils', 'vim', 'wget'].join('\n'),
  'etc/mkinitfs/mkinitfs.conf': 'features="ata base ide scsi usb virtio ext4 lvm cryptsetup keymap"',
  'etc/modules': 'af_packet\nipv6\ntun', // the seed appended tun for libvirt
  'etc/apk/repositories': '#/media/cdrom/apks\nhttp://dl-cdn.alpinelinux.org/alpine/v3.22/main\nhttp://dl-cdn.alpinelinux.org/alpine/v3.22/community',
  'etc/update-extlinux.conf': [
    '# Generated by setup-disk', 'overwrite=1', 'vesa_menu=0',
    'default_kernel_opts="cryptroot=UUID=eec5190e-eebd-4985-9abc-36a61341e038 cryptdm=root quiet rootfstype=ext4 intel_iommu=on iommu=pt"',
    'modules=sd-mod,usb-storage,ext4', 'root=/dev/mapper/root', 'verbose=0', 'hidden=1', 'timeout=1', 'default=lts',
  ].join('\n'),
  'boot/extlinux.conf': 'DEFAULT menu.c32',
}

// The same install on a UEFI machine: GRUB, as setup-disk writes /etc/default/grub.
export const seed001GrubFiles: Record<string, string> = {
  'etc/apk/world': seed001CryptoFiles['etc/apk/world'].replace('syslinux', 'grub-efi'),
  'etc/mkinitfs/mkinitfs.conf': seed001CryptoFiles['etc/mkinitfs/mkinitfs.conf'],
  'etc/default/grub': [
    'GRUB_TIMEOUT=2', 'GRUB_DISABLE_SUBMENU=y', 'GRUB_DISABLE_RECOVERY=true',
    'GRUB_CMDLINE_LINUX_DEFAULT="modules=sd-mod,usb-storage,ext4 cryptroot=UUID=eec5190e-eebd-4985-9abc-36a61341e038 cryptdm=root quiet rootfstype=ext4 intel_iommu=on iommu=pt"',
  ].join('\n'),
  'boot/grub/grub.cfg': '# generated by grub-mkconfig',
}

// Seed 001 (ICH10 host): IOMMU group 4 = three UHCI + one EHCI, the Zigbee dongle on bus 3 (00:1a.0),
// the root disk on the AHCI controller, the host on br0 over an igb NIC behind a root port.
export const seed001: FakeHost = {
  hostname: 'homeassistant',
  pci: [
    { address: '0000:00:00.0', id: '8086:2e10', class: '0x060000', group: 0 },
    { address: '0000:00:1a.0', id: '8086:3a67', class: '0x0c0300', driver: 'uhci_hcd', group: 4 },
    { address: '0000:00:1a.1', id: '8086:3a68', class: '0x0c0300', driver: 'uhci_hcd', group: 4 },
    { address: '0000:00:1a.2', id: '8086:3a69', class: '0x0c0300', driver: 'uhci_hcd', group: 4 },
    { address: '0000:00:1a.7', id: '8086:3a6c', class: '0x0c0320', driver: 'ehci-pci', group: 4 },
    { address: '0000:00:1c.0', id: '8086:3a40', class: '0x060400', driver: 'pcieport', group: 5 },
    { address: '0000:02:00.0', id: '8086:10c9', class: '0x020000', driver: 'igb', group: 5, parent: '0000:00:1c.0', resetMethod: 'flr bus' },
    { address: '0000:00:1f.2', id: '8086:3a22', class: '0x010601', driver: 'ahci', group: 6 },
  ],
  usb: [
    { port: '3-1', id: '0d8c:000c', product: 'C-Media USB Headphone Set', controller: '0000:00:1a.0' },
    { port: '3-2', id: '10c4:ea60', product: 'Sonoff Zigbee 3.0 USB Dongle Plus', controller: '0000:00:1a.0' },
    { port: '4-2', id: '08bb:2902', product: 'USB Audio CODEC', controller: '0000:00:1a.1' },
  ],
  mounts: [{ mount: '/', device: 'sda2', disk: 'sda', controller: '0000:00:1f.2' }],
  nic: { name: 'eth0', mac: '00:1b:21:aa:bb:cc', pci: '0000:02:00.0', bridge: 'br0' },
}

// Seed 001's host as it really is on disk: the crypto sys install above, booted by extlinux.
export const seed001Crypto: FakeHost = { ...seed001, files: seed001CryptoFiles }

// Seed 001's host on what QEMU can emulate (the boot test's machine, test/boot/with-snapshot/seed001-crypto.yaml):
// no ICH10, so ICH9's three UHCI and one EHCI (8086:2934 2935 2936 293a, QEMU's subsystem 1af4:1100) share
// group 4 at 00:1d.x, the dongle under 00:1d.0, the host on br0 over an e1000e, the same crypto install.
const qemuUsb = (address: string, id: string, driver: string, cls: string): FakePci => ({ address, id, class: cls, driver, group: 4, subsystem: '1af4:1100' })
export const seed001Qemu: FakeHost = {
  hostname: 'seed001-crypto',
  pci: [
    { address: '0000:00:00.0', id: '8086:29c0', class: '0x060000', group: 0, subsystem: '1af4:1100' },
    { address: '0000:00:03.0', id: '8086:10d3', class: '0x020000', driver: 'e1000e', group: 2, subsystem: '8086:0000' },
    qemuUsb('0000:00:1d.0', '8086:2934', 'uhci_hcd', '0x0c0300'),
    qemuUsb('0000:00:1d.1', '8086:2935', 'uhci_hcd', '0x0c0300'),
    qemuUsb('0000:00:1d.2', '8086:2936', 'uhci_hcd', '0x0c0300'),
    qemuUsb('0000:00:1d.7', '8086:293a', 'ehci-pci', '0x0c0320'),
    { address: '0000:00:1f.2', id: '8086:2922', class: '0x010601', driver: 'ahci', group: 5, subsystem: '1af4:1100' },
  ],
  usb: [
    { port: '1-1', id: '10c4:ea60', product: 'Sonoff Zigbee 3.0 USB Dongle Plus', controller: '0000:00:1d.0' },
  ],
  mounts: [{ mount: '/', device: 'dm-0', disk: 'sda', controller: '0000:00:1f.2' }],
  nic: { name: 'eth0', mac: '52:54:00:12:34:56', pci: '0000:00:03.0', bridge: 'br0' },
  files: seed001CryptoFiles,
}

// Seed 002 (Z170 workstation): the GTX 970 and its audio function behind a CPU root port, a second GPU
// for the host, the Fresco USB 3 controller in a group of its own.
export const seed002: FakeHost = {
  hostname: 'gpu-workstation',
  pci: [
    { address: '0000:00:01.0', id: '8086:1901', class: '0x060400', driver: 'pcieport', group: 1 },
    { address: '0000:01:00.0', id: '10de:13c2', class: '0x030000', driver: 'nouveau', group: 1, parent: '0000:00:01.0' },
    { address: '0000:01:00.1', id: '10de:0fbb', class: '0x040300', driver: 'snd_hda_intel', group: 1, parent: '0000:00:01.0' },
    { address: '0000:00:02.0', id: '8086:1912', class: '0x030000', driver: 'i915', group: 2 },
    { address: '0000:00:1c.4', id: '8086:a114', class: '0x060400', driver: 'pcieport', group: 9 },
    { address: '0000:03:00.0', id: '1b73:1100', class: '0x0c0330', driver: 'xhci_hcd', group: 9, parent: '0000:00:1c.4' },
    { address: '0000:00:17.0', id: '8086:a102', class: '0x010601', driver: 'ahci', group: 7 },
    { address: '0000:00:1f.6', id: '8086:15b8', class: '0x020000', driver: 'e1000e', group: 11 },
  ],
  mounts: [{ mount: '/', device: 'sda1', disk: 'sda', controller: '0000:00:17.0' }],
  nic: { name: 'eth0', mac: '30:5a:3a:00:00:01', pci: '0000:00:1f.6' },
}

// Seed 003 (Phyllome): xHCI and thermal share group 3, the OS on the Intel 660P NVMe (3e:00.0), the
// I219-LM NIC carries the default route.
export const seed003: FakeHost = {
  hostname: 'phyllome',
  pci: [
    { address: '0000:00:02.0', id: '8086:193b', class: '0x030000', driver: 'i915', group: 0 },
    { address: '0000:00:14.0', id: '8086:a12f', class: '0x0c0330', driver: 'xhci_hcd', group: 3 },
    { address: '0000:00:14.2', id: '8086:a131', class: '0x118000', driver: 'intel_pch_thermal', group: 3 },
    { address: '0000:00:1f.6', id: '8086:15b7', class: '0x020000', driver: 'e1000e', group: 12 },
    { address: '0000:00:1d.0', id: '8086:a118', class: '0x060400', driver: 'pcieport', group: 15 },
    { address: '0000:3d:00.0', id: '144d:a802', class: '0x010802', driver: 'nvme', group: 15, parent: '0000:00:1d.0' },
    { address: '0000:00:1d.4', id: '8086:a11c', class: '0x060400', driver: 'pcieport', group: 16 },
    { address: '0000:3e:00.0', id: '8086:f1a8', class: '0x010802', driver: 'nvme', group: 16, parent: '0000:00:1d.4' },
  ],
  mounts: [
    { mount: '/', device: 'nvme0n1p3', disk: 'nvme0n1', controller: '0000:3e:00.0' },
    { mount: '/boot', device: 'nvme0n1p2', disk: 'nvme0n1', controller: '0000:3e:00.0' },
  ],
  nic: { name: 'enp0s31f6', mac: '54:e1:ad:00:00:01', pci: '0000:00:1f.6' },
}

// Two identical 82574L NICs; the first carries the default route (the host's management NIC).
export const twinNics: FakeHost = {
  hostname: 'twin-nic',
  pci: [
    { address: '0000:00:1c.0', id: '8086:a110', class: '0x060400', driver: 'pcieport', group: 7 },
    { address: '0000:03:00.0', id: '8086:10d3', class: '0x020000', driver: 'e1000e', group: 7, parent: '0000:00:1c.0' },
    { address: '0000:00:1c.1', id: '8086:a111', class: '0x060400', driver: 'pcieport', group: 8 },
    { address: '0000:04:00.0', id: '8086:10d3', class: '0x020000', driver: 'e1000e', group: 8, parent: '0000:00:1c.1' },
    { address: '0000:00:17.0', id: '8086:a102', class: '0x010601', driver: 'ahci', group: 9 },
  ],
  mounts: [{ mount: '/', device: 'sda2', disk: 'sda', controller: '0000:00:17.0' }],
  nic: { name: 'eth0', mac: '00:1b:21:00:00:03', pci: '0000:03:00.0' },
}
