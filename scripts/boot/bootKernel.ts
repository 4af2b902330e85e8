// Locates the boot-test kernel prepared by ci/setup-boot.sh under .cache/ (never downloads anything itself).
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { $ } from 'zx'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { PACKAGE_ROOT } from '../shared/packagePaths.js'


export interface BootKernel {
  kver: string
  /** root of the unpacked linux-image package (holds lib/modules/<kver>) */
  root: string
  modulesDir: string
  /** uncompressed ELF, booted through PVH */
  vmlinux: string
  /** static VFIO userspace probe run inside the guest */
  probe: string
}

export function locateBootKernel(cacheDir = path.join(PACKAGE_ROOT, '.cache')): BootKernel {
  const hint = 'run `bash ci/setup-boot.sh` (npm test does it) to fetch and prepare the Debian kernel'
  const current = path.join(cacheDir, 'kernel', 'current')
  if (!existsSync(current)) throw new HostbakeError(`no boot-test kernel in ${cacheDir}/kernel`, { hint })
  const kver = readlinkSync(current)
  const root = path.join(cacheDir, 'kernel', kver)
  if (!existsSync(path.join(root, '.ready'))) throw new HostbakeError(`kernel cache ${root} is incomplete`, { hint })
  const kernel: BootKernel = {
    kver,
    root,
    modulesDir: path.join(root, 'lib', 'modules', kver),
    vmlinux: path.join(root, 'vmlinux'),
    probe: path.join(cacheDir, 'boot', 'vfio-probe'),
  }
  if (!existsSync(kernel.probe)) throw new HostbakeError(`missing ${kernel.probe}`, { hint })
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
export async function prepareUserKernel(user: UserKernel, cacheDir = path.join(PACKAGE_ROOT, '.cache')): Promise<BootKernel> {
  const { probe } = locateBootKernel(cacheDir) // the static VFIO probe is the harness's own
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
  return { kver: path.basename(modulesDir), root: tree, modulesDir, vmlinux: path.resolve(user.kernel), probe }
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
