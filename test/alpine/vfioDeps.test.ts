// The modules vfio-pci needs (the refusal of preempting them) must be what a real kernel says: the boot-test
// kernel's modules.dep and modules.softdep give its row, and the harness kernel boots the features.d globs.
import test from 'ava'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { VFIO_PCI_NEEDS, VFIO_PCI_NEEDS_ANY, moduleClosure } from '../../scripts/alpine/vfioDeps.js'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'
import { profileYaml, TEST_CACHE } from '../testSupport.js'
import { parseProfileLoose } from '../../scripts/profile/profileLoad.js'

const shapeOf = (yaml: string) => parseProfileLoose(yaml, 'x.yaml').profile!
import { checkProfile } from '../../scripts/check/profileCheck.js'

test('the table row of the boot-test kernel is the closure of vfio-pci in its modules.dep and modules.softdep', async (t) => {
  const { modulesDir, kver } = locateBootKernel(TEST_CACHE)
  const dep = await readFile(path.join(modulesDir, 'modules.dep'), 'utf8')
  const softdep = await readFile(path.join(modulesDir, 'modules.softdep'), 'utf8')
  const closure = moduleClosure('vfio-pci', dep, softdep)
  t.true(closure.includes('vfio_pci_core'), 'the kernel read is a real one')
  const series = kver.split('.').slice(0, 2).join('.')
  t.deepEqual([...(VFIO_PCI_NEEDS[series] ?? [])], closure, `VFIO_PCI_NEEDS['${series}'] follows ${kver}'s modules.dep`)
  for (const m of closure) t.true(VFIO_PCI_NEEDS_ANY.has(m))
})

test('moduleClosure follows dependencies transitively and softdeps of loaded modules', (t) => {
  const dep = 'kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/c-d.ko\nkernel/c-d.ko:\nkernel/e.ko:\nkernel/x.ko:\n'
  t.deepEqual(moduleClosure('a', dep, 'softdep b post: e missing\n'), ['a', 'b', 'c_d', 'e'])
})

test('preempting any module vfio-pci needs is refused, on every series; host drivers are not', (t) => {
  for (const m of VFIO_PCI_NEEDS_ANY) {
    if (m === 'vfio_pci') continue
    for (const spelled of [m, m.replaceAll('_', '-')]) {
      const issues = checkProfile(shapeOf(profileYaml(`passthrough:\n  devices: [{ id: "8086:10d3" }]\n  preempt: [${spelled}]\n`)))
        .filter((i) => /vfio-pci itself needs/.test(i.message))
      t.is(issues.length, 1, spelled)
    }
  }
  t.deepEqual(checkProfile(shapeOf(profileYaml('passthrough:\n  devices: [{ id: "8086:10d3" }]\n  preempt: [e1000e, igb, nouveau]\n'))), [])
})
