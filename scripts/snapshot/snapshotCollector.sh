#!/bin/sh
# hostbake snapshot collector, format 2: prints one JSON document that describes this host as /sys sees
# it: every PCI function (id, subsystem, class, driver and its module, IOMMU group, reset method, bridge,
# parent bridge), the USB devices with the PCI controller above them, the block devices behind / and /boot
# with their controllers, the NIC that carries the default route; and the host's own boot configuration
# that an overlay must not lose (/etc/apk/world, mkinitfs features, update-extlinux.conf or
# /etc/default/grub, EFI or not, the bootloader in /boot). Read-only. Needs a POSIX sh with readlink -f,
# sed, tr, grep (busybox has them): no node, no lspci.
#   ssh vmhost sh < collector.sh > hosts/vmhost.json
# HOSTBAKE_ROOT reads another tree instead of / (hostbake snapshot --sysfs DIR).
R=${HOSTBAKE_ROOT:-}

esc() { printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'; }
str() { if [ -n "$1" ]; then printf '"%s"' "$(esc "$1")"; else printf 'null'; fi; }
str_or_empty() { printf '"%s"' "$(esc "$1")"; }
num() { if [ -n "$1" ]; then printf '%s' "$1"; else printf 'null'; fi; }
first_line() { [ -r "$1" ] && head -n 1 "$1" 2>/dev/null | tr -d '\r'; }
hex4() { v=$(first_line "$1"); v=${v#0x}; printf '%s' "$v"; }
link_name() { l=$(readlink "$1" 2>/dev/null) && printf '%s' "${l##*/}"; }
# the last PCI address on a sysfs path: the function a device hangs off
pci_on_path() { printf '%s\n' "$1" | tr '/' '\n' | grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' | tail -n 1; }
# a block device's PCI controller, through device-mapper and partitions
block_controller() {
  b=$1
  for s in "$R"/sys/class/block/"$b"/slaves/*; do [ -e "$s" ] && { b=${s##*/}; break; }; done
  pci_on_path "$(readlink -f "$R/sys/class/block/$b" 2>/dev/null)"
}
sep() { if [ "$n" -gt 0 ]; then printf ','; fi; n=$((n + 1)); }

printf '{"hostbakeSnapshot":2,"host":%s,"kernel":%s,' \
  "$(str "$(first_line "$R/proc/sys/kernel/hostname")")" "$(str "$(first_line "$R/proc/sys/kernel/osrelease")")"

printf '"pci":['
n=0
for d in "$R"/sys/bus/pci/devices/*; do
  [ -r "$d/vendor" ] || continue
  cls=$(first_line "$d/class")
  sub=
  [ -r "$d/subsystem_vendor" ] && sub="$(hex4 "$d/subsystem_vendor"):$(hex4 "$d/subsystem_device")"
  real=$(readlink -f "$d")
  bridge=false
  case "$cls" in 0x0604*) bridge=true ;; esac
  sep
  printf '{"address":%s,"id":"%s:%s","subsystem":%s,"class":%s,"driver":%s,"module":%s,"group":%s,"resetMethod":%s,"bridge":%s,"parent":%s}' \
    "$(str "${d##*/}")" "$(hex4 "$d/vendor")" "$(hex4 "$d/device")" "$(str "$sub")" "$(str "$cls")" \
    "$(str "$(link_name "$d/driver")")" "$(str "$(link_name "$d/driver/module")")" "$(num "$(link_name "$d/iommu_group")")" \
    "$(str "$(first_line "$d/reset_method")")" "$bridge" "$(str "$(pci_on_path "${real%/*}")")"
done
printf '],'

printf '"usb":['
n=0
for u in "$R"/sys/bus/usb/devices/*; do
  [ -r "$u/idVendor" ] || continue
  case "${u##*/}" in usb*) continue ;; esac # root hubs: the controller itself
  sep
  printf '{"port":%s,"bus":%s,"device":%s,"id":"%s:%s","product":%s,"controller":%s}' \
    "$(str "${u##*/}")" "$(num "$(first_line "$u/busnum")")" "$(num "$(first_line "$u/devnum")")" \
    "$(first_line "$u/idVendor")" "$(first_line "$u/idProduct")" "$(str "$(first_line "$u/product")")" \
    "$(str "$(pci_on_path "$(readlink -f "$u")")")"
done
printf '],'

printf '"storage":['
n=0
for mp in / /boot; do
  dev=$(while read -r src target rest; do [ "$target" = "$mp" ] && echo "$src"; done < "$R/proc/mounts" | tail -n 1)
  case "$dev" in /dev/*) ;; *) continue ;; esac
  name=$(readlink -f "$R$dev" 2>/dev/null)
  name=${name##*/}
  [ -n "$name" ] || name=${dev##*/}
  sep
  printf '{"mount":%s,"device":%s,"controller":%s}' "$(str "$mp")" "$(str "$name")" "$(str "$(block_controller "$name")")"
done
printf '],'

# the interface with the default route (Destination 00000000); through a bridge or bond, its ports
nic=$(while read -r iface dest rest; do [ "$dest" = 00000000 ] && echo "$iface"; done < "$R/proc/net/route" 2>/dev/null | head -n 1)
if [ -n "$nic" ]; then
  printf '"managementNic":{"name":%s,"mac":%s,"pci":[' "$(str "$nic")" "$(str "$(first_line "$R/sys/class/net/$nic/address")")"
  n=0 seen=' '
  for lower in "$R/sys/class/net/$nic" "$R"/sys/class/net/"$nic"/brif/* "$R"/sys/class/net/"$nic"/lower_*; do
    [ -e "$lower" ] || continue
    a=$(pci_on_path "$(readlink -f "$lower/device" 2>/dev/null)")
    [ -n "$a" ] || a=$(pci_on_path "$(readlink -f "$lower" 2>/dev/null)")
    case "$seen" in *" $a "*) continue ;; esac # a bridge port shows up as brif/ and as lower_
    if [ -n "$a" ]; then sep; printf '"%s"' "$a"; seen="$seen$a "; fi
  done
  printf ']}'
else
  printf '"managementNic":null'
fi

# The host's boot configuration. Each file is sourced in a subshell, as its own consumer does (mkinitfs,
# update-extlinux, grub-mkconfig), so quoting and continuation lines read exactly as they would at boot.
conf_var() { [ -r "$1" ] && ( unset "$2"; . "$1" >/dev/null 2>&1; eval "printf '%s' \"\${$2}\"" ) 2>/dev/null; }
# a file's lines as a JSON array (blank lines and # comments left out), null when the file is not there
lines_of() {
  if [ -r "$1" ]; then
    printf '['
    n=0
    while read -r line || [ -n "$line" ]; do
      case "$line" in ''|'#'*) ;; *) sep; str "$line" ;; esac
    done < "$1"
    printf ']'
  else
    printf 'null'
  fi
}
printf ',"system":{"world":'
lines_of "$R/etc/apk/world"
for f in modules:etc/modules repositories:etc/apk/repositories; do
  printf ',"%s":' "${f%%:*}"
  lines_of "$R/${f#*:}"
done
printf ',"mkinitfsFeatures":'
if [ -r "$R/etc/mkinitfs/mkinitfs.conf" ]; then str_or_empty "$(conf_var "$R/etc/mkinitfs/mkinitfs.conf" features)"; else printf 'null'; fi
printf ',"extlinux":'
x=$R/etc/update-extlinux.conf
if [ -r "$x" ]; then
  printf '{"root":%s,"modules":%s,"defaultKernelOpts":%s}' "$(str_or_empty "$(conf_var "$x" root)")" \
    "$(str_or_empty "$(conf_var "$x" modules)")" "$(str_or_empty "$(conf_var "$x" default_kernel_opts)")"
else
  printf 'null'
fi
printf ',"grub":'
g=$R/etc/default/grub
if [ -r "$g" ]; then
  printf '{"cmdlineLinuxDefault":%s,"cmdlineLinux":%s}' "$(str_or_empty "$(conf_var "$g" GRUB_CMDLINE_LINUX_DEFAULT)")" \
    "$(str_or_empty "$(conf_var "$g" GRUB_CMDLINE_LINUX)")"
else
  printf 'null'
fi
efi=false
[ -d "$R/sys/firmware/efi" ] && efi=true
# the loader whose generated configuration is in /boot (what the kernel was started by), else the config we found
loader=
if [ -e "$R/boot/grub/grub.cfg" ]; then loader=grub
elif [ -e "$R/boot/extlinux.conf" ]; then loader=extlinux
elif [ -r "$g" ]; then loader=grub
elif [ -r "$x" ]; then loader=extlinux
fi
printf ',"efi":%s,"bootloader":%s}' "$efi" "$(str "$loader")"
printf '}\n'
