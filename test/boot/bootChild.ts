// Child process for the SIGINT test: boots one scenario into the given work folder and waits.
// usage: node dist/test/boot/bootChild.js SCENARIO WORKDIR
import { bootOverlay } from '../../scripts/boot/bootOverlay.js'
import { overlayFiles, packOverlay, scenarios } from './overlayFixture.js'

const [name, workDir] = process.argv.slice(2)
const s = scenarios.find((x) => x.name === name)
if (!s || !workDir) {
  console.error('usage: bootChild SCENARIO WORKDIR')
  process.exit(2)
}
const apkovl = await packOverlay(`${workDir}-ovl`, s.overlay.host, overlayFiles(s.overlay))
const r = await bootOverlay({ apkovl, machine: s.machine, expect: s.expect, cmdline: s.cmdline, medium: s.medium, workDir, timeoutS: 120, log: () => {} })
console.log(JSON.stringify({ ok: r.ok }))
