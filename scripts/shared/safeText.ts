// Text from outside (a snapshot's USB product strings, driver names) shown on a terminal: control characters
// (C0, DEL, C1: newlines, ESC sequences, CSI) are shown escaped, so a hostile string cannot forge lines or
// drive the terminal.
export function escapeControl(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))
}
