// A kernel cache is only used when it is complete: prepared before the Alpine-shaped module trees existed, it
// would boot Debian's plain `.ko` files (a features.d line ending in `.ko` would match: a pass Alpine fails).
import test from 'ava'
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { locateBootKernel } from '../../scripts/boot/bootKernel.js'
import { HostbakeError } from '../../scripts/shared/hostbakeError.js'

async function fakeCache(withTrees: boolean): Promise<string> {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'hb-kcache-'))
  const root = path.join(cache, 'kernel', '6.1.0-99-amd64')
  await mkdir(path.join(root, 'lib', 'modules', '6.1.0-99-amd64'), { recursive: true })
  await writeFile(path.join(root, '.ready'), '')
  await symlink('6.1.0-99-amd64', path.join(cache, 'kernel', 'current'))
  for (const d of withTrees ? ['alpine', 'alpine-zst'] : []) {
    await mkdir(path.join(root, d), { recursive: true })
    await writeFile(path.join(root, d, '.ready'), '')
  }
  await mkdir(path.join(cache, 'boot'), { recursive: true })
  await writeFile(path.join(cache, 'boot', 'vfio-probe'), '')
  await mkdir(path.join(cache, 'tools', 'ifupdown-ng'), { recursive: true })
  return cache
}

test('a kernel cache without the Alpine-shaped module trees is incomplete; with them it boots the zstd tree', async (t) => {
  const old = await fakeCache(false)
  const ready = await fakeCache(true)
  t.teardown(() => Promise.all([old, ready].map((d) => rm(d, { recursive: true, force: true }))))
  const err = t.throws(() => locateBootKernel(old), { instanceOf: HostbakeError })
  t.regex(err!.message, /has no Alpine-shaped module tree/)
  t.regex(err!.hint ?? '', /boot-test --prepare/)
  t.true(locateBootKernel(ready).modulesDir.includes(`${path.sep}alpine-zst${path.sep}`))
})
