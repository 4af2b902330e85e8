// hostbake pxe, as named steps: load profiles -> check netboot -> bake -> load Alpine's netboot files ->
// supplementary initramfs per host -> plan the tree -> write it (temp folder renamed into place).
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { HostbakeError, ProfileError, type ProfileProblem } from '../shared/hostbakeError.js'
import { bakeHost, loadProfiles, type BakedHost } from '../hostPipeline.js'
import type { LoadedProfile } from '../profile/profileLoad.js'
import { loadAlpineNetboot, type AlpineNetboot } from './netbootMedia.js'
import { buildNetbootSupplements } from './netbootSupplement.js'
import { isIpv4, parseDhcpMode, type EfiLoader } from './dnsmasqRender.js'
import { ALPINE_FILES, UNKNOWN_HOST_ACTIONS, type NetbootUrls, type UnknownHostAction } from './ipxeRender.js'
import { planNetbootTree, writeNetbootTree, type NetbootMediaFile, type TreeFile } from './netbootTree.js'

export interface PxeOptions {
  profiles: string[]
  /** the profiles were named one by one (each must have a netboot: section); otherwise a folder's profiles
   *  without one are skipped with a log line, as boot-test skips those without a test: section */
  named?: boolean
  alpine: string
  alpineVersion?: string
  url: string
  repo?: string
  unknown?: string
  dhcp?: string
  tftpRoot?: string
  efi?: string
  out: string
  log: (msg: string) => void
}

/** The base URL hosts reach the tree at: plain http (BIOS iPXE builds have no HTTPS, delivery-facts §9 T2). */
export function checkBaseUrl(url: string): { base: string; host: string } {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new HostbakeError(`--url ${url}: not a URL`, { hint: 'the address hosts reach `hostbake serve` at, like http://192.168.1.5:8080' })
  }
  if (u.protocol !== 'http:') throw new HostbakeError(`--url ${url}: use http:// (stock BIOS iPXE builds cannot fetch https://)`)
  if (u.search || u.hash || u.username) throw new HostbakeError(`--url ${url}: no query, fragment or credentials (they would end up on every kernel command line)`)
  if (/[\s{}$]/.test(u.href)) throw new HostbakeError(`--url ${url}: no spaces, braces or $ (iPXE and initramfs-init would expand them)`)
  return { base: u.href.replace(/\/+$/, ''), host: u.hostname }
}

/** Named profiles must all netboot (a missing section is an input error); every problem at once. */
export function requireNetboot(loaded: LoadedProfile[]): void {
  const problems: ProfileProblem[] = loaded.filter((l) => l.profile.netboot === undefined)
    .map((l) => ({ ...l.locate(['hostname'], 'no netboot: section: add netboot: { mac: "52:54:00:12:34:56" } to serve this host by MAC'), field: 'netboot' }))
  if (problems.length > 0) throw new ProfileError(problems)
}

/** Overlay world and netboot kernel must be one Alpine release: 3.22 profiles boot 3.22.x netboot files. */
export function checkRelease(loaded: LoadedProfile[], version: string): void {
  const branch = version.split('.').slice(0, 2).join('.')
  const problems = loaded.filter((l) => l.profile.alpine.release !== branch)
    .map((l) => l.locate(['alpine', 'release'], `${l.profile.alpine.release} does not match the netboot files (Alpine ${version}): the overlay's packages come from its own release`))
  if (problems.length > 0) throw new ProfileError(problems)
}

function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256')
    let bytes = 0
    createReadStream(file).on('data', (c) => { h.update(c); bytes += c.length }).on('error', reject)
      .on('end', () => resolve({ sha256: h.digest('hex'), bytes }))
  })
}

export async function buildPxeTree(o: PxeOptions): Promise<{ files: TreeFile[]; hosts: BakedHost[]; media: AlpineNetboot }> {
  // --- cheap input checks first, then the profiles, then the media (unpacking a tarball takes seconds)
  const { base, host } = checkBaseUrl(o.url)
  const unknown = (o.unknown ?? 'alpine') as UnknownHostAction
  if (!UNKNOWN_HOST_ACTIONS.includes(unknown)) throw new HostbakeError(`--unknown ${o.unknown}: expected ${UNKNOWN_HOST_ACTIONS.join(', ')}`)
  const efi = (o.efi ?? 'ipxe.efi') as EfiLoader
  if (efi !== 'ipxe.efi' && efi !== 'snponly.efi') throw new HostbakeError(`--efi ${o.efi}: expected ipxe.efi or snponly.efi`)
  const dhcp = parseDhcpMode(o.dhcp ?? 'proxy', isIpv4(host) ? host : undefined)
  if (typeof dhcp === 'string') throw new HostbakeError(dhcp)
  const tftpRoot = o.tftpRoot ?? '/srv/tftp'
  if (!tftpRoot.startsWith('/') || /[\s,]/.test(tftpRoot)) throw new HostbakeError(`--tftp-root ${tftpRoot}: expected an absolute path without spaces or commas`)
  if (o.repo !== undefined) checkBaseUrl(o.repo.replace(/^https:/, 'http:'))

  let loaded = await loadProfiles(o.profiles)
  if (!o.named) {
    for (const l of loaded.filter((x) => x.profile.netboot === undefined)) o.log(`${l.file}: no netboot: section, not in the tree`)
    loaded = loaded.filter((x) => x.profile.netboot !== undefined)
    if (loaded.length === 0) throw new HostbakeError('no profile with a netboot: section', { hint: 'add netboot: { mac: "52:54:00:12:34:56" } to the profiles of the hosts that boot from the network' })
  }
  requireNetboot(loaded)
  o.log(`loaded ${loaded.length} profile${loaded.length === 1 ? '' : 's'}`)
  const hosts = await Promise.all(loaded.map((l) => bakeHost(l)))

  const media = await loadAlpineNetboot(o.alpine, o.alpineVersion)
  try {
    checkRelease(loaded, media.version)
    o.log(`Alpine ${media.version} netboot, kernel ${media.kernelRelease}`)
    const supplements = await buildNetbootSupplements(hosts, media)
    const mediaFiles: NetbootMediaFile[] = []
    for (const name of ALPINE_FILES) mediaFiles.push({ name, source: media.files[name], ...(await hashFile(media.files[name])) })
    const branch = media.version.split('.').slice(0, 2).join('.')
    const urls: NetbootUrls = { base, alpineDir: `alpine/${media.version}`, repo: o.repo ?? `http://dl-cdn.alpinelinux.org/alpine/v${branch}/main` }
    const files = planNetbootTree({
      urls, version: media.version, kernelRelease: media.kernelRelease, media: mediaFiles, unknown,
      dnsmasq: { dhcp, tftpRoot, efiLoader: efi },
      hosts: hosts.map((h, i) => ({
        hostname: h.hostname, macs: loaded[i].profile.netboot!.mac, cmdline: h.plan.cmdline,
        ...(loaded[i].profile.netboot!.interface ? { iface: loaded[i].profile.netboot!.interface } : {}),
        apkovl: h.apkovl, supplement: supplements.get(h.hostname)!,
      })),
    })
    await writeNetbootTree(o.out, files)
    return { files, hosts, media }
  } finally {
    await media.release()
  }
}
