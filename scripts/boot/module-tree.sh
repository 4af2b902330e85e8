#!/usr/bin/env bash
# Shapes the boot-test kernel's module tree like Alpine's, next to Debian's own:
#   KDIR/lib/modules/KVER          Debian's tree, untouched (signed, plain .ko): HOSTBAKE_MODULE_TREE=debian boots it
#   KDIR/alpine/lib/modules/KVER   every module compressed (a `*.ko` glob in a features.d file matches nothing, as on
#                                  Alpine), its appended signature removed, depmod'ed; .ready written last
# Usage: module-tree.sh KDIR KVER. Idempotent (skips when .ready exists). Called by the kernel preparation.
# Why xz and not Alpine's gzip (CONFIG_MODULE_COMPRESS_GZIP=y in aports main/linux-lts/lts.x86_64.config): Debian's
# kmod 30 is built without zlib and cannot read .ko.gz; it reads .ko.xz, and so does busybox's modprobe.
# Why no signature: verifying ~40 RSA signatures costs ~0.5 s of TCG time per boot, and neither kernel enforces them
# (CONFIG_MODULE_SIG_FORCE unset in both), so an unsigned module loads exactly as a signed one does.
set -euo pipefail
kdir=${1:?usage: module-tree.sh KDIR KVER}
kver=${2:?usage: module-tree.sh KDIR KVER}
out=$kdir/alpine
[ -e "$out/.ready" ] && exit 0
src=$kdir/lib/modules/$kver
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
