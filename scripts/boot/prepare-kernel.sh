#!/usr/bin/env bash
# Prepares what boot-test boots, once, into a cache folder (hostbake boot-test --prepare; ci/setup.sh for our own tests):
#   CACHE/kernel/<kver>/            Debian's linux-image-<kver> unpacked (dpkg-deb -x, never installed)
#   CACHE/kernel/<kver>/vmlinux     uncompressed ELF, booted via PVH (skips ~3 s of xz under TCG)
#   CACHE/kernel/<kver>/.ready      written last: the tree is complete and depmod'ed
#   CACHE/kernel/current            -> <kver>
#   CACHE/boot/vfio-probe           static VFIO userspace probe (scripts/boot/guest/vfio-probe.c), needs gcc + libc6-dev
#   CACHE/tools/ifupdown-ng/        Alpine's network configurator, unpacked from Debian's package, never installed
# Usage: prepare-kernel.sh CACHE. Downloads only through apt (Debian's packages). Idempotent: on a ready cache it does no
# network I/O and returns in well under a second. stdout stays empty; progress goes to stderr.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: prepare-kernel.sh CACHE" >&2; exit 2; }
mkdir -p "$1"
cache=$(cd "$1" && pwd)
pkgroot=$(cd "$(dirname "$0")/../.." && pwd)

einfo() { echo "hostbake: prepare: $*" >&2; }
die() { echo "hostbake: prepare: error: $*" >&2; exit 1; }

# apt-get download runs as _apt and must be able to write where it downloads
apt_download() { # DIR PKG
  chmod 0777 "$1"
  (cd "$1" && apt-get download -qq "$2" >&2) || { apt-get update -qq >&2 && (cd "$1" && apt-get download -qq "$2" >&2); }
}

# --- 1. Resolve the real kernel package behind the metapackage (offline: reads apt's local lists)
# apt-cache costs ~0.6 s, so the answer is remembered until apt's lists change (apt-get update renames files there)
mkdir -p "$cache/kernel"
resolved=$cache/kernel/resolved
if [ -s "$resolved" ] && [ "$resolved" -nt /var/lib/apt/lists ]; then
  pkg=$(cat "$resolved")
else
  meta_version=$(apt-cache policy linux-image-amd64 | awk '/Candidate:/ {print $2}')
  if [ -z "$meta_version" ] || [ "$meta_version" = "(none)" ]; then
    apt-get update -qq >&2 || true
    meta_version=$(apt-cache policy linux-image-amd64 | awk '/Candidate:/ {print $2}')
  fi
  [ -n "$meta_version" ] && [ "$meta_version" != "(none)" ] || die "apt knows no linux-image-amd64 candidate (is this a Debian machine? run apt-get update)"
  pkg=$(apt-cache show "linux-image-amd64=$meta_version" | awk -F': ' '/^Depends:/ {print $2; exit}' \
    | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*-amd64\).*/\1/p' | head -n 1)
  [ -n "$pkg" ] || die "cannot find linux-image-*-amd64 in the Depends of linux-image-amd64=$meta_version"
fi
kver=${pkg#linux-image-}
kdir=$cache/kernel/$kver

# --- 2. Kernel: download, unpack, extract vmlinux, depmod (skipped when .ready exists)
if [ ! -e "$kdir/.ready" ]; then
  tmp=$(mktemp -d "$cache/kernel-tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  einfo "downloading $pkg"
  apt_download "$tmp" "$pkg"
  deb=$(ls "$tmp"/*.deb)
  einfo "unpacking $(basename "$deb")"
  mkdir -p "$tmp/root"
  dpkg-deb -x "$deb" "$tmp/root"
  vmlinuz=$tmp/root/boot/vmlinuz-$kver
  [ -f "$vmlinuz" ] || die "$vmlinuz missing in $deb"
  # bzImage payload is xz; the first xz stream magic is the compressed vmlinux (see qemu-testing.md)
  einfo "extracting vmlinux"
  off=$(LC_ALL=C grep -obUaP -m 1 '\xfd7zXZ\x00' "$vmlinuz" | head -n 1 | cut -d: -f1 || true)
  [ -n "$off" ] || die "no xz stream in $vmlinuz"
  tail -c +$((off + 1)) "$vmlinuz" | xz -dc --single-stream > "$tmp/root/vmlinux" 2>/dev/null || true
  [ "$(head -c 4 "$tmp/root/vmlinux" | tail -c 3)" = ELF ] || die "extracted vmlinux is not an ELF file"
  einfo "depmod $kver"
  depmod -b "$tmp/root" "$kver"
  rm -f "$deb"
  touch "$tmp/root/.ready"
  rm -rf "$kdir"
  mv "$tmp/root" "$kdir"
  rm -rf "$tmp"
  trap - EXIT
fi
# Alpine's module files: compressed and unsigned, next to Debian's tree (module-tree.sh)
bash "$(dirname "$0")/module-tree.sh" "$kdir" "$kver"
[ "$(readlink "$cache/kernel/current" 2>/dev/null)" = "$kver" ] || ln -sfn "$kver" "$cache/kernel/current"
[ -s "$resolved" ] && [ "$resolved" -nt /var/lib/apt/lists ] || echo "$pkg" > "$resolved"

# --- 3. The guest's static VFIO probe (rebuilt when its source changes)
src=$pkgroot/scripts/boot/guest/vfio-probe.c
probe=$cache/boot/vfio-probe
if [ ! -x "$probe" ] || [ "$src" -nt "$probe" ]; then
  einfo "building vfio-probe"
  mkdir -p "$cache/boot"
  [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || die "building the VFIO probe needs a static libc: apt-get install libc6-dev"
  gcc -static -O2 -Wall -s -o "$probe.tmp" "$src"
  mv "$probe.tmp" "$probe"
fi

# --- 4. ifupdown-ng, which Alpine's base system configures networks with: the guest brings the bridge up with it.
# Unpacked, never installed: it would replace a Debian host's own ifupdown.
ifng=$cache/tools/ifupdown-ng
if [ ! -x "$ifng/sbin/ifquery" ]; then
  einfo "unpacking ifupdown-ng into $ifng"
  tmp=$(mktemp -d "$cache/ifng-tmp.XXXXXX")
  apt_download "$tmp" ifupdown-ng
  rm -rf "$ifng" && mkdir -p "$ifng" && dpkg-deb -x "$tmp"/ifupdown-ng_*.deb "$ifng"
  rm -rf "$tmp"
fi
