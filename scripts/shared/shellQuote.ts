// POSIX single-quoting: the one way hostbake puts a value into a shell word it writes.
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}
