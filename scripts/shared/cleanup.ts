// One cleanup mechanism for everything a run leaves behind while it works (QEMU children, work folders):
// register an undo when the side effect starts, unregister when it is undone. SIGINT/SIGTERM run every
// registered undo (kills first: they are synchronous), then exit 130/143. The handlers exist only while
// something is registered, so a plain build keeps Node's default signal behaviour.
type Undo = { sync: () => void; wait?: () => Promise<unknown> }

const pending = new Set<Undo>()
let installed = false

export function onCleanup(sync: () => void, wait?: () => Promise<unknown>): () => void {
  const undo: Undo = { sync, wait }
  pending.add(undo)
  if (!installed) {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    installed = true
  }
  return () => {
    pending.delete(undo)
    if (pending.size === 0 && installed) {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      installed = false
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  const undos = [...pending]
  pending.clear()
  const runAll = () => {
    for (const u of undos) {
      try {
        u.sync()
      } catch {
        // best effort: the others still run
      }
    }
  }
  runAll()
  process.exitCode = signal === 'SIGINT' ? 130 : 143
  // wait (briefly) for killed children to be reaped, so no zombie is left behind
  const waited = Promise.allSettled(undos.map((u) => u.wait?.()))
  const cap = new Promise((r) => setTimeout(r, 2000).unref())
  // undo again at the end: work still in flight during the wait may have written into a removed folder
  void Promise.race([waited, cap]).then(() => {
    runAll()
    process.exit(process.exitCode)
  })
}
