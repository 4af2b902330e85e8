// The boot-test kernel: prepared once into the cache (prepare-kernel.sh, through apt), then only located.
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { $ } from 'zx'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { packagePath } from '../shared/packagePaths.js'
import { ALPINE_DEFAULTS_CMDLINE } from './kernelDefaults.js'


export interface BootKernel {
  kver: string
  /** root of the unpacked linux-image package (holds lib/modules/<kver>) */
  root: string
  modulesDir: string
  /** uncompressed ELF, booted through PVH */
  vmlinux: string
  /** static VFIO userspace probe run inside the guest */
  probe: string
  /** the same modules in a format busybox's modprobe reads, for rootfs worlds without kmod (default: modulesDir) */
  busyboxModulesDir?: string
  /** the folder the modloop share exports, holding both trees (default: the parent of modulesDir) */
  modloopRoot?: string
  /** kernel parameters that make this kernel behave as Alpine's does (kernelDefaults.ts): the harness's Debian kernel only */
  cmdlineDefaults?: string
  /** ifupdown-ng unpacked from Debian's package (the guest brings bridges up with it) */
  ifupdownNg: string
}

export function locateBootKernel(cacheDir: string): BootKernel {
  const hint = `hostbake boot-test --prepare --cache ${cacheDir} fetches and prepares the Debian kernel (once)`
  const current = path.join(cacheDir, 'kernel', 'current')
  if (!existsSync(current)) throw new HostbakeError(`no boot-test kernel in ${cacheDir}/kernel`, { hint })
  const kver = readlinkSync(current)
  const root = path.join(cacheDir, 'kernel', kver)
  if (!existsSync(path.join(root, '.ready'))) throw new HostbakeError(`kernel cache ${root} is incomplete`, { hint })
  // a cache prepared before the Alpine-shaped trees existed would boot Debian's `.ko` files, where a features.d
  // line ending in `.ko` matches (a pass that fails on Alpine): incomplete, prepared again
  if (!alpineTreesReady(root)) throw new HostbakeError(`kernel cache ${root} has no Alpine-shaped module tree`, { hint })
  const kernel: BootKernel = {
    kver,
    root,
    ...alpineModuleTrees(root, kver),
    vmlinux: path.join(root, 'vmlinux'),
    probe: path.join(cacheDir, 'boot', 'vfio-probe'),
    ifupdownNg: path.join(cacheDir, 'tools', 'ifupdown-ng'),
    cmdlineDefaults: ALPINE_DEFAULTS_CMDLINE,
  }
  for (const f of [kernel.probe, kernel.ifupdownNg]) if (!existsSync(f)) throw new HostbakeError(`missing ${f}`, { hint })
  return kernel
}

export interface UserKernel {
  /** a kernel image QEMU can boot with -kernel: Alpine's vmlinuz-lts (bzImage) or an uncompressed vmlinux */
  kernel: string
  /** the kernel's modules: Alpine's modloop-lts (squashfs holding modules/<kver>/), or a folder */
  modloop: string
}

