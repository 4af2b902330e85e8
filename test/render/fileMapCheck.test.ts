// The whole-map check, as a class: whatever paths, pools and services a profile combines, either the
// render refuses it naming a field that made a conflicting entry, or busybox tar (the initramfs' consumer)
// unpacks every entry and creates every runlevel link. Owners and modes of directories never come from a file.
import test from 'ava'
import fc from 'fast-check'
import { execFile } from 'node:child_process'
import { lstat, readlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { planHost } from '../../scripts/plan/hostPlan.js'
import { renderOverlay, type FileMap } from '../../scripts/render/overlayRender.js'
import { packApkovl } from '../../scripts/pack/apkovlPack.js'
import { ProfileError } from '../../scripts/shared/hostbakeError.js'
import type { Profile } from '../../scripts/profile/profileSchema.js'
import { parseProfile, profileYaml, tempDir } from '../testSupport.js'

const run = promisify(execFile)

// Few names, so that collisions (same path, file under file, file at a generated dir or link) are common.
const component = fc.constantFrom('etc', 'runlevels', 'sysinit', 'devfs', 'default', 'foo', 'hostname', 'srv', 'vm', 'a')
const hostPath = fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => `/${c.join('/')}`)
const shape = fc.record({
  files: fc.array(hostPath, { maxLength: 5 }),
  pools: fc.array(fc.array(fc.constantFrom('srv', 'vm', 'a', 'foo'), { minLength: 2, maxLength: 3 }).map((c) => `/${c.join('/')}`), { maxLength: 2 }),
  services: fc.array(fc.constantFrom('foo', 'a', 'vm'), { maxLength: 2 }),
})

function profileOf(s: { files: string[]; pools: string[]; services: string[] }): Profile {
  const base = parseProfile(profileYaml())
  return {
    ...base,
    files: s.files.map((p) => ({ path: p, content: 'x' })),
    storage: { pools: s.pools.map((p, i) => ({ name: `p${i}`, path: p })) },
    services: { ...base.services, default: [...new Set(s.services)] },
  }
}

function renderOrIssues(profile: Profile): { map?: FileMap; fields?: string[] } {
  try {
    return { map: renderOverlay(planHost(profile), profile) }
  } catch (err) {
    if (!(err instanceof ProfileError)) throw err
    return { fields: err.problems.map((p) => p.field) }
  }
}

test('every accepted map is consistent: each ancestor a directory, one entry per path', (t) => {
  let accepted = 0
  fc.assert(fc.property(shape, (s) => {
    const r = renderOrIssues(profileOf(s))
    if (!r.map) return true
    accepted++
    const keys = [...r.map.keys()].map((k) => k.replace(/\/$/, ''))
    if (new Set(keys).size !== keys.length) return false
    for (const e of r.map.values()) {
      const parts = e.name.replace(/\/$/, '').split('/')
      for (let i = 1; i < parts.length; i++) {
        const up = r.map.get(`${parts.slice(0, i).join('/')}/`)
        if (!up || up.type !== 'directory') return false
      }
    }
    return true
  }), { numRuns: 400 })
  // the property says nothing if render refused every map
  t.true(accepted >= 100, `only ${accepted} of 400 maps accepted`)
})

test('every refusal names a field that made one of the entries', (t) => {
  let refused = 0
  fc.assert(fc.property(shape, (s) => {
    const r = renderOrIssues(profileOf(s))
    if (r.fields) {
      refused++
      return r.fields.every((f) => /^(files\[\d+\]\.path|storage\.pools\[\d+\]\.(path|name)|services\.default\[\d+\])$/.test(f))
    }
    return true
  }), { numRuns: 400 })
  t.true(refused > 50, `the generator makes conflicts (${refused} of 400 refused)`)
})

test('a duplicate, a file at a generated directory, under a runlevel link or under another file is refused', (t) => {
  const fieldOf = (files: string[]) => renderOrIssues(profileOf({ files, pools: [], services: [] })).fields
  t.deepEqual(fieldOf(['/etc/motd', '/etc/motd']), ['files[1].path'])
  t.deepEqual(fieldOf(['/etc']), ['files[0].path'])
  t.deepEqual(fieldOf(['/etc/runlevels']), ['files[0].path'])
  t.deepEqual(fieldOf(['/etc/runlevels/sysinit/devfs/x']), ['files[0].path'])
  t.deepEqual(fieldOf(['/srv/a', '/srv/a/b']), ['files[1].path'])
  t.deepEqual(fieldOf(['/srv/a/b', '/srv/a']), ['files[1].path'])
})

test('busybox tar unpacks accepted maps whole: every entry and every runlevel link exists', async (t) => {
  const root = await tempDir(t)
  let n = 0
  await fc.assert(fc.asyncProperty(shape, async (s) => {
    const r = renderOrIssues(profileOf(s))
    if (!r.map) return true
    const dir = path.join(root, String(n++)) // n counts the accepted maps
    const ovl = `${dir}.tar.gz`
    await writeFile(ovl, await packApkovl(r.map))
    await run('mkdir', ['-p', dir])
    await run('busybox', ['tar', '-xzf', ovl, '-C', dir])
    for (const e of r.map.values()) {
      const st = await lstat(path.join(dir, e.name))
      if (e.type === 'symlink' && (!st.isSymbolicLink() || (await readlink(path.join(dir, e.name))) !== e.target)) return false
      if (e.type === 'directory' && !st.isDirectory()) return false
      if (e.type === 'file' && !st.isFile()) return false
    }
    return (await lstat(path.join(dir, 'etc/runlevels/sysinit/devfs'))).isSymbolicLink()
  }), { numRuns: 25 })
  t.true(n >= 5, `only ${n} of 25 maps accepted: busybox tar unpacked almost nothing`)
})

test('/root and /root/.ssh stay 0:0 0700, and a home belongs to its user, whatever the files in them', (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 65535 }), fc.constantFrom('0600', '0644', '0400'), (uid, mode) => {
    const base = parseProfile(profileYaml())
    const profile: Profile = {
      ...base,
      files: [
        { path: '/root/.ssh/authorized_keys', content: 'k', mode },
        { path: `/home/u${uid}/.ssh/authorized_keys`, content: 'k', owner: `${uid}:${uid}`, mode: '0600' },
      ],
    }
    const map = renderOverlay(planHost(profile), profile)
    const dir = (n: string) => map.get(n)!
    return dir('root/').uid === 0 && dir('root/').mode === 0o700 && dir('root/.ssh/').uid === 0 && dir('root/.ssh/').mode === 0o700 &&
      dir(`home/u${uid}/`).uid === uid && dir(`home/u${uid}/.ssh/`).uid === uid && dir(`home/u${uid}/.ssh/`).mode === 0o700 &&
      dir('home/').uid === 0
  }), { numRuns: 100 })
  t.pass()
})
