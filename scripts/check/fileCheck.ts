// check: what a profile may put on the host's file system. Paths through the path rules (files and
// storage pools alike), owners that fit the tar header and never hand root away, homes with one owner,
// secrets never readable by others. Conflicts between entries are fileMapCheck's, over the rendered map.
import type { CheckIssue } from './profileCheck.js'
import { homeOf, isSecretPath, overlayPathOf, ownDirPathOf, ownerProblem, parseOwner } from '../profile/pathRules.js'
import type { Profile } from '../profile/profileSchema.js'

export function checkFiles(profile: Profile): CheckIssue[] {
  const issues: CheckIssue[] = []
  const homes = new Map<string, { owner: string; at: number }>()
  profile.files.forEach((f, i) => {
    const where = ['files', i]
    const { name, error } = overlayPathOf(f.path)
    if (error) issues.push({ path: [...where, 'path'], message: error })
    const secret = isSecretPath(f.path)
    const mode = f.mode !== undefined ? parseInt(f.mode, 8) : secret ? 0o600 : 0o644
    if (secret && (mode & 0o004) !== 0) {
      issues.push({ path: [...where, 'mode'], message: `${f.mode} makes ${f.path} readable by others, and it looks like a secret: use "0600" (or "0640" with a group)` })
    }
    if (name === undefined) return
    const owner = parseOwner(f.owner)
    const problem = ownerProblem(name, owner, mode)
    if (problem) issues.push({ path: [...where, f.owner === undefined ? 'path' : 'owner'], message: problem })
    const home = homeOf(name)
    if (home !== undefined) {
      const key = `${owner.uid}:${owner.gid}`
      const first = homes.get(home)
      if (first === undefined) homes.set(home, { owner: key, at: i })
      else if (first.owner !== key) {
        issues.push({ path: [...where, 'owner'], message: `/${home} belongs to ${first.owner} (files[${first.at}]): every file a profile puts in a home directory has its user's owner` })
      }
    }
  })
  ;(profile.storage?.pools ?? []).forEach((p, i) => {
    const { error } = ownDirPathOf(p.path)
    if (error) issues.push({ path: ['storage', 'pools', i, 'path'], message: error })
  })
  return issues
}
