// boot-test's pure parts: shards, the machine and the expectations a profile gives the guest.
import test from 'ava'
import { HostbakeError } from '../../scripts/shared/hostbakeError.js'
import { planBootExpect, planBootMachine, selectShard } from '../../scripts/boot/bootTest.js'
import { bakeHost } from '../../scripts/hostPipeline.js'
import { loadProfile } from '../../scripts/hostPipeline.js'
import { packagePath } from '../../scripts/shared/packagePaths.js'

test('--shard I/N takes every N-th item from the I-th, and the shards cover the list exactly once', (t) => {
  const items = ['a', 'b', 'c', 'd', 'e']
  t.deepEqual(selectShard(items, '1/2'), ['a', 'c', 'e'])
  t.deepEqual(selectShard(items, '2/2'), ['b', 'd'])
  t.deepEqual([1, 2, 3].flatMap((i) => selectShard(items, `${i}/3`)).sort(), items)
  t.is(selectShard(items, undefined), items)
  for (const bad of ['0/2', '3/2', '1/0', 'x', '1-2']) t.throws(() => selectShard(items, bad), { instanceOf: HostbakeError }, bad)
})

test('the guest expects what the plan bound plus what the author knows; iommu defaults to the cpu', async (t) => {
  const loaded = await loadProfile(packagePath('profiles', 'twin-nic.yaml'))
  const host = await bakeHost(loaded)
  t.deepEqual(planBootExpect(host, loaded), { vfioIds: [], vfioAddresses: ['0000:04:00.0'], drivers: { '0000:03:00.0': 'e1000e' }, beforeHwdrivers: ['hostbake-guard'], loaded: ['tun'] })
  const bridge = await loadProfile(packagePath('test', 'boot', 'profiles', 'bridge-host.yaml'))
  const bridgeExpect = planBootExpect(await bakeHost(bridge), bridge)
  t.deepEqual(bridgeExpect.bridge, { name: 'br0', ports: ['eth0'] })
  t.deepEqual(bridgeExpect.loaded, ['tun'], 'derived from the guests; not Alpine\'s own af_packet/ipv6')
  t.deepEqual(bridgeExpect.vfioIds, ['8086:2934', '8086:2935'], 'bind: id devices are bound by ids=')
  t.is(planBootMachine(loaded).iommu, 'intel')
  const amd = await loadProfile(packagePath('test', 'boot', 'profiles', 'seed001-ich9-amd.yaml'))
  const amdHost = await bakeHost(amd)
  t.deepEqual(planBootExpect(amdHost, amd).vfioIds, ['8086:2934', '8086:2935'])
  t.is(planBootMachine(amd).iommu, 'amd')
})
