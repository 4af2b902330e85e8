// Where hostbake keeps what it prepares once (the boot-test kernel, unpacked modloops, stand-in media):
// --cache DIR, else $HOSTBAKE_CACHE, else $XDG_CACHE_HOME/hostbake (~/.cache/hostbake). Never the package folder:
// an npm-installed package may be read-only.
import os from 'node:os'
import path from 'node:path'

export function userCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'hostbake')
}

export function resolveCacheDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag ?? (env.HOSTBAKE_CACHE || userCacheRoot(env)))
}
