// check: a listed service must have an init script on the host: from a package Alpine ships it in
// (scripts/alpine/alpineServices.ts; the plan adds that package to the world) or from the profile's own
// files. `networking` runs ifup over /etc/network/interfaces: without that file it brings nothing up.
import type { CheckIssue } from './profileCheck.js'
import { RUNLEVELS, type Profile } from '../profile/profileSchema.js'
import { packageForService } from '../alpine/alpineServices.js'

// Services hostbake itself writes the init script of.
const OWN_SERVICES = new Set(['hostbake-guard'])

export function checkServicePackages(profile: Profile): CheckIssue[] {
  const issues: CheckIssue[] = []
  const files = new Set(profile.files.map((f) => f.path))
  for (const level of RUNLEVELS) {
    profile.services[level].forEach((svc, i) => {
      const at = ['services', level, i]
      if (packageForService(svc) === undefined && !OWN_SERVICES.has(svc) && !files.has(`/etc/init.d/${svc}`)) {
        issues.push({ path: at, message: `no Alpine package hostbake knows ships /etc/init.d/${svc}: check the name (rc-service --list on the host), or bring the script: files: [{ path: /etc/init.d/${svc}, source: ..., mode: "0755" }]` })
      }
      if (svc === 'networking' && profile.network === undefined && !files.has('/etc/network/interfaces')) {
        issues.push({ path: at, message: 'networking brings up what /etc/network/interfaces lists, and this profile writes none: add network: { bridge: br0, ports: [eth0] }, or the file itself under files:' })
      }
    })
  }
  return issues
}
