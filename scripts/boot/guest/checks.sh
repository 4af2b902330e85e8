# hostbake guest checks: the one copy of the checks and the report, sourced (busybox sh) by the stand-in
# initramfs-init (guest/init.sh, as /hostbake/checks.sh) and by the in-overlay probe of a test image
# (guest/probe.sh, as /etc/hostbake/probe/checks.sh). Prints `hostbake-guest: PASS|FAIL <name> <detail>`,
# then the sentinel `hostbake-guest: N passed, N failed`, then powers off.
# The caller sets: the EXPECT_* expectations; what its stages saw (OVL_OK OVL ROOT_DETAIL OVL_URL MODLOOP
# SYSROOT KOPT_modules STAGE1_MODULES SUPPLEMENT_HAVE, and for check_services HAD_MARKER HAD_SYSINIT SYSINIT
# OWN_SKIPPED OWN_PRE OWN_POST); optionally EARLY_DRV_<address> (a device's driver recorded before hwdrivers),
# SUPPLEMENT_MISSING, VFIO_PROBE, ROOTFS_LOG, REPORT_TTY.
P=hostbake-guest
say() { echo "$P: $*"; }
PASSED=0 FAILED=0
check() { # check NAME CONDITION-EXIT-STATUS DETAIL
  if [ "$2" = 0 ]; then PASSED=$((PASSED + 1)); say "PASS $1 $3"; else FAILED=$((FAILED + 1)); say "FAIL $1 $3"; fi
}

# the boot medium: root disk or overlay, netboot fetches, the image's medium, supplement and menu
check_boot_medium() {
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
# the supplementary initramfs (hostbake image) leaves its evidence; the rescue entry must boot without it
if [ -n "$EXPECT_SUPPLEMENT" ]; then
  have=$SUPPLEMENT_HAVE
  if [ "$EXPECT_SUPPLEMENT" = none ]; then [ -z "$have" ]; else case "$have" in "host=$EXPECT_SUPPLEMENT "*) true ;; *) false ;; esac; fi
  check supplement_applied $? "${have:-${SUPPLEMENT_MISSING:-no /etc/hostbake/supplement}} (expected ${EXPECT_SUPPLEMENT})"
fi
# the boot menu's options reached the kernel (bootloaders may add BOOT_IMAGE= and initrd=)
if [ -n "$EXPECT_CMDLINE" ]; then
  case " $(cat /proc/cmdline) " in *" $EXPECT_CMDLINE "*) true ;; *) false ;; esac
  check cmdline_menu $? "$(cat /proc/cmdline)"
fi
}

# the stand-in's model of OpenRC: the runlevel rule and the overlay's own sysinit services
check_services() {
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
}

# files the initramfs stage must hold (only visible from inside the initramfs)
check_initramfs_files() {
missing=
for f in $EXPECT_INITRAMFS_FILES; do [ -e "$f" ] || missing="$missing $f"; done
[ -z "$missing" ]; check initramfs_files $? "${missing:-${EXPECT_INITRAMFS_FILES:-none listed}}"
}

# every module of modules= was loaded in the initramfs stage (STAGE1_MODULES: /sys/module then)
check_initramfs_modules() {
missing=
for m in $(echo "$KOPT_modules" | tr ',' ' '); do
  echo "$STAGE1_MODULES" | grep -qx "$(echo "$m" | tr - _)" || missing="$missing $m"
done
if [ -z "$missing" ]; then check initramfs_modules 0 "modules=$KOPT_modules"
else check initramfs_modules 1 "not loaded from initramfs:$missing (mkinitfs features: ${EXPECT_FEATURES:-none}${EXPECT_UNMATCHED:+; lines selecting nothing: $EXPECT_UNMATCHED})"; fi
}

# the host as the kernel sees it: IOMMU, groups, drivers, a VMM's view through VFIO, the host's own job
check_host() {
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
info() { _k=${1//[:.]/_}; eval "id=\$ID_$_k cls=\$CLS_$_k drv=\${DRV_$_k:-none} grp=\$GRP_$_k early=\${EARLY_DRV_$_k:-}"; }
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
# with a driver recorded before hwdrivers (the probe), vfio-pci must have held the device since the initramfs stage
for a in $PT; do
  info $a
  if [ -n "$early" ]; then [ "$drv" = vfio-pci ] && [ "$early" = vfio-pci ]; check "driver_$a" $? "$drv (before hwdrivers: $early)"
  else [ "$drv" = vfio-pci ]; check "driver_$a" $? "$drv"; fi
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
  out=$(${VFIO_PROBE:-/bin/vfio-probe} $g $devs 2>&1); rc=$?
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
}

# uptime, the snapshot when asked, the failure dump, the sentinel; then power off
report_end() {
say "uptime $(cut -d' ' -f1 /proc/uptime)"
# hostbake's host snapshot collector, run on this guest's own /sys (kernel messages off: one clean line)
if [ "$EXPECT_SNAPSHOT" = 1 ]; then
  echo 1 > /proc/sys/kernel/printk
  say "snapshot $(sh /hostbake/collector.sh)"
fi
if [ $FAILED -gt 0 ]; then
  say "--- rootfs stage"; cat ${ROOTFS_LOG:-/tmp/rootfs.log} 2>/dev/null; say "--- dmesg"; dmesg; say "--- lspci"
  for a in $PCI; do info $a; echo "$a $id class=$cls driver=$drv group=$grp"; done
  say "--- end"
fi
say "$PASSED passed, $FAILED failed"
# poweroff -f does not wait for the UART: a long report (the failure dump) could still sit in the tty buffer
# and lose its tail, sentinel included. stty's tcsetattr(TCSADRAIN) blocks until the console has sent it all.
stty -F ${REPORT_TTY:-/dev/console} opost 2>/dev/null || sleep 1
poweroff -f
}
