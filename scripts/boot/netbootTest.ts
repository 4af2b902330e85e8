// boot-test --netboot: a profile's test machine network-boots a tree `hostbake pxe` made, with the profile's first
// MAC (or another), and the profile's expectations. The tree is served as written; only the expectations travel
// to the guest separately (fw_cfg).
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { bakeHost } from '../hostPipeline.js'
import type { LoadedProfile } from '../profile/profileLoad.js'
import { readManifest } from '../netboot/netbootTree.js'
import { overlayPath } from '../netboot/ipxeRender.js'
import { planBootExpect, planBootMachine } from './bootTest.js'
import { renderBootExpect } from './bootOverlay.js'
import { bootNetboot, type Firmware, type NetbootReport } from './bootNetboot.js'

export interface NetbootTestOptions {
  tree: string
  firmware: Firmware
  /** default: the profile's first netboot MAC */
  mac?: string
  timeoutS: number
  keep?: boolean
  log?: (msg: string) => void
}

export interface NetbootTestResult extends NetbootReport {
  profile: string
  hostname: string
  mac: string
  firmware: Firmware
}


export async function bootTestNetboot(loaded: LoadedProfile, opts: NetbootTestOptions): Promise<NetbootTestResult> {
  const manifest = await readManifest(opts.tree)
  if (!manifest) throw new HostbakeError(`--netboot ${opts.tree}: not a netboot tree (no manifest.json)`, { hint: 'hostbake pxe PROFILE --alpine NETBOOT --url http://10.0.2.100 -o TREE' })
  const host = await bakeHost(loaded)
  const mac = opts.mac ?? loaded.profile.netboot?.mac[0]
  if (mac === undefined) throw new HostbakeError(`${loaded.file}: no netboot: section, so no MAC to boot from`)
  const machine = planBootMachine(loaded)
  const e = planBootExpect(host, loaded)
  const expect: Record<string, string> = {
    ...renderBootExpect(machine.iommu, e),
    EXPECT_MEDIUM: 'netboot',
    EXPECT_INITRAMFS_FILES: '',
    // the overlay URL the host's own MAC makes, the overlay's hostname and the supplementary initramfs's marker
    EXPECT_APKOVL_URL: `${manifest.base}/${overlayPath(mac)}`,
    EXPECT_HOSTNAME: host.hostname,
    EXPECT_SUPPLEMENT: host.hostname,
  }
  // unpredictable, 0700 (a planted name in /tmp cannot take its place)
  const workDir = await mkdtemp(path.join(os.tmpdir(), `hostbake-netboot-${host.hostname}-`))
  const r = await bootNetboot({
    tree: opts.tree, mac, firmware: opts.firmware, machine, expect, workDir, timeoutS: opts.timeoutS,
    ...(opts.keep ? { keep: true } : {}), ...(opts.log ? { log: opts.log } : {}),
  })
  return { ...r, profile: loaded.file, hostname: host.hostname, mac, firmware: opts.firmware }
}
