// mkinitfs' exact parsing (issue 11 item 4): the stand-in must read mkinitfs.conf and features.d files as mkinitfs
// does, so that what breaks a real Alpine build breaks here too, and nothing else does.
import test from 'ava'
import { parseFeatureFile, planInitramfsModules, readFeatures, splitShellWords } from '../../scripts/boot/initramfsBuild.js'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'
import { TEST_CACHE, writeTree } from '../testSupport.js'

test('features= is split on space, tab and newline only: a CRLF conf names "vfio\\r", which no feature file matches', async (t) => {
  t.deepEqual(splitShellWords(' base\tvfio\nkms '), ['base', 'vfio', 'kms'])
  const dir = await writeTree(t, { 'etc/mkinitfs/mkinitfs.conf': 'features="ata base ext4 vfio"\r\n' })
  t.deepEqual(await readFeatures(dir), ['ata', 'base', 'ext4', 'vfio\r'])
})

test('features= written without quotes: the shell runs `base` as a command and features stays empty', async (t) => {
  const dir = await writeTree(t, { 'etc/mkinitfs/mkinitfs.conf': 'features=ata base ext4 vfio\n' })
  t.deepEqual(await readFeatures(dir), [])
})

test('feature files: only empty lines and lines starting with # are deleted; leading slashes go; a CR stays in the word', (t) => {
  t.deepEqual(parseFeatureFile('kernel/a.ko*\n/kernel/b.ko*\n\n# comment\n'), ['./kernel/a.ko*', './kernel/b.ko*'])
  // an indented comment: the line becomes "<base>  # comment": the base directory itself, then two junk words
  t.deepEqual(parseFeatureFile('  # vfio\n'), ['./', '#', 'vfio'])
  // a trailing comment is not a comment either
  t.deepEqual(parseFeatureFile('kernel/a.ko* # why\n'), ['./kernel/a.ko*', '#', 'why'])
  t.deepEqual(parseFeatureFile('kernel/a.ko*\r\n'), ['./kernel/a.ko*\r'])
  // later absolute words name the build host's own files, which the stand-in cannot see
  t.deepEqual(parseFeatureFile('etc/a /etc/passwd\n'), ['./etc/a'])
})

test('a `.ko` glob matches nothing in the Alpine-shaped module tree; `.ko*` matches', async (t) => {
  const kernel = locateBootKernel(TEST_CACHE)
  t.regex(kernel.modulesDir, /\/alpine-zst\/lib\/modules\//, 'boots use the compressed tree')
  const dir = await writeTree(t, {
    'etc/mkinitfs/mkinitfs.conf': 'features="vfio"\n',
    'etc/mkinitfs/features.d/vfio.modules': 'kernel/drivers/vfio/vfio.ko\nkernel/drivers/vfio/pci/vfio-pci.ko*\n',
  })
  const { modules } = await planInitramfsModules(kernel, dir, false)
  t.true(modules.includes('kernel/drivers/vfio/pci/vfio-pci.ko.zst'))
  // vfio arrives only as vfio-pci's hard dependency; the literal `.ko` line itself matched nothing
  const alone = await writeTree(t, {
    'etc/mkinitfs/mkinitfs.conf': 'features="vfio"\n',
    'etc/mkinitfs/features.d/vfio.modules': 'kernel/drivers/vfio/vfio_iommu_type1.ko\n',
  })
  t.deepEqual((await planInitramfsModules(kernel, alone, false)).modules, [])
})

test('CRLF feature file: no module is selected', async (t) => {
  const kernel = locateBootKernel(TEST_CACHE)
  const dir = await writeTree(t, {
    'etc/mkinitfs/mkinitfs.conf': 'features="vfio"\n',
    'etc/mkinitfs/features.d/vfio.modules': 'kernel/drivers/vfio/vfio.ko*\r\nkernel/drivers/vfio/pci/vfio-pci.ko*\r\n',
  })
  t.deepEqual((await planInitramfsModules(kernel, dir, false)).modules, [])
})
