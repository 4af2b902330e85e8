// POSIX single-quoting: the one way hostbake puts a value into a shell word it writes.
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

// The same, leaving plain words bare so a printed command stays readable.
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : shellQuote(s)
}
