#!/bin/sh
# hostbake guest /init: a stand-in for Alpine's initramfs-init + the rootfs services that touch modules,
# followed by the guest's own checks. Stages, in Alpine's order:
#   1. initramfs: `modules=` from /proc/cmdline loaded before coldplug; coldplug every modalias (nlplug-findfs)
#   2. root: sys installs mount root= (an ext4 disk holding the overlay as installed) read-only, as initramfs-init
#      does; diskless: apkovl= or the first *.apkovl.tar.gz at the top level of a boot medium, busybox tar -xzf
#      into a tmpfs
#   3. rootfs: runlevel / .default_boot_services rule; sysinit: the overlay's own services (OpenRC's rules:
#      executable only, depend() before/after hwdrivers), modloop + hwdrivers; boot modules (/etc/modules), run
#      chrooted into the sysroot with the modprobe the overlay's world would install (kmod or busybox)
#   4. checks: PASS/FAIL lines, then the sentinel `hostbake-guest: N passed, N failed`, then poweroff.
# Expected values come from /etc/hostbake/expect (written by the harness), never from the overlay.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
P=hostbake-guest
# Debian's busybox-static runs its own applets before $PATH (`modprobe` would be busybox's, which ignores
# softdep/install): every modprobe is called as /sbin/modprobe, which is kmod here and kmod-or-busybox in the sysroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# keep kernel messages off the console while we print the report (dmesg still has them)
echo 1 >/proc/sys/kernel/printk
KVER=$(uname -r)
say() { echo "$P: $*"; }
# a medium's image (stand-in ISO) carries no expectations: the harness hands them over through QEMU's fw_cfg
if [ ! -f /etc/hostbake/expect ]; then
  mkdir -p /etc/hostbake
  /sbin/modprobe -q qemu_fw_cfg
  cat /sys/firmware/qemu_fw_cfg/by_name/opt/hostbake/expect/raw >/etc/hostbake/expect 2>/dev/null
fi
. /etc/hostbake/expect
# TCG caches translated guest code by virtual address: with ASLR every exec of a dynamic binary (kmod, ifupdown)
# maps its libraries elsewhere and is translated anew (measured: kmod --version 80 -> 43 ms, /bin/true 65 -> 29 ms).
# Address layout touches no module loading or binding; HARNESS_ASLR=1 is the bench's baseline
[ "$HARNESS_ASLR" = 1 ] || echo 0 >/proc/sys/kernel/randomize_va_space
# the report goes to the serial port even when the menu's command line has no console=ttyS0
grep -q 'console=ttyS0' /proc/cmdline || exec >/dev/ttyS0 2>&1

