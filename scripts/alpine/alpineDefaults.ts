// What stock Alpine puts in place, so an overlay never boots without it (alpine-boot-facts.md §1, §5).
export const RUNLEVELS = ['sysinit', 'boot', 'default', 'shutdown'] as const
export type Runlevel = (typeof RUNLEVELS)[number]

// Alpine release -> linux-lts series it ships (alpine-boot-facts.md §4, delivery-facts.md §1).
export const ALPINE_KERNEL_SERIES: Record<string, string> = {
  '3.18': '6.1',
  '3.19': '6.6',
  '3.20': '6.6',
  '3.21': '6.12',
  '3.22': '6.12',
  '3.23': '6.18',
  '3.24': '6.18', // delivery-facts.md §1: linux-lts 6.18.54-r0 in v3.24/main
}


// initramfs-init's defaults behind etc/.default_boot_services (MKI); hwclock/swclock is always added by it.
export const ALPINE_DEFAULT_RUNLEVELS: Record<Runlevel, readonly string[]> = {
  sysinit: ['devfs', 'dmesg', 'mdev', 'hwdrivers', 'modloop'],
  boot: ['modules', 'sysctl', 'hostname', 'bootmisc', 'syslog'],
  default: [],
  shutdown: ['mount-ro', 'killprocs', 'savecache'],
}

// mkinitfs' upstream default feature list (Makefile DEFAULT_FEATURES, x86_64).
export const ALPINE_DEFAULT_FEATURES = ['ata', 'base', 'cdrom', 'ext4', 'keymap', 'kms', 'mmc', 'nvme', 'raid', 'scsi', 'usb', 'virtio'] as const

// The features of the initramfs on Alpine's ISO and netboot media: mkimage's initfs_features for x86_64 plus the
// `base squashfs` update-kernel adds (aports scripts/mkimg.base.sh profile_base, alpine-conf update-kernel).
// A diskless host boots this image, never one built from its overlay's mkinitfs.conf.
export const ALPINE_ISO_FEATURES = ['ata', 'base', 'bootchart', 'cdrom', 'ext4', 'mmc', 'nvme', 'raid', 'scsi', 'squashfs', 'usb', 'virtio'] as const
// profile_netboot's initfs_features (aports scripts/mkimg.netboot.sh)
export const ALPINE_NETBOOT_FEATURES = ['base', 'network', 'squashfs', 'usb', 'virtio'] as const

// update-extlinux.conf shipped defaults (syslinux package) and the diskless ISO's APPEND modules.
export const ALPINE_SYS_INITRAMFS_MODULES = ['sd-mod', 'usb-storage', 'ext4'] as const
export const ALPINE_DISKLESS_INITRAMFS_MODULES = ['loop', 'squashfs', 'sd-mod', 'usb-storage'] as const
// a netboot host has no boot disk: the modloop is a loop-mounted squashfs (netboot's initfs has no scsi feature)
export const ALPINE_NETBOOT_INITRAMFS_MODULES = ['loop', 'squashfs'] as const

// alpine-baselayout's /etc/modules: an overlay file replaces it, so keep its lines.
export const ALPINE_DEFAULT_MODULES = ['af_packet', 'ipv6'] as const

// Preempted drivers that carry a module softdep of their own: kmod 30 ignores both a modprobe.d
// `softdep <drv> pre: vfio-pci` and an `install <drv>` line for them (seen with `modprobe -n -v` and in
// the boot tests), so hostbake writes neither and relies on modules= loading vfio-pci before coldplug.
// The PCI drivers in a real kernel's modules.softdep; a test keeps this in step.
export const DRIVERS_WITH_OWN_SOFTDEP = new Set(['uhci_hcd', 'ohci_pci', 'r8169', 'csiostor'])
