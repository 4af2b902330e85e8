// The one source of truth for a host profile: types (z.infer), defaults, error messages and the
// editor JSON Schema (`hostbake schema`) all come from here. Objects are strict: a typo is an error.
import * as z from 'zod'
import { ALPINE_KERNEL_SERIES } from '../alpine/alpineDefaults.js'
import { PCI_ADDRESS, normalizePciAddress } from './profileRules.js'

export const PROFILE_SCHEMA_ID = 'https://hostbake.dev/schema/profile-v1.json'

const rfc1123Label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/
const pciId = /^[0-9a-f]{4}:[0-9a-f]{4}$/
// OpenRC service and kernel module names: no path separators, no shell metacharacters.
const serviceName = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/
const moduleName = /^[A-Za-z0-9][A-Za-z0-9_-]*$/
// Kernel options are written into a double-quoted shell assignment (update-extlinux sources it).
const kernelOpt = /^[A-Za-z0-9_.,:=/+@-]+$/
// apk-world constraint: name{@tag}{[<>~=]version}
const apkConstraint = /^[A-Za-z0-9][A-Za-z0-9+._-]*(@[A-Za-z0-9._-]+)?([<>~=]{1,2}[A-Za-z0-9._+-]+)?$/

// A wrong type and a wrong format get the same message; a missing field keeps zod's "required" wording.
const str = (re: RegExp, expected: string) =>
  z.string({ error: (iss) => (iss.input === undefined ? undefined : `expected ${expected}`) }).regex(re, { message: `expected ${expected}` })
const address = (example: string) =>
  str(PCI_ADDRESS, `a PCI address like ${example} (lowercase hex, domain optional)`).transform(normalizePciAddress)

export const hostnameSchema = str(rfc1123Label, 'an RFC 1123 label: a-z, 0-9 and -, 1-63 characters, not starting or ending with -')
  .describe('Host name; also the overlay file name <hostname>.apkovl.tar.gz')

// libvirt object names, guest and pool names: no slash, no leading dash or dot
const libvirtName = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,62}$/
const ifname = /^[a-z][a-z0-9_.-]{0,14}$/
const ipv4 = /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/
const ipv4Cidr = /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\/([0-9]|[12]\d|3[0-2])$/
const absPath = /^\/[A-Za-z0-9_.+@\/-]*$/

