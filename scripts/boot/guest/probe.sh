#!/bin/sh
# hostbake's in-overlay probe (TEST BUILDS ONLY: `hostbake image --probe`). On an image made from a real
# Alpine ISO nothing of hostbake runs in the initramfs, so the overlay carries the guest checks itself:
#   probe.sh record   hostbake-probe, first in sysinit: each PCI device's driver and /sys/module, before
#                     mdev/modloop/hwdrivers can load a driver (so what it sees is the initramfs stage's work)
#   probe.sh report   hostbake-probe-report, last in default: the checks of guest/checks.sh (the same file the
#                     stand-in init sources) over the live system and that record, then the sentinel, poweroff
# Expectations come from QEMU's fw_cfg (opt/hostbake/expect), as for the stand-in init; without them (a real
# machine, or a boot that is not a boot test) the probe does nothing at all.
D=/etc/hostbake/probe
R=/run/hostbake-probe
uptime_now() { cut -d' ' -f1 /proc/uptime; }

record() {
  mkdir -p $R
  for d in /sys/bus/pci/devices/*; do
    drv=none; [ -e $d/driver ] && { l=$(readlink $d/driver); drv=${l##*/}; }
    echo "${d##*/} $drv"
  done >$R/drivers
  ls /sys/module >$R/modules
  # module trees mounted by then (none on Alpine: modloop comes later; the stand-in mounts its share earlier)
  awk '$3 == "squashfs" || $3 == "9p" { print $2 }' /proc/mounts | tr '\n' ' ' >$R/trees
  uptime_now >$R/uptime
}

report() {
  mkdir -p $R
  /sbin/modprobe -q qemu_fw_cfg 2>/dev/null
  E=/sys/firmware/qemu_fw_cfg/by_name/opt/hostbake/expect/raw
  if ! cat $E >$R/expect 2>/dev/null; then
    echo "hostbake-probe: no opt/hostbake/expect in QEMU's fw_cfg: not a hostbake boot test, nothing checked"
    return 0
  fi
  . $R/expect
  # the report goes to the serial port whatever console= the menu has (the harness reads that port)
  REPORT_TTY=/dev/ttyS0
  exec >$REPORT_TTY 2>&1
  echo 1 >/proc/sys/kernel/printk
  . $D/checks.sh
  say "stage probe-record $(cat $R/uptime 2>/dev/null || echo none)"
  say "stage probe-report $(uptime_now)"
  for opt in $(cat /proc/cmdline); do case "$opt" in modules=*) KOPT_modules=${opt#modules=} ;; esac; done
  # the record: drivers and modules the initramfs stage left (the record is missing when hostbake-probe did not run)
  [ -s $R/drivers ]; check probe_record $? "$([ -s $R/drivers ] && echo "before mdev/hwdrivers at $(cat $R/uptime) s; module trees mounted then: $(cat $R/trees)" || echo "no $R/drivers: hostbake-probe did not run first in sysinit")"
  while read -r a drv; do k=${a//[:.]/_}; eval "EARLY_DRV_$k=$drv"; done <$R/drivers
  STAGE1_MODULES=$(cat $R/modules 2>/dev/null)
  # the overlay this probe came with, on the boot medium (initramfs-init moved the medium's mount into the rootfs)
  OVL_OK=1 OVL="this overlay, not found at the top of a boot medium"
  for f in /media/*/*.apkovl.tar.gz; do
    [ -f "$f" ] && tar -tzf "$f" 2>/dev/null | grep -qx 'etc/init.d/hostbake-probe-report' && { OVL=$f; break; }
  done
  for b in /sys/block/loop*/loop/backing_file; do
    [ -f "$b" ] && case "$(cat $b)" in */modloop-*) MODLOOP=$(cat $b) ;; esac
  done
  # Alpine's stock initramfs has no vfio modules: vfio_pci loaded before the rootfs had a module tree came from the
  # supplementary initramfs (its marker file stays in the initramfs, freed at switch_root); the medium names its host
  SUPPLEMENT_HAVE= SUPPLEMENT_MISSING="no vfio module loaded in the initramfs stage"
  if echo "$STAGE1_MODULES" | grep -qx vfio_pci; then
    for f in /media/*/boot/hostbake-*.cpio.gz; do
      [ -f "$f" ] || continue
      h=${f##*/hostbake-}; SUPPLEMENT_HAVE="host=${h%.cpio.gz} (vfio_pci loaded in the initramfs stage; ${f#/media/*/})"
    done
    [ -n "$SUPPLEMENT_HAVE" ] || SUPPLEMENT_HAVE="vfio_pci loaded in the initramfs stage, but no boot/hostbake-*.cpio.gz on the medium"
  fi
  VFIO_PROBE=$D/vfio-probe ROOTFS_LOG=/dev/null EXPECT_SNAPSHOT=
  check_boot_medium
  check_initramfs_modules
  check_host
  report_end
}

case "$1" in
  record) record ;;
  report) report ;;
  *) echo "usage: probe.sh record|report" >&2; exit 2 ;;
esac
