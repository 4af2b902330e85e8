// boot-test's modes (--netboot, --image, --stand-in-media) each read their own options; anything else given with
// one is refused before any work (exit 2, naming it), never silently ignored.
import test from 'ava'
import { runCli } from '../testSupport.js'

const cases: [string[], RegExp][] = [
  [['--netboot', 'tree', '--junit', 'j.xml', 'profiles/twin-nic.yaml'], /--junit cannot go with --netboot/],
  [['--netboot', 'tree', '--apkovl', 'a.tar.gz', 'profiles/twin-nic.yaml'], /--apkovl cannot go with --netboot/],
  [['--image', 'x.iso', '--kernel', 'k', '--modloop', 'm', 'profiles/twin-nic.yaml'], /--kernel, --modloop cannot go with --image/],
  [['--image', 'x.iso', '--netboot', 'tree', 'profiles/twin-nic.yaml'], /--netboot cannot go with --image/],
  [['--stand-in-media', 'dir', '--keep'], /--keep cannot go with --stand-in-media/],
  [['--medium', 'usb', 'profiles/twin-nic.yaml'], /--medium chooses how --image boots/],
  [['--mac', '52:54:00:12:34:56', 'profiles/twin-nic.yaml'], /--mac goes with --netboot TREE/],
  // --mac follows the profile's own MAC rule
  [['--netboot', 'tree', '--mac', '01:00:5e:00:00:01', 'test/netboot/profiles/netboot-uhci.yaml'], /--mac 01:00:5e:00:00:01: a multicast MAC/],
  [['--netboot', 'tree', '--mac', '52:54:00:12:34', 'test/netboot/profiles/netboot-uhci.yaml'], /--mac 52:54:00:12:34: expected a MAC address/],
]

for (const [args, message] of cases) {
  test(`boot-test ${args.join(' ')}: exit 2, ${message.source}`, async (t) => {
    const r = await runCli(['boot-test', ...args])
    t.is(r.code, 2, r.stderr)
    t.regex(r.stderr, message)
  })
}
