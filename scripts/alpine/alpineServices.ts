// Alpine's OpenRC services and the package whose -openrc subpackage ships /etc/init.d/<service>
// (apk installs the -openrc part with the package when openrc is present: install_if). One table:
// hostbake derives the package into the world when a service is listed, and refuses a service no
// known package provides unless the profile brings /etc/init.d/<service> itself.
// Sources: aports main/<pkg>/APKBUILD (and <pkg>.initd) for each row; busybox-openrc ships the busybox
// daemons; openrc ships its own scripts (networking runs ifup, which ifupdown-ng provides).

export const SERVICE_PACKAGES: Readonly<Record<string, string>> = {
  // alpine-base and its dependencies: openrc, busybox-openrc, busybox-mdev-openrc, alpine-conf
  devfs: 'openrc', dmesg: 'openrc', hwclock: 'openrc', swclock: 'openrc', modules: 'openrc', sysctl: 'openrc',
  hostname: 'openrc', bootmisc: 'openrc', 'mount-ro': 'openrc', killprocs: 'openrc', savecache: 'openrc',
  localmount: 'openrc', netmount: 'openrc', fsck: 'openrc', root: 'openrc', swap: 'openrc', urandom: 'openrc',
  seedrng: 'openrc', local: 'openrc', cgroups: 'openrc', hwdrivers: 'openrc', modloop: 'openrc',
  procfs: 'openrc', sysfs: 'openrc', termencoding: 'openrc', 'machine-id': 'openrc', osclock: 'openrc', 'save-keymaps': 'openrc',
  'save-termencoding': 'openrc', staticroute: 'openrc', numlock: 'openrc', consolefont: 'openrc', keymaps: 'openrc',
  mdev: 'busybox-mdev-openrc', syslog: 'busybox-openrc', klogd: 'busybox-openrc', crond: 'busybox-openrc', acpid: 'busybox-openrc',
  ntpd: 'busybox-openrc', udhcpd: 'busybox-openrc', watchdog: 'busybox-openrc', rdate: 'busybox-openrc', 'loadkmap': 'busybox-openrc',
  networking: 'ifupdown-ng',
  // common host services
  sshd: 'openssh', chronyd: 'chrony', dropbear: 'dropbear',
  libvirtd: 'libvirt-daemon', 'libvirt-guests': 'libvirt-daemon', virtlogd: 'libvirt-daemon', virtlockd: 'libvirt-daemon',
  dnsmasq: 'dnsmasq', nftables: 'nftables', iptables: 'iptables', ip6tables: 'iptables', dbus: 'dbus',
  udev: 'eudev', 'udev-trigger': 'eudev', 'udev-settle': 'eudev', 'udev-postmount': 'eudev',
  lvm: 'lvm2', dmcrypt: 'cryptsetup', 'mdadm-raid': 'mdadm', mdadm: 'mdadm',
  'qemu-guest-agent': 'qemu-guest-agent', docker: 'docker', containerd: 'containerd', podman: 'podman',
  nfs: 'nfs-utils', rpcbind: 'rpcbind', smartd: 'smartmontools', 'zfs-import': 'zfs', 'zfs-mount': 'zfs',
  wpa_supplicant: 'wpa_supplicant', 'avahi-daemon': 'avahi', cupsd: 'cups', nginx: 'nginx', haproxy: 'haproxy',
  tailscale: 'tailscale', openvpn: 'openvpn', unbound: 'unbound', rsyslog: 'rsyslog',
  'syslog-ng': 'syslog-ng', 'node-exporter': 'prometheus-node-exporter', 'zerotier-one': 'zerotier-one',
}

// Installed on every Alpine host (alpine-base's dependency tree): never added to the world for a service.
const BASE_PACKAGES = new Set(['openrc', 'busybox-openrc', 'busybox-mdev-openrc'])

export function packageForService(service: string): string | undefined {
  return Object.hasOwn(SERVICE_PACKAGES, service) ? SERVICE_PACKAGES[service] : undefined
}

export function isBasePackage(pkg: string): boolean {
  return BASE_PACKAGES.has(pkg)
}
