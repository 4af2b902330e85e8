// hostbake pxe: profiles -> a netboot tree (Alpine's netboot files, per-MAC overlays and iPXE scripts, the
// hosts' supplementary initramfs, boot.ipxe, a dnsmasq snippet, manifest.json) that any web server can serve.
import { log, profileFiles, str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const v = args.values
  const { buildPxeTree } = await import('../netboot/pxeBuild.js')
  const out = str(v.output)!
  const { files, hosts, media } = await buildPxeTree({
    profiles: await profileFiles(args, 'pxe'), named: args.positionals.length > 0,
    alpine: str(v.alpine)!, url: str(v.url)!, out,
    ...(str(v['alpine-version']) ? { alpineVersion: str(v['alpine-version']) } : {}),
    ...(str(v.repo) ? { repo: str(v.repo) } : {}),
    ...(str(v.unknown) ? { unknown: str(v.unknown) } : {}),
    ...(str(v.dhcp) ? { dhcp: str(v.dhcp) } : {}),
    ...(str(v['tftp-root']) ? { tftpRoot: str(v['tftp-root']) } : {}),
    ...(str(v.efi) ? { efi: str(v.efi) } : {}),
    log,
  })
  process.stdout.write(files.map((f) => `${out.replace(/\/+$/, '')}/${f.path}\n`).join(''))
  log(`netboot tree for ${hosts.length} host${hosts.length === 1 ? '' : 's'} (Alpine ${media.version}) in ${out}/: hostbake serve ${out}`)
  return 0
}
