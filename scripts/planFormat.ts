// The plan as a person reads it: every derived value with the reason it is there.
import type { HostPlan, Item } from './hostPlan.js'
import { RUNLEVELS } from './profileSchema.js'

export function formatPlan(plan: HostPlan, overlayFiles: string[]): string {
  const out: string[] = []
  const section = (title: string, items: Item[]) => {
    out.push(`${title}:`)
    if (items.length === 0) out.push('  (none)')
    const width = Math.min(48, Math.max(...items.map((i) => i.value.length), 0))
    for (const i of items) out.push(`  ${i.value.padEnd(width)}  # ${i.reason}`)
  }
  out.push(`host ${plan.hostname}: cpu ${plan.cpu}, ${plan.install} install, ${plan.kernel.package} ${plan.kernel.series} (${plan.kernel.reason})`)
  out.push(`kernel command line (${plan.install === 'sys' ? 'update-extlinux APPEND' : 'boot media / PXE'}):`, `  ${plan.cmdline}`)
  section('kernel options', plan.kernelOpts)
  section('initramfs modules (modules=)', plan.initramfsModules)
  section('vfio ids', plan.vfioIds)
  section('vfio addresses', plan.vfioAddresses.map((a) => ({ value: a.address, reason: a.id ? `driver_override, expected ${a.id}` : 'driver_override' })))
  section('mkinitfs features.d/vfio.modules', plan.vfioModules)
  section('modprobe.d/vfio.conf', plan.modprobe)
  section('preempted drivers', plan.preemptOrdering)
  section('/etc/modules', plan.modules)
  for (const level of RUNLEVELS) section(`runlevel ${level}`, plan.runlevels[level])
  section('world', plan.world)
  out.push('overlay files:', ...overlayFiles.map((f) => `  ${f}`))
  return `${out.join('\n')}\n`
}