const passthroughDevice = z
  .strictObject({
    id: str(pciId, 'a lowercase vendor:device id like 8086:3a67').optional()
      .describe('PCI vendor:device. Alone: every device with this id is bound by `options vfio-pci ids=`.'),
    address: address('0000:00:1a.0').optional()
      .describe('PCI address: only this function is bound, through driver_override (for identical devices).'),
    bind: z.enum(['id', 'address']).optional()
      .describe('With both id and address: address (default) binds only this function; id binds every device with the id and keeps the address for guests'),
    name: str(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a short name: a-z, 0-9, - and _').optional()
      .describe('A name guests can use in hostdevs'),
    group: z.number().int().min(0).optional()
      .describe('The IOMMU group the host puts this function in (from /sys/kernel/iommu_groups); guests must take a whole group'),
  })
  .refine((d) => d.id !== undefined || d.address !== undefined, { message: 'give an id, an address, or both' })
  .refine((d) => d.bind === undefined || (d.id !== undefined && d.address !== undefined), { message: 'bind chooses between id and address: give both', path: ['bind'] })
  .describe('One PCI function to hand to vfio-pci')

const networkSchema = z
  .strictObject({
    bridge: str(ifname, 'an interface name like br0').default('br0').describe('The bridge guests attach to'),
    ports: z.array(str(ifname, 'an interface name like eth0')).min(1, { message: 'a bridge needs at least one port, like [eth0]' })
      .describe('Interfaces enslaved to the bridge'),
    dhcp: z.union([
      z.literal(true),
      z.strictObject({
        address: str(ipv4Cidr, 'an IPv4 address with prefix, like 192.168.1.10/24'),
        gateway: str(ipv4, 'an IPv4 address like 192.168.1.1').optional(),
        dns: z.array(str(ipv4, 'an IPv4 address like 192.168.1.1')).default([]),
      }),
    ], { error: 'expected true (DHCP) or { address, gateway, dns } (static)' }).default(true)
      .describe('true: DHCP on the bridge; or a static { address, gateway, dns }'),
  })
  .describe('The host bridge: /etc/network/interfaces (ifupdown-ng) and networking in the boot runlevel')

const storageSchema = z
  .strictObject({
    pools: z.array(z.strictObject({
      name: str(libvirtName, 'a libvirt name: letters, digits, _ . + -'),
      path: str(absPath, 'an absolute path like /var/lib/libvirt/images'),
    })).default([]),
  })
  .describe('libvirt storage pools (directory pools), defined and autostarted')

const guestSchema = z
  .strictObject({
    name: str(libvirtName, 'a libvirt name: letters, digits, _ . + -'),
    vcpus: z.number().int().min(1).max(512),
    memory: z.number().int().min(64).describe('MiB'),
    cpu: z.enum(['host-passthrough', 'host-model']).default('host-passthrough'),
    firmware: z.enum(['uefi', 'bios']).default('uefi'),
    disks: z.array(z.strictObject({
      volume: str(/^[A-Za-z0-9_][A-Za-z0-9_.+-]*\/[A-Za-z0-9_][A-Za-z0-9_.+-]*$/, 'pool/volume, like default/home-assistant.qcow2').optional(),
      path: str(absPath, 'an absolute path').optional(),
      bus: z.enum(['virtio', 'sata', 'scsi', 'usb']).default('virtio'),
      format: z.enum(['qcow2', 'raw']).optional().describe('Default: qcow2 for *.qcow2, raw otherwise'),
    }).refine((d) => (d.volume === undefined) !== (d.path === undefined), { message: 'give exactly one of volume or path' })).default([]),
    network: z.strictObject({
      bridge: str(ifname, 'an interface name like br0'),
      mac: str(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'a MAC address like 52:54:00:c4:2d:4a').optional(),
    }).optional(),
    hostdevs: z.array(z.string().min(1)).default([])
      .describe('PCI address or name of a passthrough device, or usb:vendor:product'),
    autostart: z.boolean().default(true),
    osVariant: z.string().regex(/^([a-z]+[0-9][0-9.]*|https?:\/\/\S+)$/, { message: 'expected a short id like alpinelinux3.14 or a libosinfo URL' }).optional(),
  })
  .describe('A libvirt guest: /etc/libvirt/qemu/<name>.xml, autostarted by libvirtd')

// Alpine's {MAC} is the NIC's /sys/class/net/*/address: lowercase, colons (delivery-facts §7d); normalised here once
export const macAddress = str(/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/, 'a MAC address like 52:54:00:12:34:56')
  .transform((m) => m.toLowerCase().replaceAll('-', ':'))
  .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, { message: 'a multicast MAC (first octet odd) is never a NIC\'s own address' })

const netbootSchema = z
  .strictObject({
    mac: z.union([macAddress, z.array(macAddress).min(1, { message: 'give at least one MAC' })], {
      error: 'expected a MAC address like 52:54:00:12:34:56 or a list of them',
    }).transform((m) => (Array.isArray(m) ? m : [m]))
      .describe('The MAC address(es) this host network-boots from; each gets its overlay URL (Alpine substitutes {MAC})'),
    interface: str(ifname, 'an interface name like eth0').optional()
      .describe('Pin the interface initramfs-init configures (ip=:::::IFACE:dhcp); default: the NIC iPXE booted from (BOOTIF)'),
  })
  .describe('Diskless network boot: `hostbake pxe` serves this host its overlay by MAC')

const imageSchema = z
  .strictObject({
    console: str(/^tty[A-Za-z]*\d{1,2}(,\d{3,7}[noe]?[5-8]?)?$/, 'a console like ttyS0,115200').optional()
      .describe('console= on both menus\' kernel lines (a serial console); Alpine\'s menus have none'),
    timeout: z.number().int().min(0).max(300).optional()
      .describe('Boot menu timeout in seconds for both menus; 0 boots at once. Default: the base ISO\'s (Alpine: 1 s)'),
  })
  .describe('hostbake image: the bootable ISO/USB stick made from an Alpine ISO (diskless hosts)')

