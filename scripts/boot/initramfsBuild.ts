// Stand-in for Alpine's mkinitfs: builds the guest initramfs from an unpacked overlay, following mkinitfs's rules.
//  - features: `features=` from the overlay's etc/mkinitfs/mkinitfs.conf, sourced as shell (mkinitfs does the same);
//    each NAME.modules / NAME.files comes from the overlay's etc/mkinitfs/features.d, else from our stand-in
//    subsets of the stock features (scripts/boot/features.d); unknown features are skipped silently, as mkinitfs does.
//  - lines: empty lines and lines starting with `#` deleted (only those), leading `/` replaced by /lib/modules/$KVER/
//    (.modules) or the system root (.files, here: the overlay), split on shell whitespace and expanded as globs;
//    a directory means every file under it (parseFeatureFile).
//  - modules are closed over modules.dep (hard deps only, never modules.softdep), then depmod runs in the image.
//  - the overlay's etc/modprobe.d/* is copied in (mkinitfs base.files).
// Userland is Debian's busybox-static plus kmod (through its symlinks) and kmod's shared libraries.
import { $ } from 'zx'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { BootKernel } from './bootKernel.js'
import { COLLECTOR_SCRIPT } from '../snapshot/snapshotCollect.js'
import { ALPINE_DEFAULT_FEATURES, ALPINE_ISO_FEATURES } from '../alpine/alpineDefaults.js'
import { shellQuote } from '../shared/shellQuote.js'
import { PACKAGE_ROOT, codeFileOf } from '../shared/packagePaths.js'
import { parseModulesDep } from '../image/supplementInitramfs.js'

const stockFeaturesDir = path.join(PACKAGE_ROOT, 'scripts', 'boot', 'features.d')
const guestDir = path.join(PACKAGE_ROOT, 'scripts', 'boot', 'guest')
// this module's code: part of the cache keys here and in standInMedia.ts
export const INITRAMFS_BUILD_CODE = codeFileOf(import.meta.url, 'dist/scripts/boot/initramfsBuild.js')

export interface InitramfsSpec {
  kernel: BootKernel
  /** the apkovl unpacked on the host (read-only input) */
  overlayDir: string
  /** staging directory, created here */
  stageDir: string
  /** output: uncompressed newc cpio */
  output: string
  /** shell-sourceable assignments for the guest's checks (/etc/hostbake/expect); none: a medium's image, whose
   *  guest reads them from QEMU's fw_cfg at boot */
  expect?: Record<string, string>
  /** copy this apkovl into /hostbake/root/ (stand-in for a sys install's root disk) */
  embedApkovl?: string
  /** Alpine's stock media image (diskless): these features (ALPINE_ISO_FEATURES, ALPINE_NETBOOT_FEATURES) from the
   *  stand-in subsets and the build host's (empty) modprobe.d, never the overlay's mkinitfs.conf, features.d or
   *  modprobe.d; the overlay's .files words are then only expectations */
  stock?: readonly string[]
}

export interface InitramfsResult {
  features: string[]
  /** module paths relative to /lib/modules/$KVER, after the modules.dep closure */
  modules: string[]
  /** absolute paths listed by the overlay's .files features */
  files: string[]
  missingFiles: string[]
}

/** mkinitfs.conf is sourced as shell; read `features` the same way and split it as `for f in $features` does
 *  (space, tab, newline: a CR is part of a word, so `features="... vfio"` with CRLF line ends names "vfio\r"). */
export async function readFeatures(overlayDir: string): Promise<string[]> {
  const conf = path.join(overlayDir, 'etc/mkinitfs/mkinitfs.conf')
  if (!existsSync(conf)) return [...ALPINE_DEFAULT_FEATURES]
  const out = await $({ quiet: true, nothrow: true })`sh -c ${'features=; . "$1" 2>/dev/null; printf %s "$features"'} sh ${conf}`.timeout('5s')
  return splitShellWords(out.stdout)
}

