// Where the harness's Debian kernel and Alpine's linux-lts are configured differently, and what the harness does so
// that a verdict does not change. Alpine lines: aports main/linux-lts/lts.x86_64.config @cf6b558 (6.1-era, a
// savedefconfig: unlisted options take Kconfig's default). Debian: /boot/config-<kver> of linux-image-6.1.0-*-amd64.
// The 6.6/6.12 configs (Alpine 3.19-3.22) were not read; the 6.1 facts are assumed to hold (see test/boot/README.md).

export interface KernelConfigDifference {
  option: string
  debian: string
  /** the Alpine config line (or "(default)" when Alpine leaves it to Kconfig) */
  alpine: string
  /** what the difference would do to a verdict */
  consequence: string
  /** how the harness follows Alpine: a kernel parameter prepended to every command line, or the module tree */
  emulation: { cmdline: string } | { moduleTree: string } | { none: string }
}

export const KERNEL_CONFIG_DIFFERENCES: readonly KernelConfigDifference[] = [
  {
    option: 'CONFIG_INTEL_IOMMU_DEFAULT_ON',
    debian: 'CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y (VT-d on without intel_iommu=on)',
    alpine: '# CONFIG_INTEL_IOMMU_DEFAULT_ON is not set',
    consequence: 'a profile that loses intel_iommu=on would pass here and find no IOMMU on a real Intel host',
    // parameters are parsed left to right and the last intel_iommu= wins: the profile's own `on` still turns it on
    emulation: { cmdline: 'intel_iommu=off' },
  },
  {
    option: 'CONFIG_MODULE_COMPRESS_*',
    debian: 'CONFIG_MODULE_COMPRESS_NONE=y (plain .ko)',
    alpine: 'CONFIG_MODULE_COMPRESS_GZIP=y (.ko.gz)',
    consequence: 'a features.d glob ending in `.ko` matches nothing on Alpine: the feature is silently empty',
    emulation: { moduleTree: 'scripts/boot/module-tree.sh compresses every module: .ko.zst for kmod, .ko.xz for busybox modprobe (Debian\'s kmod reads no gzip)' },
  },
  {
    option: 'CONFIG_MODULE_SIG (signatures appended to each module)',
    debian: 'CONFIG_MODULE_SIG=y, # CONFIG_MODULE_SIG_FORCE is not set',
    alpine: 'CONFIG_MODULE_SIG=y, CONFIG_MODULE_SIG_SHA256=y (SIG_FORCE left at its default, n)',
    consequence: 'none: neither kernel refuses an unsigned module; verifying costs ~0.5 s of TCG time per boot',
    emulation: { moduleTree: 'scripts/boot/module-tree.sh strips the signatures (a speed-only difference)' },
  },
  {
    option: 'CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON',
    debian: 'CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON=y',
    alpine: '# CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON is not set',
    consequence: 'none here: QEMU\'s intel-iommu offers no scalable mode unless x-scalable-mode=on, which the harness never sets',
    emulation: { none: 'QEMU\'s VT-d is legacy mode either way' },
  },
  {
    option: 'CONFIG_DRM_SIMPLEDRM',
    debian: '# CONFIG_DRM_SIMPLEDRM is not set',
    alpine: 'CONFIG_DRM_SIMPLEDRM=m (initramfs-init runs `modprobe simpledrm`)',
    consequence: 'none here: simpledrm binds only a firmware framebuffer (not a PCI device), and PVH boots have none',
    emulation: { none: 'the failed modprobe is silent in both' },
  },
  {
    option: 'CONFIG_FB_VESA',
    debian: 'CONFIG_FB_VESA=y',
    alpine: '(default: n)',
    consequence: 'none here: vesafb claims a firmware framebuffer, never a PCI device, and PVH boots have none',
    emulation: { none: 'no firmware framebuffer under PVH' },
  },
]

/** Kernel parameters prepended to every boot of the harness's Debian kernel (a user's own --kernel gets none). */
export const ALPINE_DEFAULTS_CMDLINE = KERNEL_CONFIG_DIFFERENCES
  .flatMap((d) => ('cmdline' in d.emulation ? [d.emulation.cmdline] : []))
  .join(' ')