export const testSchema = z
  .strictObject({
    iommu: z.enum(['intel', 'amd', 'none']).optional()
      .describe('Emulated IOMMU: intel-iommu (q35, split irqchip) or amd-iommu. Default: the profile cpu. none: a negative control.'),
    devices: z.array(z.string().min(1)).default([])
      .describe('QEMU -device arguments, taken verbatim (slots, root ports and bridges included); a NIC with netdev=hostnet0 gets restricted user networking'),
    expect: z
      .strictObject({
        groups: z.array(z.array(address('0000:00:1d.0'))).optional()
          .describe('IOMMU groups the author expects, each a list of addresses'),
        drivers: z.record(address('0000:00:04.0'), z.string().min(1)).optional()
          .describe('address -> driver that must keep the device (e.g. the second identical NIC stays on e1000e)'),
      })
      .default({})
      .describe('Extra expectations checked inside the guest'),
  })
  .describe('How `hostbake boot-test` emulates this host in QEMU')

const fileSchema = z
  .strictObject({
    path: z.string().min(1).describe('Absolute path on the host, e.g. /root/.ssh/authorized_keys'),
    content: z.string().optional().describe('File content, inline'),
    source: z.string().min(1).optional().describe('File to copy, relative to the profile'),
    mode: str(/^0?[0-7]{3}$/, 'an octal mode in quotes, like "0600"').optional()
      .describe('Octal mode as a quoted string. Default 0644, or 0600 for secret-looking files'),
    owner: str(/^\d{1,10}:\d{1,10}$|^root$/, '"root" or numeric "uid:gid"').optional()
      .describe('Numeric uid:gid (busybox tar restores numbers); default root'),
  })
  .refine((f) => (f.content === undefined) !== (f.source === undefined), {
    message: 'give exactly one of content or source',
  })

const services = z
  .strictObject({
    sysinit: z.array(str(serviceName, 'an OpenRC service name')).default([]),
    boot: z.array(str(serviceName, 'an OpenRC service name')).default([]),
    default: z.array(str(serviceName, 'an OpenRC service name')).default([]),
    shutdown: z.array(str(serviceName, 'an OpenRC service name')).default([]),
  })
  .describe("Services to enable per OpenRC runlevel, on top of Alpine's defaults (sysinit/boot/shutdown)")

