#!/usr/bin/env bash
# Shapes the boot-test kernel's module tree like Alpine's, next to Debian's own:
#   KDIR/lib/modules/KVER              Debian's tree, untouched (signed, plain .ko): the source of the two below
#   KDIR/alpine/lib/modules/KVER       every module compressed with xz (a `*.ko` glob in a features.d file matches
#                                      nothing, as on Alpine), its appended signature removed, depmod'ed
#   KDIR/alpine-zst/lib/modules/KVER   the same modules compressed with zstd
# Each tree's .ready is written last. Usage: module-tree.sh KDIR KVER. Idempotent. Called by the kernel preparation.
# Why not Alpine's gzip (CONFIG_MODULE_COMPRESS_GZIP=y in aports main/linux-lts/lts.x86_64.config): Debian's kmod 30
# is built without zlib. kmod (the initramfs, and rootfs worlds with kmod) reads the zstd tree: its decompression
# costs a fraction of xz's under TCG; busybox's modprobe (rootfs worlds without kmod) cannot read zstd and gets xz.
# Why no signature: verifying ~40 RSA signatures costs ~0.5 s of TCG time per boot, and neither kernel enforces them
# (CONFIG_MODULE_SIG_FORCE unset in both), so an unsigned module loads exactly as a signed one does.
set -euo pipefail
kdir=${1:?usage: module-tree.sh KDIR KVER}
kver=${2:?usage: module-tree.sh KDIR KVER}
out=$kdir/alpine
src=$kdir/lib/modules/$kver
zst=$kdir/alpine-zst
if [ -e "$out/.ready" ]; then
  [ -e "$zst/.ready" ] && exit 0
  # the zstd tree from the xz one: decompress, recompress (no second signature pass)
  echo "module-tree: recompressing the modules with zstd (once)" >&2
  rm -rf "$zst" "$zst.tmp"
  mkdir -p "$zst.tmp/lib/modules"
  cp -a "$out/lib/modules/$kver" "$zst.tmp/lib/modules/$kver"
  find "$zst.tmp/lib/modules/$kver" -name '*.ko.xz' -print0 | xargs -0 -r -n 200 -P "$(nproc)" xz -d
  find "$zst.tmp/lib/modules/$kver" -name '*.ko' -print0 | xargs -0 -r -n 200 -P "$(nproc)" zstd -q --rm
  depmod -b "$zst.tmp" "$kver"
  touch "$zst.tmp/.ready"
  mv "$zst.tmp" "$zst"
  exit 0
fi
[ -f "$src/modules.dep" ] || { echo "module-tree: no $src/modules.dep" >&2; exit 1; }
echo "module-tree: compressing and unsigning $(find "$src" -name '*.ko' | wc -l) modules (once)" >&2
rm -rf "$out" "$out.tmp"
mkdir -p "$out.tmp/lib/modules"
cp -a "$src" "$out.tmp/lib/modules/$kver"

# struct module_signature (12 bytes, sig_len big-endian in its last 4) + "~Module signature appended~\n" (28 bytes)
# follow the signature itself at the end of a signed module (linux/module_signature.h)
unsign() {
  local magic='~Module signature appended~' f size len
  for f in "$@"; do
    [ "$(tail -c 28 "$f")" = "$magic" ] || continue
    size=$(stat -c %s "$f")
    len=$(tail -c 32 "$f" | head -c 4 | od -An -tu1 | awk '{ print ((($1 * 256) + $2) * 256 + $3) * 256 + $4 }')
    truncate -s $((size - 40 - len)) "$f"
  done
}
export -f unsign
find "$out.tmp/lib/modules/$kver" -name '*.ko' -print0 | xargs -0 -r -n 200 -P "$(nproc)" bash -c 'unsign "$@"' unsign
# -T1: one thread per file (xargs runs one xz per core); --check=crc32: what kmod and busybox both read
find "$out.tmp/lib/modules/$kver" -name '*.ko' -print0 | xargs -0 -r -n 100 -P "$(nproc)" xz -q -T1 --check=crc32
depmod -b "$out.tmp" "$kver"
touch "$out.tmp/.ready"
mv "$out.tmp" "$out"
exec bash "$0" "$kdir" "$kver" # and the zstd tree from it
