#!/usr/bin/env bash
# Prepares the boot-test stand-in for Alpine's kernel, once, under .cache/:
#   .cache/kernel/<kver>/            Debian's linux-image-<kver> unpacked (dpkg-deb -x, never installed)
#   .cache/kernel/<kver>/vmlinux     uncompressed ELF, booted via PVH (skips ~3 s of xz under TCG)
#   .cache/kernel/<kver>/.ready      written last: the tree is complete and depmod'ed
#   .cache/kernel/current            -> <kver>
#   .cache/boot/vfio-probe           static VFIO userspace probe (scripts/boot/guest/vfio-probe.c)
# Also installs the few Debian packages only the boot tests need (diskless medium tools).
# Idempotent: on a ready cache it does no network I/O and returns in well under a second.
# stdout stays empty; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=$root/.cache

einfo() { echo "setup-boot: $*" >&2; }
die() { echo "setup-boot: error: $*" >&2; exit 1; }

# --- 1. Tools only the boot tests need (mtools + dosfstools: the vfat boot medium of diskless scenarios)
declare -A want=([mtools]=/usr/bin/mcopy [dosfstools]=/usr/sbin/mkfs.vfat)
missing=()
for pkg in "${!want[@]}"; do [ -e "${want[$pkg]}" ] || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  einfo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
fi

# --- 2. Resolve the real kernel package behind the metapackage (offline: reads apt's local lists)
# apt-cache costs ~0.6 s, so the answer is remembered until apt's lists change (apt-get update renames files there)
resolved=$cache/kernel/resolved
if [ -s "$resolved" ] && [ "$resolved" -nt /var/lib/apt/lists ]; then
  pkg=$(cat "$resolved")
else
  meta_version=$(apt-cache policy linux-image-amd64 | awk '/Candidate:/ {print $2}')
  [ -n "$meta_version" ] && [ "$meta_version" != "(none)" ] || die "apt knows no linux-image-amd64 candidate (run apt-get update)"
  pkg=$(apt-cache show "linux-image-amd64=$meta_version" | awk -F': ' '/^Depends:/ {print $2; exit}' \
    | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*-amd64\).*/\1/p' | head -n 1)
  [ -n "$pkg" ] || die "cannot find linux-image-*-amd64 in the Depends of linux-image-amd64=$meta_version"
fi
kver=${pkg#linux-image-}
kdir=$cache/kernel/$kver

# --- 3. Kernel: download, unpack, extract vmlinux, depmod (skipped when .ready exists)
if [ ! -e "$kdir/.ready" ]; then
  tmp=$(mktemp -d "$cache/kernel-tmp.XXXXXX" 2>/dev/null || { mkdir -p "$cache" && mktemp -d "$cache/kernel-tmp.XXXXXX"; })
  trap 'rm -rf "$tmp"' EXIT
  einfo "downloading $pkg"
  chmod 0777 "$tmp" # apt-get download runs as _apt and must write here
  (cd "$tmp" && apt-get download -qq "$pkg" >&2)
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
  mkdir -p "$cache/kernel"
  rm -rf "$kdir"
  mv "$tmp/root" "$kdir"
  rm -rf "$tmp"
  trap - EXIT
fi
[ "$(readlink "$cache/kernel/current" 2>/dev/null)" = "$kver" ] || ln -sfn "$kver" "$cache/kernel/current"
[ -s "$resolved" ] && [ "$resolved" -nt /var/lib/apt/lists ] || echo "$pkg" > "$resolved"

# --- 4. The guest's static VFIO probe (rebuilt when its source changes)
src=$root/scripts/boot/guest/vfio-probe.c
probe=$cache/boot/vfio-probe
if [ ! -x "$probe" ] || [ "$src" -nt "$probe" ]; then
  einfo "building vfio-probe"
  mkdir -p "$cache/boot"
  gcc -static -O2 -Wall -s -o "$probe.tmp" "$src"
  mv "$probe.tmp" "$probe"
fi