# --- cmdline, parsed like initramfs-init (only the options we emulate)
KOPT_modules= KOPT_apkovl= KOPT_root= KOPT_rootfstype= KOPT_ip= KOPT_BOOTIF= KOPT_alpine_repo= KOPT_modloop=
for opt in $(cat /proc/cmdline); do
  case "$opt" in
    modules=*) KOPT_modules=${opt#modules=} ;;
    apkovl=*) KOPT_apkovl=${opt#apkovl=} ;;
    root=*) KOPT_root=${opt#root=} ;;
    rootfstype=*) KOPT_rootfstype=${opt#rootfstype=} ;;
    ip=*) KOPT_ip=${opt#ip=} ;;
    BOOTIF=*) KOPT_BOOTIF=${opt#BOOTIF=} ;;
    alpine_repo=*) KOPT_alpine_repo=${opt#alpine_repo=} ;;
    modloop=*) KOPT_modloop=${opt#modloop=} ;;
  esac
done

# --- 1. initramfs stage
say "stage initramfs $(cut -d' ' -f1 /proc/uptime)"
# initramfs-init: modprobe -a $modules $rootfstype loop squashfs simpledrm, failures silent
/sbin/modprobe -a $(echo "$KOPT_modules" | tr ',' ' ') $KOPT_rootfstype loop squashfs simpledrm 2>/dev/null
STAGE1_MODULES=$(ls /sys/module)
# nlplug-findfs: libkmod probe for every device's MODALIAS (blacklist applied), again for devices that appear
# meanwhile; one kmod call per round instead of one per device (each kmod start costs ~30 ms under TCG)
coldplug() {
  _n=0 _seen=
  while [ $_n -lt 4 ]; do
    _all=$(cat /sys/bus/*/devices/*/modalias 2>/dev/null | sort -u)
    [ "$_all" = "$_seen" ] && break
    _seen=$_all
    /sbin/modprobe -b -q -a $_all 2>/dev/null
    _n=$((_n + 1))
  done
}
coldplug

# --- 1b. network (initramfs-init is_url/configure_ip, L386, L219-298): when ip= is set or apkovl=/alpine_repo= is a URL
is_url() { case "$1" in http://*|https://*|ftp://*) return 0 ;; esac; return 1; }
NET_IFACE= MAC_ADDRESS=
configure_ip() {
  case "$KOPT_ip" in none|off) return ;; esac
  # ip=client:server:gw:mask:host:DEVICE:autoconf (only DHCP emulated); ip=dhcp has no device field
  _dev=$(echo "$KOPT_ip" | cut -s -d: -f6)
  # BOOTIF=01-aa-bb-..: matched case-sensitively against sysfs, as initramfs-init's grep -l does (L244-247)
  if [ -z "$_dev" ] && [ -n "$KOPT_BOOTIF" ]; then
    _mac=$(echo "$KOPT_BOOTIF" | sed 's/^01-//;s/-/:/g')
    _f=$(grep -l "$_mac" /sys/class/net/*/address 2>/dev/null | head -n 1)
    [ -n "$_f" ] && { _dev=${_f%/address}; _dev=${_dev##*/}; }
  fi
  [ -z "$_dev" ] && for _i in /sys/class/net/*; do [ "${_i##*/}" = lo ] || { _dev=${_i##*/}; break; }; done
  [ -n "$_dev" ] || return
  mkdir -p /usr/share/udhcpc
  # stand-in for Alpine's udhcpc default.script: address and default route of the lease
  printf '#!/bin/sh\ncase "$1" in bound|renew) ip addr add $ip/${mask:-24} dev $interface; [ -n "$router" ] && ip route add default via ${router%%%% *} dev $interface;; esac\nexit 0\n' >/usr/share/udhcpc/default.script
  chmod 755 /usr/share/udhcpc/default.script
  ip link set dev lo up
  ip link set dev "$_dev" up
  # Alpine runs `udhcpc -i $iface -f -q` and waits forever without a lease; the stand-in gives up after ~10 s
  udhcpc -i "$_dev" -f -q -n -t 10 -T 1 -s /usr/share/udhcpc/default.script >/tmp/udhcpc.log 2>&1
  NET_IFACE=$_dev
  MAC_ADDRESS=$(cat /sys/class/net/$_dev/address)
}
if [ -n "$KOPT_ip" ] || is_url "$KOPT_apkovl" || is_url "$KOPT_alpine_repo"; then
  configure_ip
  say "stage network ${NET_IFACE:-none} ${MAC_ADDRESS:-} $(ip -4 -o addr show dev "${NET_IFACE:-lo}" 2>/dev/null | awk '{print $4}') $(cut -d' ' -f1 /proc/uptime)"
fi

# --- 2. find the apkovl (nlplug-findfs: top level of every block device, first match wins)
OVL=
mkdir -p /media
find_apkovl_on_media() {
  for b in /sys/class/block/*; do
    d=${b##*/}
    case "$d" in loop*|ram*) continue ;; esac
    mnt=/media/$d
    grep -q " $mnt " /proc/mounts && continue
    mkdir -p "$mnt"
    for fs in vfat iso9660 ext4; do mount -t $fs -o ro "/dev/$d" "$mnt" 2>/dev/null && break; done
    grep -q " $mnt " /proc/mounts || { rmdir "$mnt"; continue; }
    for f in "$mnt"/*.apkovl.tar.gz; do
      [ -f "$f" ] && { OVL=$f; echo "$d" >/tmp/ovl-dev; return 0; }
    done
    umount "$mnt"; rmdir "$mnt"
  done
  return 1
}
if is_url "$KOPT_apkovl"; then
  # initramfs-init L887-893: {MAC} of the configured NIC (first occurrence), {UUID} from SMBIOS; a 404 empties ovl
  MACHINE_UUID=$(cat /sys/class/dmi/id/product_uuid 2>/dev/null)
  OVL_URL=$(echo "$KOPT_apkovl" | sed -e "s/{MAC}/$MAC_ADDRESS/" -e "s/{UUID}/$MACHINE_UUID/")
  OVL="/tmp/${OVL_URL##*/}"; OVL="${OVL%%\?*}"
  # busybox 1.35's wget -T segfaults (qemu-testing §6): bounded by timeout instead
  timeout 30 wget -q -O "$OVL" "$OVL_URL" 2>/tmp/wget-apkovl.log || { rm -f "$OVL"; OVL=; }
