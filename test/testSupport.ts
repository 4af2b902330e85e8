// Shared by the unit and CLI tests: run the built CLI, make temp dirs, load bundled profiles.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ExecutionContext } from 'ava'
import { parseProfileText } from '../scripts/hostPipeline.js'
import { packagePath } from '../scripts/shared/packagePaths.js'
import type { Profile } from '../scripts/profile/profileSchema.js'

// the bin package.json names (dist/bin/hostbake.js, the bundle hostbakeBundle.ts makes): what `npm i -g` users run
export const CLI = packagePath(JSON.parse(readFileSync(packagePath('package.json'), 'utf8')).bin.hostbake)
// our own tests keep the boot-test cache in the clone (ci/setup.sh prepares it); users get ~/.cache/hostbake
export const TEST_CACHE = process.env.HOSTBAKE_CACHE || packagePath('.cache')

export interface CliResult {
  code: number | null
  stdout: Buffer
  stderr: string
}

export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? packagePath(), env: { ...process.env, HOSTBAKE_CACHE: TEST_CACHE, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }))
  })
}

export async function tempDir(t: ExecutionContext, prefix = 'hostbake-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A temp folder holding these files (relative path -> text), removed after the test. */
export async function writeTree(t: ExecutionContext, files: Record<string, string>, prefix?: string): Promise<string> {
  const dir = await tempDir(t, prefix)
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.join(dir, path.dirname(rel)), { recursive: true })
    await writeFile(path.join(dir, rel), text)
  }
  return dir
}

// A minimal valid profile as YAML, with overrides merged at the top level.
export function profileYaml(extra = ''): string {
  return `hostname: testhost\ncpu: intel\n${extra}`
}

export function parseProfile(yaml: string): Profile {
  return parseProfileText(yaml, 'inline.yaml').profile
}

export const BUNDLED_PROFILES = ['homeassistant', 'gpu-workstation', 'amd-router', 'twin-nic']
