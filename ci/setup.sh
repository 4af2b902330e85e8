#!/usr/bin/env bash
# Installs what hostbake's tests and benchmarks need, from Debian's packages only.
# Idempotent: a second run on a ready machine does no network I/O and takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# package -> a file it provides (checked instead of asking dpkg, which is slower)
declare -A want=(
  [busybox-static]=/bin/busybox           # the tar Alpine's initramfs uses; the guest's userland
  [kmod]=/usr/bin/kmod                    # real modprobe/depmod to read our modprobe.d
  [qemu-system-x86]=/usr/bin/qemu-system-x86_64
  [libc6-dev]=/usr/lib/x86_64-linux-gnu/libc.a   # static libc for the guest's VFIO probe
  [gcc]=/usr/bin/gcc
  [cpio]=/usr/bin/cpio
  [xz-utils]=/usr/bin/xz
  [squashfs-tools]=/usr/bin/unsquashfs   # --modloop: Alpine's modloop is a squashfs
  [libvirt-clients]=/usr/bin/virt-xml-validate   # libvirt itself validates the domain and pool XML
  [libxml2-utils]=/usr/bin/xmllint               # virt-xml-validate runs xmllint
  # hostbake image: remaster an Alpine ISO; the stand-in base ISO is built the way Alpine's mkimage builds it
  [xorriso]=/usr/bin/xorriso
  [isolinux]=/usr/lib/ISOLINUX/isolinux.bin
  [syslinux-common]=/usr/lib/syslinux/modules/bios/ldlinux.c32
  [mtools]=/usr/bin/mcopy
  [dosfstools]=/usr/sbin/mkfs.vfat
  [grub-common]=/usr/bin/grub-mkimage
  [grub-efi-amd64-bin]=/usr/lib/grub/x86_64-efi/linux.mod
  [ovmf]=/usr/share/OVMF/OVMF_CODE.fd             # UEFI boots of the images
  [seabios]=/usr/share/seabios/bios-256k.bin       # BIOS boots (qemu-system-x86 depends on it)
)
missing=()
for pkg in "${!want[@]}"; do
  [ -e "${want[$pkg]}" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# ifupdown-ng, Alpine's network configurator, reads the generated /etc/network/interfaces in the tests.
# Unpacked under .cache/tools, never installed: it would replace a Debian host's own ifupdown.
ifng=.cache/tools/ifupdown-ng
if [ ! -x "$ifng/sbin/ifquery" ]; then
  echo "setup: unpacking ifupdown-ng into $ifng" >&2
  tmp=$(mktemp -d) && chmod 777 "$tmp" # apt downloads as _apt
  (cd "$tmp" && apt-get download -qq ifupdown-ng >&2) || { apt-get update -qq >&2 && (cd "$tmp" && apt-get download -qq ifupdown-ng >&2); }
  rm -rf "$ifng" && mkdir -p "$ifng" && dpkg-deb -x "$tmp"/ifupdown-ng_*.deb "$ifng"
  rm -rf "$tmp"
fi

# The boot-test kernel (downloaded once, cached under .cache/)
if [ -x ci/setup-boot.sh ]; then
  bash ci/setup-boot.sh
fi