elif [ -n "$KOPT_apkovl" ]; then
  OVL=$KOPT_apkovl
elif [ "$EXPECT_MEDIUM" = disk ] || [ "$EXPECT_MEDIUM" = image ]; then
  # block devices appear asynchronously after their driver probes; nlplug-findfs waits on uevents
  i=0
  until find_apkovl_on_media || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
elif [ "$EXPECT_MEDIUM" = initrd ]; then
  # initrd medium: the harness ships the overlay inside the initramfs
  for f in /hostbake/root/*.apkovl.tar.gz; do [ -f "$f" ] && OVL=$f; done
fi
say "stage apkovl ${OVL:-none} $(cut -d' ' -f1 /proc/uptime)"

# --- 3. rootfs stage
SYSROOT=/sysroot
mkdir -p $SYSROOT
OVL_OK=0 ROOT_DETAIL=
if [ "$EXPECT_MEDIUM" = root ]; then
  # sys install: initramfs-init mounts root= read-only (nlplug-findfs waits for the device), then switch_root.
  # The stand-in stays PID 1 in the initramfs (its checks need its own userland) and chroots instead.
  i=0 dev=
  until [ -n "$dev" ] || [ $i -ge 30 ]; do
    case "$KOPT_root" in
      UUID=*|LABEL=*) dev=$(findfs "$KOPT_root" 2>/dev/null) ;;
      /dev/*) [ -b "$KOPT_root" ] && dev=$KOPT_root ;;
    esac
    [ -n "$dev" ] || { sleep 0.1; i=$((i + 1)); }
  done
  if [ -z "$dev" ]; then
    ROOT_DETAIL="root=$KOPT_root: no such block device (disk driver not in the initramfs?)"
  elif mount ${KOPT_rootfstype:+-t $KOPT_rootfstype} -o ro "$dev" $SYSROOT 2>/tmp/mount.err; then
    # the stand-in writes its userland into the sysroot: rw from here on (OpenRC's root service does that too)
    mount -o remount,rw $SYSROOT && OVL_OK=1 && ROOT_DETAIL="root=$KOPT_root ($dev) mounted"
  else
    grep -qw ext4 /proc/filesystems || ROOT_DETAIL=" (no ext4 in the kernel: not in the initramfs features?)"
    ROOT_DETAIL="root=$KOPT_root ($dev): $(cat /tmp/mount.err)$ROOT_DETAIL"
  fi
else
  mount -t tmpfs -o mode=0755 root $SYSROOT
  if [ -n "$OVL" ] && [ -f "$OVL" ]; then
    case "$OVL" in
      *.gz) tar -C $SYSROOT -zxvf "$OVL" >/tmp/ovlfiles && OVL_OK=1 ;;
    esac
  fi
fi
HAD_MARKER=0 HAD_SYSINIT=0 SYSINIT= OWN_PRE= OWN_POST= OWN_SKIPPED=
if [ $OVL_OK = 1 ] || [ "$EXPECT_MEDIUM" != root ]; then
# initramfs-init: default runlevels only with the marker (or without any apkovl); marker removed afterwards
[ -f $SYSROOT/etc/.default_boot_services ] && HAD_MARKER=1
# the links dangle until packages are installed: test with -L, not through ls/stat
for l in $SYSROOT/etc/runlevels/sysinit/*; do { [ -L "$l" ] || [ -e "$l" ]; } && HAD_SYSINIT=1 SYSINIT="$SYSINIT ${l##*/}"; done
rc_add() { mkdir -p $SYSROOT/etc/runlevels/$2; ln -sf /etc/init.d/$1 $SYSROOT/etc/runlevels/$2/$1; }
if [ $HAD_MARKER = 1 ] || [ $OVL_OK = 0 ]; then
  for s in devfs dmesg mdev hwdrivers modloop; do rc_add $s sysinit; done
  for s in modules sysctl hostname bootmisc syslog; do rc_add $s boot; done
  for s in mount-ro killprocs savecache; do rc_add $s shutdown; done
  rc_add firstboot default
  rm -f $SYSROOT/etc/.default_boot_services
