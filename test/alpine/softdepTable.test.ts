// The drivers that get an install line instead of a softdep line must be exactly the PCI drivers that
// carry a softdep of their own in a real kernel (the boot-test kernel that ci/setup-boot.sh unpacks).
import { TEST_CACHE } from '../testSupport.js'
import test from 'ava'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { DRIVERS_WITH_OWN_SOFTDEP } from '../../scripts/alpine/alpineDefaults.js'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'

test('DRIVERS_WITH_OWN_SOFTDEP covers every PCI driver with a module softdep in the real kernel', async (t) => {
  const { modulesDir } = locateBootKernel(TEST_CACHE)
  const softdep = await readFile(path.join(modulesDir, 'modules.softdep'), 'utf8')
  const alias = await readFile(path.join(modulesDir, 'modules.alias'), 'utf8')
  const pciDrivers = new Set(alias.split('\n').filter((l) => l.startsWith('alias pci:')).map((l) => l.split(' ')[2]))
  const withSoftdep = new Set(softdep.split('\n').filter((l) => l.startsWith('softdep ')).map((l) => l.split(' ')[1]))
  const pciWithSoftdep = [...withSoftdep].filter((m) => pciDrivers.has(m)).sort()
  t.true(pciWithSoftdep.includes('uhci_hcd'), 'the kernel read is a real one')
  t.deepEqual(pciWithSoftdep.filter((m) => !DRIVERS_WITH_OWN_SOFTDEP.has(m)), [])
})