export const profileSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Editor hint; ignored'),
    hostname: hostnameSchema,
    cpu: z.enum(['intel', 'amd']).describe('CPU vendor: decides the IOMMU kernel options'),
    alpine: z
      .strictObject({
        release: z.enum(Object.keys(ALPINE_KERNEL_SERIES) as [string, ...string[]], {
          message: `expected an Alpine release: ${Object.keys(ALPINE_KERNEL_SERIES).join(', ')} (quote it: "3.22")`,
        }).default('3.22').describe('Alpine release; gives the linux-lts series'),
        kernel: z.enum(['lts', 'virt']).default('lts').describe('Kernel flavour. linux-virt is built without VFIO'),
        kernelVersion: str(/^\d+\.\d+$/, 'a kernel series like "6.12" (quoted)').optional()
          .describe('Override the kernel series the release ships'),
      })
      .default({ release: '3.22', kernel: 'lts' }),
    install: z.enum(['sys', 'diskless']).default('sys')
      .describe('sys: disk install (update-extlinux + mkinitfs apply); diskless: run from RAM (boot media or PXE)'),
    boot: z
      .strictObject({
        kernelOpts: z.array(str(kernelOpt, 'a kernel option without spaces or quotes')).default(['quiet'])
          .describe('Kernel options; the IOMMU options are added for you'),
        initramfsModules: z.array(str(moduleName, 'a kernel module name')).optional()
          .describe('modules= list. Default: sd-mod,usb-storage,ext4 (sys) or loop,squashfs,sd-mod,usb-storage (diskless); the vfio modules are added for you'),
        root: str(/^(UUID=[0-9A-Fa-f-]+|LABEL=[A-Za-z0-9_.-]+|\/dev\/[A-Za-z0-9_/.-]+)$/, 'UUID=..., LABEL=... or /dev/...').optional()
          .describe('root= for update-extlinux; default: detected at install time'),

        loader: z.enum(['extlinux', 'grub']).optional()
          .describe('sys installs: extlinux (update-extlinux.conf, BIOS installs) or grub (/etc/default/grub, UEFI installs). Default: the snapshot\'s, else extlinux'),
        initramfsFeatures: z.array(str(moduleName, 'an mkinitfs feature name')).optional()
          .describe('mkinitfs features= in full (vfio is added). Default: the snapshot host\'s, else mkinitfs\' defaults. A crypto install needs cryptsetup (and lvm, keymap)'),
      })
      .default({ kernelOpts: ['quiet'] }),
    modules: z.array(str(moduleName, 'a kernel module name')).default([]).describe('Modules loaded at boot (/etc/modules)'),
    packages: z.array(str(apkConstraint, 'an apk world constraint like name, name@tag or name>=1.2')).default([])
      .describe('Packages for /etc/apk/world'),
    repositories: z.array(z.string().regex(/^(@[A-Za-z0-9._-]+ )?(https?:\/\/|\/)\S+$/, {
      message: 'expected a repository URL or absolute path, optionally prefixed by "@tag "',
    })).default([]).describe('Lines for /etc/apk/repositories'),
    services: services.default({ sysinit: [], boot: [], default: [], shutdown: [] }),
    passthrough: z
      .strictObject({
        devices: z.array(passthroughDevice).default([]),
        usb: z.array(z.strictObject({
          product: z.string().min(1).optional().describe('The product string the host reports (dmesg, lsusb -v)'),
          id: str(pciId, 'a lowercase vendor:product id like 10c4:ea60').optional(),
          name: str(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a short name: a-z, 0-9, - and _').optional()
            .describe('A name guests can use in hostdevs: it names the controller the device sits under'),
        }).refine((u) => (u.product === undefined) !== (u.id === undefined), { message: 'give a product string or an id' })).default([])
          .describe('USB devices to hand over: with a host snapshot, each becomes its controller and the rest of its IOMMU group'),
        preempt: z.array(str(moduleName, 'a kernel driver (module) name')).default([])
          .describe('Host drivers that must lose the devices to vfio-pci (e.g. igb, nouveau)'),
        allowUnsafeInterrupts: z.boolean().default(false)
          .describe('options vfio_iommu_type1 allow_unsafe_interrupts=1 (platforms without interrupt remapping)'),
      })
      .default({ devices: [], usb: [], preempt: [], allowUnsafeInterrupts: false }),
    files: z.array(fileSchema).default([]).describe('Extra files, confined to the overlay'),
    network: networkSchema.optional(),
    storage: storageSchema.optional(),
    guests: z.array(guestSchema).default([]),
    netboot: netbootSchema.optional(),

    image: imageSchema.optional(),
    test: testSchema.optional(),
  })
  .describe('hostbake host profile, version 1')

export type ProfileInput = z.input<typeof profileSchema>
export type Profile = z.output<typeof profileSchema>
export type PassthroughDevice = Profile['passthrough']['devices'][number]
export type ProfileFile = Profile['files'][number]
export type ProfileTest = NonNullable<Profile['test']>
export type ProfileGuest = Profile['guests'][number]
export type ProfileNetboot = NonNullable<Profile['netboot']>
export { ALPINE_KERNEL_SERIES, RUNLEVELS, type Runlevel } from '../alpine/alpineDefaults.js'

export function renderJsonSchema(): string {
  const schema = z.toJSONSchema(profileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>
  return JSON.stringify({ ...schema, $id: PROFILE_SCHEMA_ID, title: 'hostbake profile' }, null, 2) + '\n'
}
