/**
 * README "Install", run as written: every fenced `sh` block of that section, line for line, in a fresh
 * `git clone` of this repository, with a temporary npm prefix (npm_config_prefix) and a temporary KREW_ROOT and
 * HOME, then `kubectl knmesh --help` found through PATH. npm installs from its cache where it can
 * (npm_config_prefer_offline). The krew block needs krew, built from sigs.k8s.io/krew by
 * tools/release/build-tools.sh (an administrator would have it installed). Also checks that the block's
 * one-platform `npm run dist` leaves the committed plugin.yaml alone (its manifest goes next to the archive).
 */
import {execa} from 'execa'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)))

/** The fenced ```sh blocks of README.md's "## Install" section, verbatim. */
export function installBlocks(readme: string): string[] {
  const start = readme.indexOf('\n## Install\n')
  if (start < 0) throw new Error('README.md has no "## Install" section')
  const next = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, next < 0 ? undefined : next)
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1])
}

let work: string
let clone: string
let basePath: string
const env: Record<string, string> = {}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'knmesh-readme-'))
  clone = join(work, 'knmesh')
  await execa('git', ['clone', '--quiet', '--no-hardlinks', repo, clone])
  mkdirSync(join(work, 'home'))
  const kubectl = (await execa('sh', ['-c', 'command -v kubectl'])).stdout.trim()
  // Only what a fresh shell would have: node/npm, kubectl, the system tools.
  basePath = [dirname(process.execPath), dirname(kubectl), '/usr/local/bin', '/usr/bin', '/bin'].join(':')
  Object.assign(env, {
    HOME: join(work, 'home'),
    npm_config_prefix: join(work, 'npm-prefix'),
    npm_config_cache: (await execa('npm', ['config', 'get', 'cache'])).stdout.trim(),
    npm_config_prefer_offline: 'true',
    npm_config_update_notifier: 'false',
    KNMESH_CACHE: process.env.KNMESH_CACHE ?? join(homedir(), '.cache', 'knmesh'),
    KREW_ROOT: join(work, 'krew-root'),
    NO_COLOR: '1',
  })
}, 120_000)

afterAll(() => {
  if (work) rmSync(work, {recursive: true, force: true})
})

/** Runs one README block with bash, stopping at the first failing line. */
function runBlock(block: string, path: string) {
  return execa('bash', ['-e', '-o', 'pipefail', '-c', block], {cwd: clone, env: {...env, PATH: path}, extendEnv: false, all: true, reject: false, input: ''})
}

describe('README "Install" on a fresh clone', () => {
  it('the section has the npm block and the krew block, and only install lines', () => {
    const blocks = installBlocks(readFileSync(join(clone, 'README.md'), 'utf8'))
    expect(blocks).toHaveLength(2)
    expect(blocks[0]).toContain('npm install -g .')
    expect(blocks[1]).toContain('kubectl krew install')
    expect(blocks.join('')).not.toMatch(/npm install -g knmesh/) // not published: not advertised
  })

  it('npm: the lines as written put kubectl-knmesh and oc-knmesh on PATH; `kubectl knmesh --help` runs', async () => {
    const [npmBlock] = installBlocks(readFileSync(join(clone, 'README.md'), 'utf8'))
    const path = `${join(env.npm_config_prefix, 'bin')}:${basePath}`
    const r = await runBlock(npmBlock, path)
    expect(r.exitCode, r.all).toBe(0)
    expect(r.all).toContain(join(env.npm_config_prefix, 'bin', 'kubectl-knmesh'))
    const help = await execa('kubectl', ['knmesh', '--help'], {env: {...env, PATH: path}, extendEnv: false, reject: false})
    expect(help.exitCode, help.stderr).toBe(0)
    expect(help.stderr).toBe('')
    expect(help.stdout).toContain('$ kubectl knmesh [COMMAND]')
    expect(help.stdout).toMatch(/^ {2}enable-istio /m)
    const oc = await execa('oc-knmesh', ['--help'], {env: {...env, PATH: path}, extendEnv: false, reject: false})
    expect(oc.stdout).toContain('$ oc knmesh [COMMAND]')
    // The failure issue 11 reported, now one clear line: without build/npm the installed command says what to run.
    rmSync(join(clone, 'build', 'npm'), {recursive: true})
    const missing = await execa('kubectl-knmesh', ['--help'], {env: {...env, PATH: path}, extendEnv: false, reject: false})
    expect([missing.exitCode, missing.stdout]).toEqual([1, ''])
    expect(missing.stderr).toBe(`error: ${join(clone, 'build', 'npm', 'knmesh.js')} is missing: run "npm run bundle" in ${clone}/`)
  }, 900_000)

  it('krew: the lines as written build the linux/amd64 archive and install it; `kubectl knmesh --help` runs the single executable; plugin.yaml is untouched', async () => {
    const [, krewBlock] = installBlocks(readFileSync(join(clone, 'README.md'), 'utf8'))
    const tools = await execa('bash', [join(repo, 'tools/release/build-tools.sh')], {stderr: 'inherit'})
    const krewDir = tools.stdout.trim().split('\n').at(-1)!
    const krewPath = join(work, 'krew-path')
    mkdirSync(krewPath)
    symlinkSync(join(krewDir, 'krew'), join(krewPath, 'kubectl-krew'))
    const path = `${join(env.KREW_ROOT, 'bin')}:${krewPath}:${basePath}`
    const r = await runBlock(krewBlock, path)
    expect(r.exitCode, r.all).toBe(0)
    expect(r.all).toContain('Installed plugin: knmesh')
    const help = await execa('kubectl', ['knmesh', '--help'], {env: {...env, PATH: path}, extendEnv: false, reject: false})
    expect(help.exitCode, help.stderr).toBe(0)
    expect(help.stdout).toContain('$ kubectl knmesh [COMMAND]')
    expect((await execa('sh', ['-c', 'command -v kubectl-knmesh'], {env: {PATH: path}, extendEnv: false})).stdout).toBe(
      join(env.KREW_ROOT, 'bin', 'kubectl-knmesh'),
    )
    // Issue 11 item 10: the one-platform dist wrote its manifest next to its archive, not over the committed one.
    expect((await execa('git', ['status', '--porcelain'], {cwd: clone})).stdout).toBe('')
    const manifest = parse(readFileSync(join(clone, 'build', 'release', 'plugin.yaml'), 'utf8'))
    expect(
      manifest.spec.platforms.map((p: {selector: {matchLabels: {os: string; arch: string}}}) => `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`),
    ).toEqual(['linux/amd64'])
    const sum = (await execa('sha256sum', [join(clone, 'build', 'release', 'knmesh-v0.1.0-linux-amd64.tar.gz')])).stdout.slice(0, 64)
    expect(manifest.spec.platforms[0].sha256).toBe(sum)
    expect(readFileSync(join(clone, 'plugin.yaml'), 'utf8')).toBe(readFileSync(join(repo, 'plugin.yaml'), 'utf8'))
  }, 1_200_000)
})
