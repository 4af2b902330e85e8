// Which kernel a profile boots: the release's linux-lts series unless kernelVersion overrides it.
import { ALPINE_KERNEL_SERIES } from './alpineDefaults.js'

export interface KernelChoice {
  flavor: 'lts' | 'virt'
  series: string // "6.12"
  package: string // linux-lts
  reason: string
}

export function planKernel(alpine: { release: string; kernel: 'lts' | 'virt'; kernelVersion?: string }): KernelChoice {
  const { release, kernel, kernelVersion } = alpine
  const series = kernelVersion ?? ALPINE_KERNEL_SERIES[release]
  const reason = kernelVersion
    ? `alpine.kernelVersion ${kernelVersion} (overrides the ${ALPINE_KERNEL_SERIES[release]} that Alpine ${release} ships)`
    : `Alpine ${release} ships linux-${kernel} ${series}`
  return { flavor: kernel, series, package: `linux-${kernel}`, reason }
}

// Compare "6.2" style series numerically.
export function seriesAtLeast(series: string, min: string): boolean {
  const [a1, a2] = series.split('.').map(Number)
  const [b1, b2] = min.split('.').map(Number)
  return a1 > b1 || (a1 === b1 && a2 >= b2)
}
