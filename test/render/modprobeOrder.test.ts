// Real kmod, real kernel module data: for every preempted driver of every profile, the modprobe.d that
// hostbake writes must make kmod load vfio-pci (or run the driver_override hook) before the driver.
// Where hostbake writes no line (drivers with a softdep of their own), vfio-pci must be in modules=.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { DRIVERS_WITH_OWN_SOFTDEP } from '../../scripts/alpine/alpineDefaults.js'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'
import { bakeHost } from '../../scripts/hostPipeline.js'
import { loadForBuild } from '../snapshot/snapshotSupport.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'
import { TEST_CACHE, tempDir } from '../testSupport.js'

const yamlIn = async (...dir: string[]) => (await readdir(packagePath(...dir))).filter((f) => f.endsWith('.yaml')).map((f) => packagePath(...dir, f))
const profileFiles = [...await yamlIn('profiles'), ...await yamlIn('test', 'boot', 'profiles'), ...await yamlIn('test', 'boot', 'with-snapshot')]
const norm = (m: string) => m.replaceAll('-', '_')

for (const file of profileFiles) {
  test(`kmod orders vfio-pci first for every preempted driver: ${path.basename(file)}`, async (t) => {
    const kernel = locateBootKernel(TEST_CACHE)
    const host = await bakeHost(await loadForBuild(file))
    const conf = host.files.get('etc/modprobe.d/vfio.conf')?.data?.toString() ?? ''
    const dir = await tempDir(t)
    await mkdir(path.join(dir, 'modprobe.d'))
    await writeFile(path.join(dir, 'modprobe.d', 'vfio.conf'), conf)
    const preempt = host.plan.preemptOrdering.map((p) => p.value)
    if (preempt.length === 0) return t.pass('nothing preempted')
    for (const drv of preempt) {
      const hasLine = conf.split('\n').some((l) => /^(softdep|install) /.test(l) && norm(l.split(' ')[1]) === norm(drv))
      if (DRIVERS_WITH_OWN_SOFTDEP.has(norm(drv))) {
        t.false(hasLine, `${drv}: kmod would ignore a line, so none is written`)
        t.true(host.plan.initramfsModules.some((m) => norm(m.value) === 'vfio_pci'), 'vfio-pci is in modules=')
        continue
      }
      t.true(hasLine, `${drv}: a softdep or install line`)
      const p = spawnSync('modprobe', ['-d', kernel.root, '-S', kernel.kver, '-C', path.join(dir, 'modprobe.d'), '-n', '-v', drv])
      const out = p.stdout.toString().split('\n')
      if (p.status !== 0 && /not found/.test(p.stderr.toString())) {
        // a driver this kernel lacks (none of the bundled ones today): the line is still parsed above
        t.log(`${drv}: not in ${kernel.kver}`)
        continue
      }
      t.is(p.status, 0, p.stderr.toString())
      // positions in kmod's plan (an install line holds both the hook and the driver, in order)
      const plan = out.join('\n')
      const firstOf = (res: RegExp[]) => Math.min(...res.map((re) => plan.search(re)).filter((i) => i >= 0), Infinity)
      const vfioAt = firstOf([/\/vfio-pci\.ko/, /\/etc\/hostbake\/vfio-override\.sh/])
      const drvAt = firstOf([new RegExp(`/${norm(drv).replaceAll('_', '[-_]')}\\.ko`), new RegExp(`--ignore-install ${drv}\\b`)])
      t.true(vfioAt < Infinity, `${drv}: kmod never loads vfio-pci first:\n${plan}`)
      t.true(drvAt < Infinity && vfioAt < drvAt, `${drv}: vfio-pci is not before the driver:\n${plan}`)
    }
  })
}

test('the kernel module tree this test reads is there (setup prepared it)', (t) => {
  t.true(existsSync(path.join(locateBootKernel(TEST_CACHE).modulesDir, 'modules.softdep')))
})