fi
# OpenRC resolves a runlevel entry by its name (the link's target, absolute or relative, does not matter)
in_runlevel() { [ -L $SYSROOT/etc/runlevels/$2/$1 ] || [ -e $SYSROOT/etc/runlevels/$2/$1 ]; }

# the packages the rootfs would have: busybox always; kmod's modprobe only if the world asks for kmod
# (symlink farms prebuilt by the harness; -n: files from the overlay win, as with apk)
ROOT_MODPROBE=busybox
grep -qx 'kmod\([<>=~].*\)\?' $SYSROOT/etc/apk/world 2>/dev/null && ROOT_MODPROBE=kmod
cp -an /hostbake/rootfs-$ROOT_MODPROBE/* $SYSROOT/
mkdir -p $SYSROOT/proc $SYSROOT/sys $SYSROOT/dev $SYSROOT/tmp $SYSROOT/run $SYSROOT/lib/modules \
  $SYSROOT/lib/x86_64-linux-gnu $SYSROOT/lib64 $SYSROOT/hostbake/bin
mount --bind /bin $SYSROOT/hostbake/bin
mount --bind /lib/x86_64-linux-gnu $SYSROOT/lib/x86_64-linux-gnu
mount --bind /lib64 $SYSROOT/lib64
mount --bind /proc $SYSROOT/proc
mount --bind /sys $SYSROOT/sys
mount --bind /dev $SYSROOT/dev
say "stage rootfs $(cut -d' ' -f1 /proc/uptime)"
# sysinit modloop: the whole module tree of the kernel (virtio-9p share standing in for modloop's squashfs)
if in_runlevel modloop sysinit; then
  mkdir -p /.modloop
  /sbin/modprobe -q 9pnet_virtio
  /sbin/modprobe -q 9p
  if mount -t 9p -o trans=virtio,version=9p2000.L,ro modloop /.modloop 2>/dev/null; then
    # the share may hold the tree in two formats: kmod's, and one busybox's modprobe reads
    tree=$EXPECT_MODLOOP_KMOD; [ $ROOT_MODPROBE = busybox ] && tree=$EXPECT_MODLOOP_BUSYBOX
    mount --bind /.modloop/${tree:-.} $SYSROOT/lib/modules
  elif is_url "$KOPT_modloop"; then
    # netboot: Alpine's modloop service fetches modloop=http://... with `wget -P /lib` and loop-mounts it (MODLOOP)
    timeout 60 wget -q -O /lib/${KOPT_modloop##*/} "$KOPT_modloop" 2>/tmp/wget-modloop.log \
      && mount -t squashfs -o loop,ro /lib/${KOPT_modloop##*/} /.modloop 2>/dev/null \
      && [ -d /.modloop/modules/$KVER ] && mount --bind /.modloop/modules $SYSROOT/lib/modules && MODLOOP=$KOPT_modloop
  else
    # a medium (ISO/USB): Alpine's modloop service mounts the squashfs under <medium>/boot/ that holds modules/$(uname -r)
    for m in /media/*/boot/modloop-*; do
      [ -f "$m" ] || continue
      mount -t squashfs -o loop,ro "$m" /.modloop 2>/dev/null || continue
      [ -d /.modloop/modules/$KVER ] && { mount --bind /.modloop/modules $SYSROOT/lib/modules; MODLOOP=$m; break; }
      umount /.modloop
    done
  fi
fi
# after switch_root the kernel's module autoloading (request_module: ip link add type bridge, ...) runs the
# rootfs's /sbin/modprobe over the modloop; this rootfs is a chroot, so point the kernel at it
printf '#!/bin/sh\nexec chroot %s /sbin/modprobe "$@"\n' $SYSROOT > /hostbake/modprobe-rootfs
chmod 755 /hostbake/modprobe-rootfs
echo /hostbake/modprobe-rootfs > /proc/sys/kernel/modprobe
say "stage modloop modprobe=$ROOT_MODPROBE $(cut -d' ' -f1 /proc/uptime)"
# sysinit services the overlay brings itself (Alpine's own come from packages), with OpenRC's rules: an entry is
# a service by name; a script that is not executable does not run (librc rc_service_exists wants an x bit);
# depend()'s `before hwdrivers` (or `before *`) runs it before hwdrivers, anything else after it.
for l in $SYSROOT/etc/runlevels/sysinit/*; do
  svc=${l##*/}
  { [ -L "$l" ] || [ -e "$l" ]; } && [ -f $SYSROOT/etc/init.d/$svc ] || continue
  head -n 1 $SYSROOT/etc/init.d/$svc | grep -q openrc-run || continue
  if [ ! -x $SYSROOT/etc/init.d/$svc ]; then OWN_SKIPPED="$OWN_SKIPPED $svc"; continue; fi
  deps=$(chroot $SYSROOT /bin/sh -c 'for k in before after need use want provide keyword config; do eval "$k() { echo $k \$*; }"; done
    . /etc/init.d/'"$svc"' >/dev/null 2>&1; command -v depend >/dev/null && depend' 2>/dev/null | sed -n 's/^before //p' | tr ' ' '\n')
  if echo "$deps" | grep -qx 'hwdrivers\|\*'; then OWN_PRE="$OWN_PRE $svc"; else OWN_POST="$OWN_POST $svc"; fi
done
run_own() {
  for svc in "$@"; do
    say "stage service-$svc $(cut -d' ' -f1 /proc/uptime)"
    chroot $SYSROOT /bin/sh -c 'ebegin() { echo "* $*"; }; eend() { return $1; }; . /etc/init.d/'"$svc"'; start' >>/tmp/rootfs.log 2>&1
  done
}
run_own $OWN_PRE
# sysinit hwdrivers: every modalias through modprobe -b -a, twice
if in_runlevel hwdrivers sysinit; then
  # hwdrivers runs `find /sys -name modalias | xargs sort -u | xargs modprobe -b -a`; walking all of /sys
  # takes seconds under TCG, and every modalias file is reachable as /sys/bus/*/devices/*/modalias.
  # The second pass only matters when the first made new devices appear (same aliases: same no-op result).
  _seen=
  for pass in 1 2; do
    _all=$(cat /sys/bus/*/devices/*/modalias 2>/dev/null | sort -u)
    [ "$_all" = "$_seen" ] && break
    _seen=$_all
    chroot $SYSROOT /bin/sh -c 'cat /sys/bus/*/devices/*/modalias | sort -u | xargs /sbin/modprobe -b -a' >>/tmp/rootfs.log 2>&1
  done
fi
run_own $OWN_POST
say "stage modules $(cut -d' ' -f1 /proc/uptime)"
# boot modules: Alpine's modules.initd (# to end of line stripped, `modprobe -q module args`)
if in_runlevel modules boot; then
  chroot $SYSROOT /bin/sh -c '
    for f in /lib/modules-load.d/*.conf /usr/lib/modules-load.d/*.conf /etc/modules /etc/modules-load.d/*.conf; do
      [ -f "$f" ] || continue
      sed "s/#.*//" "$f" | while read -r m args; do [ -n "$m" ] && /sbin/modprobe -q "$m" $args; done
    done' >>/tmp/rootfs.log 2>&1
fi
# boot hostname: Alpine's hostname.initd sets it from /etc/hostname (networking's dhcp-hostname reads it)
in_runlevel hostname boot && [ -f $SYSROOT/etc/hostname ] && hostname -F $SYSROOT/etc/hostname
# boot networking: Alpine's networking.initd brings up /etc/network/interfaces with ifupdown-ng (`ifup -a`)
if in_runlevel networking boot && [ -f $SYSROOT/etc/network/interfaces ]; then
  say "stage networking $(cut -d' ' -f1 /proc/uptime)"
  chroot $SYSROOT /bin/sh -c 'mkdir -p /run /var/run; timeout 20 /sbin/ifup -a' >>/tmp/rootfs.log 2>&1
fi
fi # OVL_OK: an unmountable root stops at initramfs-init's emergency shell
say "stage checks $(cut -d' ' -f1 /proc/uptime)"

# --- 4. checks
PASSED=0 FAILED=0
check() { # check NAME CONDITION-EXIT-STATUS DETAIL
  if [ "$2" = 0 ]; then PASSED=$((PASSED + 1)); say "PASS $1 $3"; else FAILED=$((FAILED + 1)); say "FAIL $1 $3"; fi
}

if [ "$EXPECT_MEDIUM" = root ]; then
  [ $OVL_OK = 1 ]; check root_mounted $? "$ROOT_DETAIL"
else
  [ $OVL_OK = 1 ]; check apkovl_unpacked $? "${OVL:-not found}"
fi
# netboot: the overlay came from the URL the host's own MAC makes, and the modloop from modloop=
if [ -n "$EXPECT_APKOVL_URL" ]; then
  [ "$OVL_URL" = "$EXPECT_APKOVL_URL" ] && [ $OVL_OK = 1 ]; check apkovl_fetched $? "${OVL_URL:-no URL} ($(tail -n 1 /tmp/wget-apkovl.log 2>/dev/null || echo ok)) expected $EXPECT_APKOVL_URL"
  _h=$(cat $SYSROOT/etc/hostname 2>/dev/null)
  [ "$_h" = "$EXPECT_HOSTNAME" ]; check overlay_hostname $? "${_h:-no etc/hostname} (expected $EXPECT_HOSTNAME)"
  [ -n "$MODLOOP" ]; check modloop_fetched $? "${MODLOOP:-modloop=$KOPT_modloop not mounted: $(tail -n 1 /tmp/wget-modloop.log 2>/dev/null)}"
fi
if [ "$EXPECT_MEDIUM" = image ]; then
  case "$OVL" in /media/*) true ;; *) false ;; esac; check apkovl_on_medium $? "${OVL:-none}${MODLOOP:+, modloop $MODLOOP}"
fi
# the supplementary initramfs (hostbake image) leaves its marker; the rescue entry must boot without it
if [ -n "$EXPECT_SUPPLEMENT" ]; then
  have=$(cat /etc/hostbake/supplement 2>/dev/null)
  if [ "$EXPECT_SUPPLEMENT" = none ]; then [ -z "$have" ]; else case "$have" in "host=$EXPECT_SUPPLEMENT "*) true ;; *) false ;; esac; fi
  check supplement_applied $? "${have:-no /etc/hostbake/supplement} (expected ${EXPECT_SUPPLEMENT})"
fi
# the boot menu's options reached the kernel (bootloaders may add BOOT_IMAGE= and initrd=)
if [ -n "$EXPECT_CMDLINE" ]; then
  case " $(cat /proc/cmdline) " in *" $EXPECT_CMDLINE "*) true ;; *) false ;; esac
  check cmdline_menu $? "$(cat /proc/cmdline)"
fi
if [ $HAD_MARKER = 1 ]; then check boot_services 0 "etc/.default_boot_services present"
elif [ $HAD_SYSINIT = 1 ]; then check boot_services 0 "sysinit:$SYSINIT"
else check boot_services 1 "overlay has neither etc/.default_boot_services nor etc/runlevels/sysinit links: no devfs/mdev/hwdrivers/modloop"
fi
# the overlay's own sysinit services: OpenRC skips a script without an x bit; the ones the harness was told must
# precede hwdrivers (EXPECT_BEFORE_HWDRIVERS, e.g. hostbake-guard) must declare it in depend()
for svc in $OWN_SKIPPED; do check "service_$svc" 1 "etc/init.d/$svc is not executable: OpenRC does not run it"; done
for svc in $OWN_PRE; do check "service_$svc" 0 "ran before hwdrivers"; done
for svc in $OWN_POST; do
  case " $EXPECT_BEFORE_HWDRIVERS " in
    *" $svc "*) check "service_$svc" 1 "ran after hwdrivers (its depend() has no 'before hwdrivers'): host drivers load first" ;;
    *) check "service_$svc" 0 "ran after hwdrivers" ;;
  esac
done
for svc in $EXPECT_BEFORE_HWDRIVERS; do
  case " $OWN_SKIPPED $OWN_PRE $OWN_POST " in *" $svc "*) ;; *) check "service_$svc" 1 "not in the sysinit runlevel, or not an openrc-run script" ;; esac
done
missing=
for f in $EXPECT_INITRAMFS_FILES; do [ -e "$f" ] || missing="$missing $f"; done
[ -z "$missing" ]; check initramfs_files $? "${missing:-${EXPECT_INITRAMFS_FILES:-none listed}}"
missing=
for m in $(echo "$KOPT_modules" | tr ',' ' '); do
  echo "$STAGE1_MODULES" | grep -qx "$(echo "$m" | tr - _)" || missing="$missing $m"
done
if [ -z "$missing" ]; then check initramfs_modules 0 "modules=$KOPT_modules"
else check initramfs_modules 1 "not loaded from initramfs:$missing (mkinitfs features: ${EXPECT_FEATURES:-none}${EXPECT_UNMATCHED:+; lines selecting nothing: $EXPECT_UNMATCHED})"; fi

# the rescue entry drops the IOMMU options: whether an IOMMU comes up is then the kernel's default, not a claim
[ "$EXPECT_RESCUE" = 1 ] || case "$EXPECT_IOMMU" in
  intel) [ -e /sys/class/iommu/dmar0 ]; check iommu_on $? "/sys/class/iommu: $(ls /sys/class/iommu | tr '\n' ' ')" ;;
  amd) [ -e /sys/class/iommu/ivhd0 ]; check iommu_on $? "/sys/class/iommu: $(ls /sys/class/iommu | tr '\n' ' ')" ;;
  *) [ -n "$(ls /sys/class/iommu)" ]; check iommu_on $? "/sys/class/iommu: $(ls /sys/class/iommu | tr '\n' ' ')" ;;
esac
ngroups=$(ls /sys/kernel/iommu_groups | wc -l)
[ "$EXPECT_RESCUE" = 1 ] || { [ "$ngroups" -gt 0 ]; check iommu_groups $? "$ngroups groups"; }
if grep -qw 'iommu=pt' /proc/cmdline; then
  dmesg | grep -q 'iommu: Default domain type: Passthrough'; check iommu_passthrough $? "$(dmesg | grep -o 'Default domain type: [A-Za-z]*' | head -n 1)"
fi

# one pass over the PCI devices (id, class, driver, group per address); the checks below then use no forks,
# which matters under TCG where each costs ~5 ms
PCI=
for d in /sys/bus/pci/devices/*; do
  a=${d##*/} k=${d##*/}; k=${k//[:.]/_}
  read -r v <$d/vendor; read -r dv <$d/device; read -r c <$d/class
  drv=none; [ -e $d/driver ] && { l=$(readlink $d/driver); drv=${l##*/}; }
  g=; [ -e $d/iommu_group ] && { l=$(readlink $d/iommu_group); g=${l##*/}; }
  eval "ID_$k=${v#0x}:${dv#0x} CLS_$k=$c DRV_$k=$drv GRP_$k=$g"
  PCI="$PCI $a"
done
info() { _k=${1//[:.]/_}; eval "id=\$ID_$_k cls=\$CLS_$_k drv=\${DRV_$_k:-none} grp=\$GRP_$_k"; }
members() { _m=; for _d in /sys/kernel/iommu_groups/$1/devices/*; do [ -e "$_d" ] && _m="$_m ${_d##*/}"; done; echo $_m; }

# passthrough set: devices whose vendor:device is in the ids, plus the addresses
PT=
for a in $PCI; do
  info $a
  for e in $EXPECT_IDS; do [ "$e" = "$id" ] && PT="$PT $a"; done
done
for e in $EXPECT_ADDRS; do
  case " $PCI " in *" $e "*) ;; *) check "device_present_$e" 1 "no such PCI device"; continue ;; esac
  case " $PT " in *" $e "*) ;; *) PT="$PT $e" ;; esac
done
for e in $EXPECT_IDS; do
  n=0
  for a in $PT; do info $a; [ "$id" = "$e" ] && n=1; done
  [ $n = 1 ] || check "device_present_$e" 1 "no PCI device with this id"
done
added=$(dmesg | sed -n 's/.*vfio_pci: add \[\([0-9a-f]*:[0-9a-f]*\)\[.*/\1/p' | sort -u | tr '\n' ' ')
want=$(for e in $EXPECT_IDS; do echo $e; done | sort -u | tr '\n' ' ')
# rescue: vfio-pci may still be loaded in the rootfs (an install or softdep line asks for it) and register ids;
# what counts there is that no device ends up on it (rescue_no_vfio)
[ "$EXPECT_RESCUE" = 1 ] || { [ "$added" = "$want" ]; check vfio_pci_ids $? "dmesg add: [${added% }] expected [${want% }]"; }
for a in $PT; do
  info $a
  [ "$drv" = vfio-pci ]; check "driver_$a" $? "$drv"
done
# every device in each passthrough device's group is on vfio-pci or is a bridge
PT_GROUPS=
for a in $PT; do
  info $a
  [ -n "$grp" ] || { check "group_$a" 1 "no iommu_group"; continue; }
  case " $PT_GROUPS " in *" $grp "*) continue ;; esac
  g=$grp
  PT_GROUPS="$PT_GROUPS $g"
  bad=
  for m in $(members $g); do
    info $m
    case "$drv:$cls" in vfio-pci:*|*:0x06*) ;; *) bad="$bad $m=$drv" ;; esac
  done
  [ -z "$bad" ]; check "group_clean_$g" $? "${bad:+not on vfio-pci:}${bad:-$(members $g)}"
