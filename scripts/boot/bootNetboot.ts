/**
 * bootNetboot: one network boot of a netboot tree, the way a rack host boots it, and the guest's own verdict.
 *
 *   const r = await bootNetboot({ tree: 'netboot/', mac: '52:54:00:12:34:56', firmware: 'uefi', machine, expect, workDir, timeoutS: 90 })
 *
 * QEMU's own iPXE ROM on a virtio-net NIC (-boot from the NIC, SeaBIOS or OVMF) gets boot.ipxe from slirp's TFTP
 * (user networking, restrict=on: no way out), then everything else over HTTP from `hostbake serve` on 127.0.0.1,
 * reached through a per-connection guestfwd bridge (a tcp chardev serves one connection only; delivery-facts §7b).
 * The tree's scripts and kernel command lines are booted as written; the harness only hands its expectations
 * to the guest through fw_cfg. The server's log lines come back with the report.
 */
import { copyFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { HostbakeError } from '../shared/hostbakeError.js'
import { readManifest } from '../netboot/netbootTree.js'
import { startNetbootServer } from '../netboot/serve.js'
import { prepareWorkDir } from './bootOverlay.js'
import { readGuestVerdict, type BootCheck } from './bootReport.js'
import { renderExpect } from './initramfsBuild.js'
import { withBootSlot } from './bootSchedule.js'
import { runQemu, type QemuMachine } from './qemuBoot.js'

export type Firmware = 'bios' | 'uefi'
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd'
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd'

export interface NetbootBootOptions {
  tree: string
  mac: string
  firmware: Firmware
  machine: QemuMachine
  /** shell assignments for the guest's checks (EXPECT_*), handed over through fw_cfg */
  expect: Record<string, string>
  workDir: string
  timeoutS: number
  keep?: boolean
  log?: (msg: string) => void
}

export interface NetbootReport {
  ok: boolean
  checks: BootCheck[]
  passed: number
  failed: number
  timedOut: boolean
  panicked: boolean
  wallS: number
  /** QEMU start to the guest's sentinel */
  sentinelAtS?: number
  /** guest uptime at its report: the rest of sentinelAtS is firmware, iPXE and downloads */
  guestUptimeS?: number
  serverLog: string[]
  serialLogPath: string
  workDir?: string
  tail?: string
}

/** Where the tree's base URL points, as slirp sees it: guestfwd needs an address in the guest's network. */
export function planGuestNetwork(base: string): { netdev: string; addr: string; port: number } {
  const u = new URL(base)
  const port = Number(u.port || 80)
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(u.hostname)
  // slirp's own addresses in its /24: .2 host, .3 DNS, .15-.30 its DHCP pool
  const last = m ? Number(m[4]) : 0
  if (!m || last < 4 || (last >= 15 && last <= 30) || last > 254) {
    throw new HostbakeError(`the tree's URL ${base}: a network boot test needs an IPv4 address outside slirp's own (.1-.3, .15-.30 of the /24)`, { hint: 'e.g. hostbake pxe ... --url http://10.0.2.100' })
  }
  return { netdev: `net=${m[1]}.${m[2]}.${m[3]}.0/24`, addr: u.hostname, port }
}

export function bootNetboot(opts: NetbootBootOptions): Promise<NetbootReport> {
  return withBootSlot(() => bootNetbootNow(opts))
}

async function bootNetbootNow(opts: NetbootBootOptions): Promise<NetbootReport> {
  const started = performance.now()
  const log = opts.log ?? ((m: string) => process.stderr.write(`boot: ${m}\n`))
  const manifest = await readManifest(opts.tree)
  if (!manifest) throw new HostbakeError(`${opts.tree}: not a netboot tree (no manifest.json)`, { hint: 'hostbake pxe ... -o TREE writes one' })
  const net = planGuestNetwork(manifest.base)
  const work = path.resolve(opts.workDir)
  await prepareWorkDir(work, ['tftp'])
  const serialLogPath = path.join(work, 'serial.log')
  const serverLog: string[] = []
  const server = await startNetbootServer({ root: opts.tree, listen: { host: '127.0.0.1', port: 0 }, log: (l) => serverLog.push(l) })
  let ok = false
  try {
    // TFTP serves only the first script; the rest is HTTP, as the dnsmasq snippet arranges for real hosts
    await copyFile(path.join(opts.tree, 'boot.ipxe'), path.join(work, 'tftp', 'boot.ipxe'))
    const expectFile = path.join(work, 'expect')
    await writeFile(expectFile, renderExpect(opts.expect))
    const port = new URL(server.url).port
    const extra: string[] = [
      '-netdev', `user,id=pxe0,restrict=on,${net.netdev},tftp=${work}/tftp,bootfile=boot.ipxe,guestfwd=tcp:${net.addr}:${net.port}-cmd:busybox nc 127.0.0.1 ${port}`,
      '-device', `virtio-net-pci,netdev=pxe0,mac=${opts.mac},bootindex=1`,
      '-fw_cfg', `name=opt/hostbake/expect,file=${expectFile}`,
    ]
    if (opts.firmware === 'uefi') {
      const vars = path.join(work, 'OVMF_VARS.fd') // every guest writes its own copy (README.Debian)
      await copyFile(OVMF_VARS, vars)
      extra.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${vars}`)
    }
    log(`${opts.mac}: qemu ${opts.firmware} network boot`)
    const run = await runQemu({
      machine: opts.machine, extra, serialLog: serialLogPath, pidFile: path.join(work, 'qemu.pid'), timeoutS: opts.timeoutS,
      accel: 'tcg',
    })
    const { guest, passed, failed, ok: pass, tail } = await readGuestVerdict(serialLogPath)
    ok = pass
    const wallS = (performance.now() - started) / 1000
    log(`${opts.mac}: ${ok ? 'PASS' : 'FAIL'} ${passed} passed, ${failed} failed (${wallS.toFixed(2)} s)`)
    await writeFile(path.join(work, 'server.log'), serverLog.join('\n') + '\n')
    return {
      ok, checks: guest.checks, passed, failed, timedOut: run.timedOut, panicked: run.panicked, wallS,
      ...(run.sentinelAtS !== undefined ? { sentinelAtS: run.sentinelAtS } : {}),
      ...(guest.guestUptimeS !== undefined ? { guestUptimeS: guest.guestUptimeS } : {}),
      serverLog, serialLogPath,
      ...(opts.keep || !ok ? { workDir: work } : {}),
      ...(tail ? { tail } : {}),
    }
  } finally {
    await server.close()
    if (ok && !opts.keep) await rm(work, { recursive: true, force: true })
  }
}