/** the shell's default IFS: space, tab, newline (never CR) */
export function splitShellWords(text: string): string[] {
  return text.split(/[ \t\n]+/).filter(Boolean)
}

/**
 * mkinitfs feature_files(), line rules: empty lines and lines that START with `#` are deleted (nothing else: an
 * indented or trailing `#` stays), leading slashes of each line become the base directory, and the result is split
 * on shell whitespace. So the first word of a line is relative to the base ('' = the base directory itself: every
 * file under it), later words stay as written (relative: to the base, where mkinitfs runs; absolute: the build
 * host's own files, which the stand-in cannot see and drops).
 */
export function parseFeatureFile(text: string): string[] {
  return text.split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .flatMap((line) => splitShellWords('./' + line.replace(/^\/*/, '')))
    .filter((w) => !w.startsWith('/'))
}

/** Each word globbed under baseDir as feature_files() does; a directory (symlinks followed, as `[ -d ]` does) means
 *  every regular file under it. Paths relative to baseDir. */
async function expandFeatureFile(listFile: string, baseDir: string): Promise<string[]> {
  return (await expandFeatureWords(listFile, baseDir)).files
}

/** expandFeatureFile, and the words that matched nothing (mkinitfs skips them silently: the report names them) */
async function expandFeatureWords(listFile: string, baseDir: string): Promise<{ files: string[]; unmatched: string[] }> {
  const words = parseFeatureFile(await fs.readFile(listFile, 'utf8'))
  if (words.length === 0) return { files: [], unmatched: [] }
  const script = `cd "$1" || exit 1; shift
for glob in "$@"; do
  n=0
  for f in $glob; do
    if [ -d "$f" ]; then find "$f" -type f; n=1; elif [ -e "$f" ]; then echo "$f"; n=1; fi
  done
  [ $n = 1 ] || printf '!%s\\n' "$glob"
done`
  const out = await $({ quiet: true })`sh -c ${script} sh ${baseDir} ${words}`.timeout('20s')
  const lines = out.stdout.split('\n').filter(Boolean)
  return {
    files: [...new Set(lines.filter((l) => !l.startsWith('!')).map((f) => path.normalize(f)))],
    unmatched: lines.filter((l) => l.startsWith('!')).map((l) => path.normalize(l.slice(1))),
  }
}

/** The file words of a .files feature, as absolute paths, whether or not they exist (for the guest's check). */
async function listFeatureWords(listFile: string): Promise<string[]> {
  return parseFeatureFile(await fs.readFile(listFile, 'utf8')).map((w) => path.normalize('/' + w))
}

const depCache = new Map<string, Map<string, string[]>>()
async function readModulesDep(modulesDir: string): Promise<Map<string, string[]>> {
  let deps = depCache.get(modulesDir)
  if (deps) return deps
  deps = parseModulesDep(await fs.readFile(path.join(modulesDir, 'modules.dep'), 'utf8'))
  depCache.set(modulesDir, deps)
  return deps
}

/** mkinitfs find_kmod_deps: recursive closure over modules.dep (hard dependencies only). */
export async function closeModules(modulesDir: string, wanted: string[]): Promise<string[]> {
  const deps = await readModulesDep(modulesDir)
  const seen = new Set<string>()
  const visit = (m: string) => {
    if (seen.has(m)) return
    seen.add(m)
    for (const d of deps.get(m) ?? []) visit(d)
  }
  wanted.forEach(visit)
  return [...seen].sort()
}

function featureFile(overlayDir: string | undefined, name: string, suffix: 'modules' | 'files'): string | undefined {
  const own = overlayDir && path.join(overlayDir, 'etc/mkinitfs/features.d', `${name}.${suffix}`)
  if (own && existsSync(own)) return own
  const stock = path.join(stockFeaturesDir, `${name}.${suffix}`)
  return existsSync(stock) ? stock : undefined
}

let userlandCache: Promise<{ applets: string[]; libs: string[] }> | undefined
function readUserland(kernel: BootKernel) {
  userlandCache ??= (async () => {
    const applets = (await $({ quiet: true })`/bin/busybox --list`).stdout.split('\n').filter(Boolean)
    const ldd = (await $({ quiet: true })`ldd /usr/bin/kmod ${ifupdownBin(kernel)}`).stdout
    const libs = [...new Set([...ldd.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]))]
    return { applets, libs }
  })()
  return userlandCache
}

const kmodLinks = ['modprobe', 'insmod', 'rmmod', 'lsmod', 'modinfo', 'depmod']

/** The modules mkinitfs would put in the image: features' .modules globs, closed over modules.dep. */
export async function planInitramfsModules(kernel: BootKernel, overlayDir: string | undefined, harness = true, stock: readonly string[] = ALPINE_ISO_FEATURES): Promise<{ features: string[]; modules: string[]; unmatched: string[] }> {
  // no overlay: a stock media image (its features from the stand-in subsets only)
  const features = overlayDir ? await readFeatures(overlayDir) : [...stock]
  const found: string[] = []
  const unmatched: string[] = []
  for (const name of [...features, ...(harness ? ['hostbake-harness'] : [])]) {
    const list = featureFile(overlayDir, name, 'modules')
    if (!list) continue
    const r = await expandFeatureWords(list, kernel.modulesDir)
    found.push(...r.files)
    // the overlay's own lines that select nothing (a `.ko` glob against compressed modules, a CR, a typo)
    if (overlayDir && list.startsWith(overlayDir)) unmatched.push(...r.unmatched.map((w) => `${name}.modules:${JSON.stringify(w).slice(1, -1)}`))
  }
  return { features, modules: await closeModules(kernel.modulesDir, [...new Set(found)]), unmatched }
}

export async function buildInitramfs(spec: InitramfsSpec): Promise<InitramfsResult> {
  const { kernel, overlayDir, stageDir: root } = spec
  const { features, modules, unmatched } = await planInitramfsModules(kernel, spec.stock ? undefined : overlayDir, true, spec.stock)
  const kdir = path.join(root, 'lib/modules', kernel.kver)
  for (const m of modules) {
    await fs.mkdir(path.join(kdir, path.dirname(m)), { recursive: true })
    await fs.link(path.join(kernel.modulesDir, m), path.join(kdir, m)).catch(() => fs.copyFile(path.join(kernel.modulesDir, m), path.join(kdir, m)))
  }
  for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
    await fs.copyFile(path.join(kernel.modulesDir, f), path.join(kdir, f))
  }
  await $({ quiet: true })`depmod -b ${root} ${kernel.kver}`.timeout('20s')
  // --- .files features (from the overlay, the stand-in for the host's filesystem)
  const files: string[] = []
  const missingFiles: string[] = []
  for (const name of spec.stock ? await readFeatures(overlayDir) : features) {
    const list = path.join(overlayDir, 'etc/mkinitfs/features.d', `${name}.files`)
    if (!existsSync(list)) continue
    const words = await listFeatureWords(list)
    files.push(...words)
    if (spec.stock) continue // the host needs them at this stage; only a supplementary initramfs can bring them
    const present = await expandFeatureFile(list, overlayDir)
    for (const rel of present) {
      await fs.mkdir(path.join(root, path.dirname(rel)), { recursive: true })
      await fs.cp(path.join(overlayDir, rel), path.join(root, rel), { verbatimSymlinks: true })
    }
    for (const w of words) if (!w.includes('*') && !present.includes(w.slice(1))) missingFiles.push(w)
  }
  // --- modprobe.d (base.files: /etc/modprobe.d/*.conf)
  const modprobeD = path.join(overlayDir, 'etc/modprobe.d')
  await fs.mkdir(path.join(root, 'etc/modprobe.d'), { recursive: true })
  if (existsSync(modprobeD) && !spec.stock) {
    for (const f of await fs.readdir(modprobeD)) await fs.copyFile(path.join(modprobeD, f), path.join(root, 'etc/modprobe.d', f))
  }
  await fs.mkdir(path.join(root, 'etc/hostbake'), { recursive: true })
  await fs.mkdir(path.join(root, 'hostbake/root'), { recursive: true })
  if (spec.expect) {
    // the features as mkinitfs read them, a CR or other control character made visible ("vfio\r")
    const shownFeatures = features.map((f) => (/^[\x21-\x7e]+$/.test(f) ? f : JSON.stringify(f))).join(' ')
    const expect = { ...spec.expect, EXPECT_INITRAMFS_FILES: files.join(' '), EXPECT_FEATURES: shownFeatures, EXPECT_UNMATCHED: unmatched.join(' ') }
    await fs.writeFile(path.join(root, 'etc/hostbake/expect'), renderExpect(expect))
  }
  if (spec.embedApkovl) await fs.copyFile(spec.embedApkovl, path.join(root, 'hostbake/root', path.basename(spec.embedApkovl)))
  // --- pack: newc, uncompressed (saves ~0.1 s of guest time over gzip)
  // the kernel unpacks concatenated newc archives in order: cached userland first, then this overlay's part
  const base = await buildUserlandCpio(kernel)
  await fs.copyFile(base, spec.output)
  await packCpio(root, spec.output, true)
  return { features, modules, files, missingFiles }
}

export const renderExpect = (expect: Record<string, string>) => Object.entries(expect).map(([k, v]) => `${k}=${shellQuote(v)}\n`).join('')

async function packCpio(dir: string, output: string, append = false) {
  const pack = `cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet ${append ? '>>' : '>'} "$2"`
  await $({ quiet: true })`sh -c ${pack} sh ${dir} ${output}`.timeout('30s')
}

// ifupdown-ng, which Alpine's base system configures networks with (unpacked by prepare-kernel.sh, never installed)
const ifupdownBin = (kernel: BootKernel) => path.join(kernel.ifupdownNg, 'sbin', 'ifupdown')

// hostbake's own snapshot collector, run in the guest for real snapshots (issue: know the host)
const collectorScript = COLLECTOR_SCRIPT

const userlandBuilds = new Map<string, Promise<string>>()
/** The userland part (busybox, kmod + libs, rootfs symlink farms, /init, the probe), built once per content. */
function buildUserlandCpio(kernel: BootKernel): Promise<string> {
  let p = userlandBuilds.get(kernel.probe)
  if (!p) {
    p = buildUserlandCpioNow(kernel)
    userlandBuilds.set(kernel.probe, p)
    p.catch(() => userlandBuilds.delete(kernel.probe))
  }
  return p
}
async function buildUserlandCpioNow(kernel: BootKernel): Promise<string> {
  // small inputs by content (tsc rewrites this module on every build), binaries by size and mtime
  const hash = createHash('sha256')
  for (const f of [path.join(guestDir, 'init.sh'), path.join(guestDir, 'checks.sh'), collectorScript, INITRAMFS_BUILD_CODE]) hash.update(await fs.readFile(f))
  for (const f of [kernel.probe, '/bin/busybox', '/usr/bin/kmod', ifupdownBin(kernel)]) {
    const st = await fs.stat(f)
    hash.update(`${f}:${st.size}:${st.mtimeMs}\n`)
  }
  const dir = path.join(path.dirname(kernel.probe), 'userland')
  const out = path.join(dir, `userland-${hash.digest('hex').slice(0, 16)}.cpio`)
  if (existsSync(out)) return out
  await fs.mkdir(dir, { recursive: true })
  const root = await fs.mkdtemp(path.join(dir, 'stage-'))
  try {
    const { applets, libs } = await readUserland(kernel)
    for (const d of ['bin', 'usr', 'etc', 'proc', 'sys', 'dev', 'tmp', 'media', 'lib64', 'hostbake']) {
      await fs.mkdir(path.join(root, d), { recursive: true })
    }
    await fs.symlink('bin', path.join(root, 'sbin'))
    await fs.symlink('../bin', path.join(root, 'usr/bin'))
    await fs.symlink('../bin', path.join(root, 'usr/sbin'))
    await fs.copyFile('/bin/busybox', path.join(root, 'bin/busybox'))
    for (const a of applets) if (!kmodLinks.includes(a) && a !== 'busybox') await fs.symlink('busybox', path.join(root, 'bin', a))
    // kmod only works through its symlinks (`kmod modprobe` is "invalid command")
    await fs.copyFile('/usr/bin/kmod', path.join(root, 'bin/kmod'))
    for (const l of kmodLinks) await fs.symlink('kmod', path.join(root, 'bin', l))
    for (const lib of libs) {
      const dest = path.join(root, lib.startsWith('/lib64/') ? lib : path.join('lib/x86_64-linux-gnu', path.basename(lib)))
      await fs.mkdir(path.dirname(dest), { recursive: true })
      await fs.copyFile(await fs.realpath(lib), dest)
    }
    // the rootfs "packages": applet symlink farms the guest copies into the sysroot (busybox modprobe, or kmod's when
    // the world has kmod); targets are the initramfs /bin, bind-mounted at /hostbake/bin inside the sysroot
    for (const flavour of ['busybox', 'kmod'] as const) {
      const farm = path.join(root, 'hostbake', `rootfs-${flavour}`)
      await fs.mkdir(path.join(farm, 'bin'), { recursive: true })
      await fs.mkdir(path.join(farm, 'sbin'), { recursive: true })
      // Alpine links busybox applets into /bin and /sbin (udhcpc, ip, ... are looked up in /sbin)
      for (const a of applets) {
        if (kmodLinks.includes(a) || ['ifup', 'ifdown'].includes(a)) continue
        await fs.symlink('/hostbake/bin/busybox', path.join(farm, 'bin', a))
        await fs.symlink('/hostbake/bin/busybox', path.join(farm, 'sbin', a))
      }
      for (const l of kmodLinks) await fs.symlink(`/hostbake/bin/${flavour}`, path.join(farm, 'sbin', l))
      // ifupdown-ng (in alpine-base): the binary, its applet links and its executors
      await fs.copyFile(ifupdownBin(kernel), path.join(farm, 'sbin', 'ifupdown'))
      await fs.chmod(path.join(farm, 'sbin', 'ifupdown'), 0o755)
      for (const a of ['ifup', 'ifdown', 'ifquery', 'ifparse', 'ifctrstat']) await fs.symlink('ifupdown', path.join(farm, 'sbin', a))
      await fs.cp(path.join(kernel.ifupdownNg, 'usr', 'libexec', 'ifupdown-ng'), path.join(farm, 'usr', 'libexec', 'ifupdown-ng'), { recursive: true })
    }
    await fs.copyFile(path.join(guestDir, 'init.sh'), path.join(root, 'init'))
    await fs.chmod(path.join(root, 'init'), 0o755)
    await fs.copyFile(kernel.probe, path.join(root, 'bin/vfio-probe'))
    await fs.copyFile(collectorScript, path.join(root, 'hostbake/collector.sh'))
    await fs.copyFile(path.join(guestDir, 'checks.sh'), path.join(root, 'hostbake/checks.sh'))
    const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
    await packCpio(root, tmp)
    await fs.rename(tmp, out)
    // drop archives of older inputs (not recent ones: another process may be booting with them)
    for (const f of await fs.readdir(dir)) {
      const old = path.join(dir, f)
      if (f.endsWith('.cpio') && old !== out && Date.now() - (await fs.stat(old)).mtimeMs > 3600_000) await fs.rm(old, { force: true })
    }
    return out
  } finally {
    await fs.rm(root, { recursive: true, force: true })
  }
}

