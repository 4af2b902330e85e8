// `hostbake boot-test PROFILE --apkovl FILE...` over hand-edited overlays: one negative control per mistake class
// of issue 11, each failing the check that names its real cause, and positive controls where real Alpine is
// relaxed. One boot-test invocation per profile keeps them cheap.
import test, { type ExecutionContext } from 'ava'
import fs from 'node:fs/promises'
import path from 'node:path'
import { runCli, tempDir } from '../testSupport.js'
import type { BootTestResult } from '../../scripts/boot/bootTest.js'
import { dropFromModules, editText, relativeRunlevelLinks, writeEditedOverlays, type EditedOverlay } from './overlayEdits.js'

async function bootEdited(t: ExecutionContext, profile: string, edits: EditedOverlay[]) {
  const dir = await tempDir(t, 'hostbake-apkovl-')
  const files = await writeEditedOverlays(profile, edits, dir)
  const r = await runCli(['boot-test', profile, ...files.flatMap((f) => ['--apkovl', f]), '--json'])
  t.is(r.code, edits.some((e) => e.mustFail.length > 0) ? 1 : 0, r.stderr)
  const results = JSON.parse(r.stdout.toString()) as BootTestResult[]
  t.is(results.length, edits.length)
  edits.forEach((e, i) => {
    const res = results[i]
    t.teardown(() => fs.rm(res.workDir ?? '/nonexistent', { recursive: true, force: true }))
    t.is(path.basename(res.apkovl ?? ''), `${e.name}.apkovl.tar.gz`)
    const failed = res.checks.filter((c) => !c.pass).map((c) => `${c.name} ${c.detail}`).join('\n')
    t.true(res.passed + res.failed > 0, `${e.name}: the guest finished its report\n${res.tail ?? ''}`)
    if (e.mustFail.length === 0) {
      t.true(res.ok, `${e.name} must pass (no false alarm)\n${failed}`)
      return
    }
    t.false(res.ok, e.name)
    for (const name of e.mustFail) {
      const hit = res.checks.filter((c) => c.name === name)
      t.true(hit.length > 0 && hit.every((c) => !c.pass), `${e.name}: ${name} must fail\n${failed}`)
      if (e.detail) t.true(hit.some((c) => e.detail!.test(c.detail)), `${e.name}: ${name} names the cause (${e.detail})\n${failed}`)
    }
  })
  return results
}

const vfioModules = 'etc/mkinitfs/features.d/vfio.modules'

test('twin-nic, hand-edited: each mistake fails the check that names it; relative runlevel links pass', async (t) => {
  await bootEdited(t, 'profiles/twin-nic.yaml', [
    // Alpine's modules are .ko.gz: a `.ko` glob selects nothing, so vfio is not in the initramfs
    { name: 'ko-glob', mustFail: ['initramfs_modules'], detail: /lines selecting nothing: vfio\.modules:kernel\/drivers\/vfio\/vfio\.ko /, edit: editText(vfioModules, (x) => x.replace(/\.ko\*$/gm, '.ko')) },
    // Alpine's kernel leaves VT-d off without intel_iommu=on (Debian's turns it on)
    { name: 'no-intel-iommu', mustFail: ['iommu_on', 'iommu_groups'], edit: editText('etc/update-extlinux.conf', (x) => x.replace(' intel_iommu=on', '')) },
    // a CRLF mkinitfs.conf: features ends in "vfio\r", which names no feature
    { name: 'crlf-mkinitfs', mustFail: ['initramfs_modules'], detail: /"vfio\\r"/, edit: editText('etc/mkinitfs/mkinitfs.conf', (x) => x.replace(/\n/g, '\r\n')) },
    // OpenRC runs only executable init scripts
    { name: 'guard-not-executable', mustFail: ['service_hostbake-guard'], detail: /not executable/, edit: (root) => fs.chmod(path.join(root, 'etc/init.d/hostbake-guard'), 0o644) },
    // the guard must vouch for the devices before hwdrivers loads their drivers
    { name: 'guard-after-hwdrivers', mustFail: ['service_hostbake-guard'], detail: /after hwdrivers/, edit: editText('etc/init.d/hostbake-guard', (x) => x.replace(/before hwdrivers modules/, 'after hwdrivers')) },
    // features= without quotes: the shell runs `base` as a command, features stays empty: no disk driver, no ext4
    { name: 'unquoted-features', mustFail: ['root_mounted'], edit: editText('etc/mkinitfs/mkinitfs.conf', (x) => x.replace(/^features="(.*)"$/m, 'features=$1')) },
    // OpenRC finds a runlevel entry by name, whatever the link's target form
    { name: 'relative-links', mustFail: [], edit: relativeRunlevelLinks },
  ])
})

test('the modules= rule: without vfio-pci in modules=, uhci_hcd wins where no softdep chain helps (guard-host) and vfio-pci still wins through uhci_hcd -> ehci_pci -> vfio-pci (seed001-ich9)', async (t) => {
  // guard-host: UHCI functions only; kmod ignores `softdep uhci_hcd pre: vfio-pci` (uhci_hcd has its own softdep)
  await bootEdited(t, 'test/boot/guard/guard-host.yaml', [
    { name: 'no-vfio-in-modules', mustFail: ['driver_0000:00:1d.0', 'driver_0000:00:1d.1'], detail: /uhci_hcd/, edit: dropFromModules('vfio', 'vfio-pci') },
  ])
  // seed001-ich9: the EHCI sibling's preempt line (softdep ehci_pci pre: vfio-pci) is reached through uhci_hcd's own
  // softdep (pre: ehci_pci), so vfio-pci wins without modules=
  await bootEdited(t, 'test/boot/profiles/seed001-ich9.yaml', [
    { name: 'no-vfio-in-modules', mustFail: [], edit: dropFromModules('vfio', 'vfio-pci') },
  ])
})

test('the GPU race: without modules= and the preempt softdep, bochs (from the kms feature) takes the display in the initramfs', async (t) => {
  await bootEdited(t, 'test/boot/profiles/gpu-bochs.yaml', [
    {
      name: 'gpu-race-lost', mustFail: ['driver_0000:00:05.0'], detail: /bochs/,
      edit: async (root) => {
        await dropFromModules('vfio', 'vfio-pci')(root)
        await editText('etc/modprobe.d/vfio.conf', (x) => x.replace(/^softdep bochs pre: vfio-pci\n/m, ''))(root)
      },
    },
  ])
})