// A user's own kernel and modules (e.g. Alpine's netboot vmlinuz-lts + modloop-lts), booted through the
// same stand-in initramfs: mkinitfs' rules applied to the real Alpine module tree. A squashfs modloop is
// unpacked once into .cache/modloop/<sha256>/ (unsquashfs, from Debian's squashfs-tools).
export async function prepareUserKernel(user: UserKernel, cacheDir: string): Promise<BootKernel> {
  const { probe, ifupdownNg } = locateBootKernel(cacheDir) // the static VFIO probe and ifupdown-ng are the harness's own
  for (const [flag, p] of [['--kernel', user.kernel], ['--modloop', user.modloop]]) {
    if (!existsSync(p)) throw new HostbakeError(`${flag} ${p}: no such file`)
  }
  let tree = user.modloop
  if (!statSync(tree).isDirectory()) {
    const sum = createHash('sha256').update(await readFile(tree)).digest('hex').slice(0, 16)
    tree = path.join(cacheDir, 'modloop', sum)
    if (!existsSync(path.join(tree, '.ready'))) {
      await rm(tree, { recursive: true, force: true })
      await mkdir(path.dirname(tree), { recursive: true })
      const r = await $({ quiet: true, nothrow: true })`unsquashfs -no-progress -d ${tree} ${user.modloop}`.timeout('120s')
      if (r.exitCode !== 0) throw new HostbakeError(`--modloop ${user.modloop}: unsquashfs failed (${r.exitCode}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}`, { hint: 'give Alpine\'s modloop-lts (squashfs) or a folder holding modules/<kver>/' })
      await writeFile(path.join(tree, '.ready'), '')
    }
  }
  const modulesDir = findModulesDir(tree)
  if (!modulesDir) throw new HostbakeError(`--modloop ${user.modloop}: no modules/<kver>/modules.dep inside`, { hint: 'Alpine\'s modloop holds modules/<kver>/ with modules.dep at its top level' })
  return { kver: path.basename(modulesDir), root: tree, modulesDir, vmlinux: path.resolve(user.kernel), probe, ifupdownNg }
}

// modules/<kver>/modules.dep (Alpine's modloop), lib/modules/<kver>/ (a package tree) or <kver>/ itself
function findModulesDir(tree: string): string | undefined {
  for (const base of [path.join(tree, 'modules'), path.join(tree, 'lib', 'modules'), tree]) {
    if (!existsSync(base)) continue
    const kvers = readdirSync(base).filter((k) => existsSync(path.join(base, k, 'modules.dep'))).sort()
    if (kvers.length === 1) return path.join(base, kvers[0])
  }
  return undefined
}

// The tools boot-test runs on this machine, each with the Debian package that provides it: named before anything starts.
export function checkBootTools(): void {
  const table = JSON.parse(readFileSync(packagePath('scripts', 'boot', 'boot-tools.json'), 'utf8')) as Record<string, string>
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean)
  const missing = Object.entries(table).filter(([bin]) => !bin.startsWith('_') && !dirs.some((d) => existsSync(path.join(d, bin))))
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, p]) => p))].join(' ')
    throw new HostbakeError(`boot-test needs ${missing.map(([b]) => b).join(', ')}, not found on PATH`, { hint: `apt-get install ${pkgs} (Debian/Ubuntu)`, exitCode: 1 })
  }
}

// Fetches (through apt) and prepares the boot-test kernel, the VFIO probe and ifupdown-ng into cacheDir, once.
export async function prepareBootKernel(cacheDir: string): Promise<BootKernel> {
  checkBootTools()
  const r = await $({ nothrow: true, stdio: ['ignore', 'inherit', 'inherit'] })`bash ${packagePath('scripts', 'boot', 'prepare-kernel.sh')} ${cacheDir}`
  if (r.exitCode !== 0) throw new HostbakeError(`preparing the boot-test kernel in ${cacheDir} failed (exit ${r.exitCode})`, { hint: 'see the lines above; it needs apt and Debian\'s package lists', exitCode: 1 })
  return locateBootKernel(cacheDir)
}

// The module trees boots use (scripts/boot/module-tree.sh): zstd for kmod, xz for busybox's modprobe, both
// compressed and unsigned as Alpine's; the modloop share exports the kernel folder holding both.
const alpineModuleTrees = (root: string, kver: string): Pick<BootKernel, 'modulesDir' | 'busyboxModulesDir' | 'modloopRoot'> => ({
  modulesDir: path.join(root, 'alpine-zst', 'lib', 'modules', kver),
  busyboxModulesDir: path.join(root, 'alpine', 'lib', 'modules', kver),
  modloopRoot: root,
})

const alpineTreesReady = (root: string) => ['alpine', 'alpine-zst'].every((d) => existsSync(path.join(root, d, '.ready')))