done
# expected group layouts: each listed set is exactly one group
for set in $EXPECT_GROUPS; do
  first=${set%%,*}
  info $first
  have=$(members "${grp:-none}" | tr ' ' '\n' | sort | tr '\n' ',')
  want=$(echo "$set" | tr ',' '\n' | sort | tr '\n' ',')
  [ -n "$grp" ] && [ "$have" = "$want" ]; check "group_layout_$first" $? "group ${grp:-none}: ${have%,} expected ${want%,}"
done
# every other device keeps its own driver
bad=
for a in $PCI; do
  case " $PT " in *" $a "*) continue ;; esac
  info $a
  [ -n "$grp" ] && case " $PT_GROUPS " in *" $grp "*) continue ;; esac
  [ "$drv" = vfio-pci ] && bad="$bad $a"
done
[ -z "$bad" ]; check others_not_on_vfio $? "${bad:-ok}"
for pair in $EXPECT_DRIVERS; do
  a=${pair%%=*} want=${pair#*=}
  info $a
  [ "$drv" = "$want" ]; check "driver_$a" $? "$drv (expected $want)"
done
# a VMM could use it: container, group, type1, DMA map/unmap, device fd
for g in $PT_GROUPS; do
  devs=
  for m in $(members $g); do info $m; [ "$drv" = vfio-pci ] && devs="$devs $m"; done
  out=$(/bin/vfio-probe $g $devs 2>&1); rc=$?
  check "vfio_probe_$g" $rc "$out"
done
if [ "$EXPECT_RESCUE" = 1 ]; then
  # the rescue entry: no vfio at all, every device on its own driver
  onvfio=
  for a in $PCI; do info $a; [ "$drv" = vfio-pci ] && onvfio="$onvfio $a"; done
  [ -z "$onvfio" ]; check rescue_no_vfio $? "${onvfio:+on vfio-pci:}${onvfio:-no device on vfio-pci} (vfio_pci $([ -d /sys/module/vfio_pci ] && echo loaded || echo 'not loaded'))"
else
  [ -n "$PT" ]; check passthrough_devices $? "${PT:-none}"
fi
# the host's job: its bridge with the ports enslaved, the modules it asked for
if [ -n "$EXPECT_BRIDGE" ]; then
  [ -d /sys/class/net/$EXPECT_BRIDGE/bridge ]; check bridge_up $? "$EXPECT_BRIDGE: $(ls /sys/class/net | tr '\n' ' ')"
  for p in $EXPECT_BRIDGE_PORTS; do
    m=$(readlink /sys/class/net/$p/master 2>/dev/null)
    [ "${m##*/}" = "$EXPECT_BRIDGE" ]; check "bridge_port_$p" $? "$p master=${m##*/}"
  done
fi
for m in $EXPECT_LOADED; do
  _m=$(echo $m | tr - _)
  { [ -d /sys/module/$_m ] || grep -q "/$_m.ko" /lib/modules/$(uname -r)/modules.builtin 2>/dev/null; }
  check "module_$m" $? "$( [ -d /sys/module/$_m ] && echo loaded || echo 'not loaded')"
done

say "uptime $(cut -d' ' -f1 /proc/uptime)"
# hostbake's host snapshot collector, run on this guest's own /sys (kernel messages off: one clean line)
if [ "$EXPECT_SNAPSHOT" = 1 ]; then
  echo 1 > /proc/sys/kernel/printk
  say "snapshot $(sh /hostbake/collector.sh)"
fi
if [ $FAILED -gt 0 ]; then
  say "--- rootfs stage"; cat /tmp/rootfs.log 2>/dev/null; say "--- dmesg"; dmesg; say "--- lspci"
  for a in $PCI; do info $a; echo "$a $id class=$cls driver=$drv group=$grp"; done
  say "--- end"
fi
say "$PASSED passed, $FAILED failed"
# poweroff -f does not wait for the UART: a long report (the failure dump) could still sit in the tty buffer
# and lose its tail, sentinel included. stty's tcsetattr(TCSADRAIN) blocks until the console has sent it all.
stty -F /dev/console opost 2>/dev/null || sleep 1
poweroff -f
