// Both boot menus of the image, pure: syslinux.cfg (BIOS, isolinux) and grub.cfg (UEFI, GRUB-EFI), in the shape
// Alpine's mkimage generates them (aports scripts/mkimg.base.sh syslinux_gen_config, grub_gen_config), with two
// entries: the host (vfio modules, IOMMU options, the supplementary initramfs after Alpine's) and "rescue"
// (neither), for the day a binding locks the user out of the box.
import type { HostPlan } from '../plan/hostPlan.js'
import { SUPPLEMENT_MODULES } from './supplementInitramfs.js'

export interface MenuEntry {
  label: string
  title: string
  kernel: string
  initrds: string[]
  append: string
}

export interface MenuPlan {
  entries: [MenuEntry, MenuEntry] // host, rescue
  defaultEntry: 0 | 1
  /** syslinux in tenths of a second, GRUB in seconds */
  timeouts: { syslinux: number; grub: number }
  serial?: string
}

export interface MenuInput {
  plan: HostPlan
  /** image.console from the profile, e.g. ttyS0,115200 */
  console?: string
  /** image.timeout in seconds; undefined: the base ISO's own values */
  timeoutS?: number
  base: { flavor: string; kernel: string; initramfs: string; ucode: string[]; timeouts: { syslinux?: number; grub?: number }; serial?: string }
  supplement: string // absolute path on the ISO
  /** test builds only: boot the rescue entry by default */
  defaultEntry?: 0 | 1
  /** negative control only: leave the supplement out of one menu */
  omitSupplementFrom?: 'syslinux' | 'grub'
}

const isVfioModule = (m: string) => (SUPPLEMENT_MODULES as readonly string[]).some((v) => v.replaceAll('-', '_') === m.replaceAll('-', '_'))

export function planMenus(input: MenuInput): MenuPlan {
  const { plan, base } = input
  const consoleOpt = input.console ? [`console=${input.console}`] : []
  const hostAppend = [plan.cmdline, ...consoleOpt].join(' ')
  // rescue: Alpine's modules= and the profile's own options, without anything vfio or IOMMU hostbake added
  const rescueModules = plan.initramfsModules.map((m) => m.value).filter((m) => !isVfioModule(m))
  const rescueOpts = plan.kernelOpts.filter((o) => o.reason === 'boot.kernelOpts' && !/^vfio/.test(o.value)).map((o) => o.value)
  // hostbake.rescue: the override hook (guard service and install lines) binds nothing on this boot
  const rescueAppend = [`modules=${rescueModules.join(',')}`, ...rescueOpts, 'hostbake.rescue', ...consoleOpt].join(' ')
  const stock = [...base.ucode, base.initramfs]
  return {
    entries: [
      { label: plan.hostname, title: `${plan.hostname}: Linux ${base.flavor} with VFIO`, kernel: base.kernel, initrds: [...stock, input.supplement], append: hostAppend },
      { label: 'rescue', title: `rescue: Linux ${base.flavor} without VFIO`, kernel: base.kernel, initrds: stock, append: rescueAppend },
    ],
    defaultEntry: input.defaultEntry ?? 0,
    timeouts: {
      syslinux: input.timeoutS !== undefined ? input.timeoutS * 10 : base.timeouts.syslinux ?? 10,
      grub: input.timeoutS !== undefined ? input.timeoutS : base.timeouts.grub ?? 1,
    },
    ...(base.serial ? { serial: base.serial } : {}),
  }
}

const without = (list: string[], drop: string | undefined) => list.filter((f) => f !== drop)

export function renderSyslinuxCfg(menu: MenuPlan, omit?: string): string {
  // TIMEOUT 0 with PROMPT 1 would wait forever: an unattended host boots at once (PROMPT 0)
  const lines = [...(menu.serial ? [menu.serial] : []), `TIMEOUT ${menu.timeouts.syslinux}`, `PROMPT ${menu.timeouts.syslinux === 0 ? 0 : 1}`,
    `DEFAULT ${menu.entries[menu.defaultEntry].label}`]
  for (const e of menu.entries) {
    lines.push('', `LABEL ${e.label}`, `\tMENU LABEL ${e.title}`, `\tKERNEL ${e.kernel}`, `\tINITRD ${without(e.initrds, omit).join(',')}`, `\tAPPEND ${e.append}`)
  }
  return `${lines.join('\n')}\n`
}

export function renderGrubCfg(menu: MenuPlan, omit?: string): string {
  const lines = [`set timeout=${menu.timeouts.grub}`, `set default=${menu.defaultEntry}`]
  for (const e of menu.entries) {
    lines.push('', `menuentry "${e.title}" {`, `\tlinux\t${e.kernel} ${e.append}`, `\tinitrd\t${without(e.initrds, omit).join(' ')}`, '}')
  }
  return `${lines.join('\n')}\n`
}

/** Both files, with the negative control's omission applied where asked. */
export function renderMenus(input: MenuInput): { plan: MenuPlan; syslinux: string; grub: string } {
  const plan = planMenus(input)
  return {
    plan,
    syslinux: renderSyslinuxCfg(plan, input.omitSupplementFrom === 'syslinux' ? input.supplement : undefined),
    grub: renderGrubCfg(plan, input.omitSupplementFrom === 'grub' ? input.supplement : undefined),
  }
}
