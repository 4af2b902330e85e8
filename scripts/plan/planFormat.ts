// The plan as a person reads it: every derived value with the reason it is there.
import type { AddressBinding, HostPlan, Item } from './hostPlan.js'
import { RUNLEVELS } from '../profile/profileSchema.js'

export function formatPlan(plan: HostPlan, overlayFiles: string[]): string {
  const out: string[] = []
  const section = (title: string, items: Item[]) => {
    out.push(`${title}:`)
    if (items.length === 0) out.push('  (none)')
    const width = Math.min(48, Math.max(...items.map((i) => i.value.length), 0))
    for (const i of items) out.push(`  ${i.value.padEnd(width)}  # ${i.reason}`)
  }
  const loader = plan.loader === 'grub' ? `, GRUB${plan.efi === undefined ? '' : plan.efi ? ' (UEFI)' : ' (BIOS)'}` : plan.loader === 'extlinux' ? ', extlinux' : ''
  out.push(`host ${plan.hostname}: cpu ${plan.cpu}, ${plan.install} install${loader}, ${plan.kernel.package} ${plan.kernel.series} (${plan.kernel.reason})`)
  // first: what the profile does that its author may not expect
  for (const n of plan.notices) out.push(`note: ${n}`)
  const where = plan.loader === 'grub' ? 'GRUB_CMDLINE_LINUX_DEFAULT via grub-mkconfig' : plan.loader === 'extlinux' ? 'update-extlinux APPEND' : 'boot media / PXE'
  out.push(`kernel command line (${where}):`, `  ${plan.cmdline}`)
  section('kernel options', plan.kernelOpts)
  section('initramfs modules (modules=)', plan.initramfsModules)
  if (plan.mkinitfsFeatures.length > 0) section('mkinitfs features (mkinitfs.conf)', plan.mkinitfsFeatures)
  section('vfio ids', plan.vfioIds)
  section('vfio addresses', plan.vfioAddresses.map((a) => ({ value: a.address, reason: `driver_override; ${guardClaim(a)}` })))
  if (plan.install === 'diskless' && plan.vfioModules.length > 0) {
    // the stock initramfs cannot bind: say where early binding comes from instead of promising it
    out.push(`early binding (diskless): Alpine's stock initramfs has no vfio modules and none of this host's modprobe.d;`,
      `  the supplementary initramfs boot/hostbake-${plan.hostname}.cpio.gz (hostbake image or hostbake pxe) brings both, listed after it.`,
      `  Without it the host drivers claim the devices before the overlay is unpacked.`)
    section('mkinitfs features.d/vfio.modules (not used at boot: diskless boots the stock initramfs)', plan.vfioModules)
  } else section('mkinitfs features.d/vfio.modules', plan.vfioModules)
  section('modprobe.d/vfio.conf', plan.modprobe)
  section('preempted drivers', plan.preemptOrdering)
  if (plan.idle.length > 0) section('idle on vfio-pci', plan.idle)
  section('/etc/modules', plan.modules)
  for (const level of RUNLEVELS) section(`runlevel ${level}`, plan.runlevels[level])
  section('world', plan.world)
  if (plan.network) {
    const n = plan.network
    out.push(`bridge ${n.bridge} over ${n.ports.join(', ')}: ${n.dhcp === true ? 'DHCP' : `${n.dhcp.address}${n.dhcp.gateway ? ` via ${n.dhcp.gateway}` : ''}`}`)
  }
  for (const p of plan.pools) out.push(`pool ${p.name}: ${p.path} (uuid ${p.uuid}, autostart)`)
  for (const g of plan.guests) {
    out.push(`guest ${g.name}: ${g.vcpus} vCPU, ${g.memory} MiB, ${g.uefi ? 'UEFI' : 'BIOS'}, cpu ${g.cpu}${g.autostart ? ', autostart' : ''}`)
    for (const d of g.disks) out.push(`  disk ${d.dev} (${d.bus}, ${d.format}): ${d.volume ? `${d.volume.pool}/${d.volume.name}` : d.path}`)
    if (g.network) out.push(`  nic on ${g.network.bridge}${g.network.mac ? ` ${g.network.mac}` : ''}`)
    for (const h of g.pci) out.push(`  hostdev pci ${h.address}`)
    for (const u of g.usb) out.push(`  hostdev usb ${u.vendor}:${u.product}`)
  }
  out.push('overlay files:', ...overlayFiles.map((f) => `  ${f}`))
  return `${out.join('\n')}\n`
}

// What the guard script compares for one address, exactly as the script does (an empty field is not compared).
export function guardClaim(a: AddressBinding): string {
  const checks = [a.id ? `id ${a.id}` : '', a.subsystem ? `subsystem ${a.subsystem}` : '', a.group?.length ? `IOMMU group ${a.group.join(' ')}` : ''].filter(Boolean)
  return checks.length > 0 ? `the guard compares ${checks.join(', ')}` : 'NOT guarded: nothing to compare'
}
