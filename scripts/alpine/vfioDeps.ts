// The modules vfio-pci needs before it can load, by kernel series: its modules.dep closure plus the
// softdeps kmod follows (vfio post: vfio_iommu_type1). A preempted driver from this set would get an
// install line that runs `modprobe vfio-pci`, which loads that driver again, which runs the install line
// again: kmod forks until the OOM killer. test/alpine/vfioDeps.test.ts checks the row of the boot-test
// kernel against its real modules.dep and modules.softdep, so the table stays in step.
export const VFIO_PCI_NEEDS: Record<string, readonly string[]> = {
  // Debian 6.1 (the harness kernel) and Alpine 3.18's linux-lts: vfio_virqfd is still a module
  '6.1': ['irqbypass', 'vfio', 'vfio_iommu_type1', 'vfio_pci', 'vfio_pci_core', 'vfio_virqfd'],
  // 6.2 folded vfio_virqfd into vfio; vfio links iommufd when the kernel builds it as a module
  '6.6': ['iommufd', 'irqbypass', 'vfio', 'vfio_iommu_type1', 'vfio_pci', 'vfio_pci_core'],
  '6.12': ['iommufd', 'irqbypass', 'vfio', 'vfio_iommu_type1', 'vfio_pci', 'vfio_pci_core'],
  '6.18': ['iommufd', 'irqbypass', 'vfio', 'vfio_iommu_type1', 'vfio_pci', 'vfio_pci_core'],
}

// Every series at once: a profile may be built for one release and booted on the next kernel.
export const VFIO_PCI_NEEDS_ANY: ReadonlySet<string> = new Set(Object.values(VFIO_PCI_NEEDS).flat())

// modules.dep + modules.softdep text -> the set of module names (underscored) `modprobe <mod>` loads.
export function moduleClosure(mod: string, modulesDep: string, modulesSoftdep = ''): string[] {
  const name = (p: string) => p.replace(/^.*\//, '').replace(/\.ko(\..*)?$/, '').replaceAll('-', '_')
  const deps = new Map<string, string[]>()
  for (const line of modulesDep.split('\n')) {
    const [file, rest] = line.split(':')
    if (rest !== undefined) deps.set(name(file), rest.trim().split(/\s+/).filter(Boolean).map(name))
  }
  for (const line of modulesSoftdep.split('\n')) {
    const m = /^softdep\s+(\S+)\s+(.*)$/.exec(line)
    if (!m) continue
    const extra = m[2].replace(/\b(pre|post):/g, ' ').trim().split(/\s+/).map(name).filter((x) => deps.has(x))
    deps.set(name(m[1]), [...(deps.get(name(m[1])) ?? []), ...extra])
  }
  const seen = new Set<string>()
  const walk = (m: string) => {
    if (seen.has(m)) return
    seen.add(m)
    for (const d of deps.get(m) ?? []) walk(d)
  }
  walk(mod.replaceAll('-', '_'))
  return [...seen].sort()
}
