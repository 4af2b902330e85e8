#!/usr/bin/env bash
# Installs what hostbake's tests and benchmarks need, from Debian's packages only, and prepares the boot-test
# kernel into .cache/ (the project's own tests keep their cache there; users get ~/.cache/hostbake).
# Idempotent: a second run on a ready machine does no network I/O and takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# package -> a file it provides (checked instead of asking dpkg, which is slower)
declare -A want=(
  [libc6-dev]=/usr/lib/x86_64-linux-gnu/libc.a   # static libc for the guest's VFIO probe
  [libvirt-clients]=/usr/bin/virt-xml-validate   # libvirt itself validates the domain and pool XML
  [libxml2-utils]=/usr/bin/xmllint               # virt-xml-validate runs xmllint; JUnit reports are read back with it
  # hostbake image: remaster an Alpine ISO; the stand-in base ISO is built the way Alpine's mkimage builds it
  [xorriso]=/usr/bin/xorriso
  [isolinux]=/usr/lib/ISOLINUX/isolinux.bin
  [syslinux-common]=/usr/lib/syslinux/modules/bios/ldlinux.c32
  [mtools]=/usr/bin/mcopy
  [dosfstools]=/usr/sbin/mkfs.vfat
  [grub-common]=/usr/bin/grub-mkimage              # grub-mkimage builds the stand-in ISO's EFI loader; grub-mkconfig reads the /etc/default/grub we write
  [grub-efi-amd64-bin]=/usr/lib/grub/x86_64-efi/linux.mod
  [ovmf]=/usr/share/OVMF/OVMF_CODE.fd             # UEFI boots of the images
  [seabios]=/usr/share/seabios/bios-256k.bin       # BIOS boots (qemu-system-x86 depends on it)
  # hostbake pxe: its dnsmasq snippet is checked by dnsmasq itself (dnsmasq-base: the binary, no service)
  [dnsmasq-base]=/usr/sbin/dnsmasq
  [ipxe-qemu]=/usr/lib/ipxe/qemu/efi-virtio.rom     # QEMU's own iPXE ROM: the network boots
)
# what boot-test itself runs (scripts/boot/boot-tools.json: program -> package), found on PATH
while IFS=$'\t' read -r bin pkg; do
  command -v "$bin" >/dev/null 2>&1 || want[$pkg]=/nonexistent/$bin
done < <(node -e 'for (const [b, p] of Object.entries(require(process.argv[1]))) if (!b.startsWith("_")) console.log(`${b}\t${p}`)' "$PWD/scripts/boot/boot-tools.json")
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

# the boot-test kernel, the VFIO probe and ifupdown-ng (downloaded once through apt, cached under .cache/)
bash scripts/boot/prepare-kernel.sh .cache
