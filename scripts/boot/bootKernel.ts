// Locates the boot-test kernel prepared by ci/setup-boot.sh under .cache/ (never downloads anything itself).
import { existsSync, readlinkSync } from 'node:fs'
import path from 'node:path'
import { HostbakeError } from '../hostbakeError.js'
import { REPO_ROOT } from '../repoRoot.js'


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

export function locateBootKernel(cacheDir = path.join(REPO_ROOT, '.cache')): BootKernel {
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
