// The verb table: every verb's usage, example, options and action, in one place. Loading it loads no verb:
// each action is imported only when its verb runs, so `hostbake --help` starts in a few tens of milliseconds.
import type { ParseArgsConfig } from 'node:util'
import type { VerbRun } from './verb.js'

type Options = NonNullable<ParseArgsConfig['options']>
export interface Verb {
  summary: string
  usage: string
  example: string
  options: Options
  /** how many PROFILE/SNAPSHOT/DIR arguments: [min, max] */
  positionals: [number, number]
  /** options that must be given */
  required?: string[]
  load: () => Promise<{ run: VerbRun }>
}

const output = { type: 'string', short: 'o' } as const
const json = { type: 'boolean' } as const
const snapshot = { type: 'string' } as const
const profiles = { type: 'string' } as const
const examples = { type: 'boolean' } as const
// files[].source reads only inside the profile's folder, or inside this one
const sourceRoot = { type: 'string' } as const
const MANY = Number.MAX_SAFE_INTEGER

export const VERBS: Record<string, Verb> = {
  init: {
    summary: 'scaffold a profiles repository (example profile, editor schema, GitHub and GitLab CI)',
    usage: 'init [DIR]',
    example: 'hostbake init myhosts && cd myhosts && hostbake build && hostbake boot-test',
    options: {}, positionals: [0, 1],
    load: () => import('./init.js'),
  },
  build: {
    summary: 'bake overlays: ./profiles/*.yaml (or PROFILE..., --profiles DIR, --examples) -> ./apkovl/<host>.apkovl.tar.gz',
    usage: 'build [PROFILE...] [--profiles DIR | --examples] [-o DIR] [--json] [--snapshot SNAPSHOT] [--source-root DIR]',
    example: 'hostbake build profiles/vmhost.yaml -o out/',
    options: { output, json, snapshot, profiles, examples, 'source-root': sourceRoot }, positionals: [0, MANY],
    load: () => import('./build.js'),
  },
  render: {
    summary: 'one overlay, to a file or to stdout (-o -)',
    usage: 'render PROFILE -o FILE|- [--snapshot SNAPSHOT] [--source-root DIR]',
    example: 'hostbake render profiles/vmhost.yaml -o - | tar tz',
    options: { output, snapshot, 'source-root': sourceRoot }, positionals: [1, 1], required: ['output'],
    load: () => import('./render.js'),
  },
  show: {
    summary: 'the resolved plan, each item with its reason',
    usage: 'show PROFILE [--json] [--snapshot SNAPSHOT] [--source-root DIR]',
    example: 'hostbake show profiles/vmhost.yaml',
    options: { json, snapshot, 'source-root': sourceRoot }, positionals: [1, 1],
    load: () => import('./show.js'),
  },
  check: {
    summary: 'does the profile fit the host a snapshot describes?',
    usage: 'check PROFILE --snapshot SNAPSHOT [--source-root DIR]',
    example: 'hostbake check profiles/vmhost.yaml --snapshot hosts/vmhost.json',
    options: { snapshot, 'source-root': sourceRoot }, positionals: [1, 1], required: ['snapshot'],
    load: () => import('./check.js'),
  },
  'boot-test': {
    summary: 'boot each profile with a test: section in QEMU; the guest\'s own checks are the verdict',
    usage: 'boot-test [PROFILE...] [--profiles DIR | --examples] [--json] [--junit FILE] [--keep] [--timeout S] [--shard I/N]\n' +
      '          [--kernel VMLINUZ --modloop MODLOOP] [--cache DIR] [--prepare] [--source-root DIR]\n' +
      '          [--netboot TREE [--firmware bios|uefi] [--mac MAC]]   (network boot of a `hostbake pxe` tree)\n' +
      '       boot-test PROFILE --image FILE.iso [--firmware bios|uefi] [--medium cdrom|usb]   (boot an image through its menu;\n' +
      '          one made from a real Alpine ISO reports through the probe of `hostbake image --probe`)\n' +
      '       boot-test --stand-in-media DIR   (the stand-in Alpine ISO and netboot files the harness boots)\n' +
      '          boot-test PROFILE --apkovl FILE [--apkovl FILE...]   (boot given overlays on PROFILE\'s test machine, with its expectations)',
    example: 'hostbake boot-test --shard 1/2 --junit junit.xml',
    options: {
      json, profiles, examples,
      junit: { type: 'string' }, keep: { type: 'boolean' }, timeout: { type: 'string' }, shard: { type: 'string' },
      kernel: { type: 'string' }, modloop: { type: 'string' }, cache: { type: 'string' }, prepare: { type: 'boolean' },
      'source-root': sourceRoot,
      apkovl: { type: 'string', multiple: true },
      netboot: { type: 'string' }, firmware: { type: 'string' }, mac: { type: 'string' },
      image: { type: 'string' }, medium: { type: 'string' }, 'stand-in-media': { type: 'string' },
    },
    positionals: [0, MANY],
    load: () => import('./bootTest.js'),
  },
  image: {
    summary: 'a diskless host\'s bootable ISO/USB image (BIOS and UEFI), remastered from an Alpine ISO',
    usage: 'image PROFILE --base ALPINE.iso [--sha256 HEX] -o FILE.iso [--json]\n' +
      '       image PROFILE --base ALPINE.iso --probe -o TEST.iso [--cache DIR]   (a test build for boot-test --image: never ship it)',
    example: 'hostbake image profiles/vmhost.yaml --base alpine-extended-3.22.0-x86_64.iso -o vmhost.iso',
    options: { base: { type: 'string' }, sha256: { type: 'string' }, output, json, probe: { type: 'boolean' }, cache: { type: 'string' } }, positionals: [1, 1], required: ['output'],
    load: () => import('./image.js'),
  },
  pxe: {
    summary: 'a netboot tree for diskless hosts: per-MAC overlays and iPXE scripts, Alpine\'s netboot files, a dnsmasq snippet',
    usage: 'pxe [PROFILE...] [--profiles DIR] --alpine NETBOOT --url URL -o TREE [--alpine-version V] [--repo URL]\n' +
      '          [--unknown alpine|exit|stop] [--dhcp proxy|proxy=NET|START-END] [--tftp-root DIR] [--efi ipxe.efi|snponly.efi]',
    example: 'hostbake pxe --alpine alpine-netboot-3.22.2-x86_64.tar.gz --url http://192.168.1.5:8080 -o netboot/',
    options: {
      output, profiles,
      alpine: { type: 'string' }, 'alpine-version': { type: 'string' }, url: { type: 'string' }, repo: { type: 'string' },
      unknown: { type: 'string' }, dhcp: { type: 'string' }, 'tftp-root': { type: 'string' }, efi: { type: 'string' },
    },
    positionals: [0, MANY], required: ['alpine', 'url', 'output'],
    load: () => import('./pxe.js'),
  },
  serve: {
    summary: 'serve a netboot tree over HTTP (loopback unless --listen says otherwise); one log line per request, by host',
    usage: 'serve TREE [--listen ADDRESS:PORT]',
    example: 'hostbake serve netboot/ --listen 192.168.1.5:8080',
    options: { listen: { type: 'string' } }, positionals: [1, 1],
    load: () => import('./serve.js'),
  },
  snapshot: {
    summary: 'the host snapshot collector (--collector), or run it over a tree (--sysfs DIR; / for this host)',
    usage: 'snapshot --collector | --sysfs DIR [-o FILE]',
    example: 'hostbake snapshot --collector | ssh vmhost sh > hosts/vmhost.json',
    options: { collector: { type: 'boolean' }, sysfs: { type: 'string' }, output }, positionals: [0, 0],
    load: () => import('./snapshot.js'),
  },
  inspect: {
    summary: 'IOMMU groups, drivers and USB devices of a snapshot, and what the host must keep',
    usage: 'inspect SNAPSHOT [--json]',
    example: 'hostbake inspect hosts/vmhost.json',
    options: { json }, positionals: [1, 1],
    load: () => import('./inspect.js'),
  },
  diff: {
    summary: 'what moved between two snapshots (exit 1 when anything did)',
    usage: 'diff OLD NEW',
    example: 'hostbake diff hosts/vmhost-2024.json hosts/vmhost.json',
    options: { snapshot }, positionals: [1, 2],
    load: () => import('./diff.js'),
  },
  schema: {
    summary: 'the profile JSON Schema, for editors',
    usage: 'schema [-o FILE]',
    example: 'hostbake schema -o hostbake.schema.json',
    options: { output }, positionals: [0, 0],
    load: () => import('./schema.js'),
  },
}

export const GLOBAL_OPTIONS: Options = {
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

export function mainUsage(): string {
  const width = Math.max(...Object.keys(VERBS).map((v) => v.length))
  return [
    'usage: hostbake VERB [OPTIONS]   (hostbake help VERB, hostbake VERB --help)',
    '',
    ...Object.entries(VERBS).map(([name, v]) => `  ${name.padEnd(width)}  ${v.summary}`),
    '',
    'options everywhere: --verbose (stack traces), --help; hostbake --version',
    'exit codes: 0 ok, 1 a failed boot test or tool, 2 bad input, 130 interrupted',
  ].join('\n')
}

export function verbHelp(name: string): string {
  const v = VERBS[name]
  return [`usage: hostbake ${v.usage}`, '', v.summary, '', `example: ${v.example}`].join('\n')
}
