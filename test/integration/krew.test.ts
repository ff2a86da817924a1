/**
 * Distribution end to end: the linux/amd64 single-executable archive built by `npm run dist`,
 * its krew manifest checked by krew's own validate-krew-manifest (which installs it, from a
 * loopback HTTP server standing in for the release page), then installed by krew (built from
 * sigs.k8s.io/krew) into a temporary KREW_ROOT with --archive, and run as `kubectl knmesh`
 * against the local control plane. Also the npm package: `npm install -g` of the packed tarball.
 */
import {execa} from 'execa'
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, createReadStream} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {Kinds} from '../../src/kube/kinds.js'
import {createNamespace, sharedCluster, uniqueName} from '../support/cluster.js'
import {knmeshOnTty} from '../support/tty.js'

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const cluster = sharedCluster()

interface KrewPlatform {
  selector: {matchLabels: {os: string; arch: string}}
  uri: string
  sha256: string
  bin: string
  files: {from: string; to: string}[]
}
interface KrewPlugin {
  apiVersion: string
  kind: string
  metadata: {name: string}
  spec: {version: string; shortDescription: string; platforms: KrewPlatform[]}
}

let work: string
let release: string
let krewBin: string
let server: Server
let baseUrl: string
/** A PATH with kubectl-krew (and kubectl) on it. */
let toolPath: string

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'knmesh-krew-'))
  release = join(work, 'release')
  mkdirSync(release)
  // The release page: archives served from this folder on the loopback interface only.
  server = createServer((req, res) => {
    const file = join(release, decodeURIComponent((req.url ?? '/').slice(1)))
    if (!file.startsWith(release) || !existsSync(file)) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, {'content-type': 'application/octet-stream'})
    createReadStream(file).pipe(res)
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const addr = server.address()
  baseUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`

  const tools = await execa('bash', [join(repo, 'tools/release/build-tools.sh')], {stderr: 'inherit'})
  krewBin = tools.stdout.trim().split('\n').at(-1)!
  const pathDir = join(work, 'path')
  mkdirSync(pathDir)
  symlinkSync(join(krewBin, 'krew'), join(pathDir, 'kubectl-krew'))
  toolPath = `${pathDir}:${process.env.PATH}`

  await execa(
    'node',
    [join(repo, 'tools/release/dist.mjs'), '--platforms', 'linux/amd64', '--out', release, '--plugin-yaml', join(work, 'knmesh.yaml'), '--base-url', baseUrl],
    {
      stderr: 'inherit',
    },
  )
}, 600_000)

afterAll(async () => {
  await new Promise((ok) => server?.close(ok))
  if (work) rmSync(work, {recursive: true, force: true})
})

const readManifest = (file: string) => parse(readFileSync(file, 'utf8')) as KrewPlugin

function validate(manifest: string, ...flags: string[]) {
  // validate-krew-manifest runs `kubectl krew install --manifest` per platform (KREW_OS/KREW_ARCH) and wants a LICENSE.
  return execa(join(krewBin, 'validate-krew-manifest'), ['-manifest', manifest, ...flags], {reject: false, env: {PATH: toolPath}, extendEnv: true, all: true})
}

describe('krew distribution', () => {
  it('builds a linux/amd64 archive named as krew expects, with the executable and LICENSE inside, and its sha256', async () => {
    const archive = join(release, 'knmesh-v0.1.0-linux-amd64.tar.gz')
    expect(existsSync(archive)).toBe(true)
    const list = (await execa('tar', ['tzf', archive])).stdout.split('\n').sort()
    expect(list).toEqual(['LICENSE', 'LICENSE.node', 'THIRD_PARTY_NOTICES', 'kubectl-knmesh'])
    const sums = readFileSync(join(release, 'SHA256SUMS'), 'utf8')
    const actual = (await execa('sha256sum', [archive])).stdout.slice(0, 64)
    expect(sums).toBe(`${actual}  knmesh-v0.1.0-linux-amd64.tar.gz\n`)
    const m = readManifest(join(work, 'knmesh.yaml'))
    expect(m.spec.platforms).toHaveLength(1)
    expect(m.spec.platforms[0]).toMatchObject({
      selector: {matchLabels: {os: 'linux', arch: 'amd64'}},
      uri: `${baseUrl}/knmesh-v0.1.0-linux-amd64.tar.gz`,
      sha256: actual,
      bin: 'kubectl-knmesh',
    })
  })

  it("passes krew's validate-krew-manifest, including its install of every platform and the LICENSE check", async () => {
    const r = await validate(join(work, 'knmesh.yaml'))
    expect(r.exitCode, r.all).toBe(0)
    expect(r.all).toContain('structural validation OK')
    expect(r.all).toContain('all 1 spec.platforms installed fine')
  })

  it('validate-krew-manifest rejects a manifest whose sha256 does not match the archive (the check is real)', async () => {
    const bad = join(work, 'bad', 'knmesh.yaml')
    mkdirSync(join(work, 'bad'))
    writeFileSync(bad, readFileSync(join(work, 'knmesh.yaml'), 'utf8').replace(/sha256: [0-9a-f]{64}/, `sha256: ${'0'.repeat(64)}`))
    const r = await validate(bad)
    expect(r.exitCode).not.toBe(0)
    expect(r.all).toMatch(/checksum|sha256/i)
  })

  it('the committed plugin.yaml is valid by krew and lists every platform with the same names the build produces', async () => {
    const dir = join(work, 'committed')
    mkdirSync(dir)
    copyFileSync(join(repo, 'plugin.yaml'), join(dir, 'knmesh.yaml'))
    const r = await validate(join(dir, 'knmesh.yaml'), '-skip-install')
    expect(r.exitCode, r.all).toBe(0)
    const committed = readManifest(join(dir, 'knmesh.yaml'))
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {version: string}
    expect(committed.metadata.name).toBe('knmesh')
    expect(committed.spec.version).toBe(`v${pkg.version}`)
    const ids = committed.spec.platforms.map((p) => `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`)
    expect(ids).toEqual(['linux/amd64', 'linux/arm64', 'darwin/amd64', 'darwin/arm64', 'windows/amd64'])
    for (const p of committed.spec.platforms) {
      const {os, arch} = p.selector.matchLabels
      expect(p.uri).toMatch(new RegExp(`/v${pkg.version}/knmesh-v${pkg.version}-${os}-${arch}\\.${os === 'windows' ? 'zip' : 'tar\\.gz'}$`))
      expect(p.bin).toBe(os === 'windows' ? 'kubectl-knmesh.exe' : 'kubectl-knmesh')
      expect(p.files.map((f) => f.from)).toContain('LICENSE')
    }
    // Same generator, same fields: only the base URL and the sums differ from the fresh local build.
    const fresh = readManifest(join(work, 'knmesh.yaml'))
    const {platforms: _a, ...freshSpec} = fresh.spec
    const {platforms: _b, ...committedSpec} = committed.spec
    expect(committedSpec).toEqual(freshSpec)
    expect({...committed.spec.platforms[0], uri: '', sha256: ''}).toEqual({...fresh.spec.platforms[0], uri: '', sha256: ''})
  })

  describe('installed by krew into a temporary KREW_ROOT', () => {
    let krewRoot: string
    let pluginPath: string

    beforeAll(async () => {
      krewRoot = join(work, 'krew-root')
      const r = await execa(
        'kubectl',
        ['krew', 'install', `--manifest=${join(work, 'knmesh.yaml')}`, `--archive=${join(release, 'knmesh-v0.1.0-linux-amd64.tar.gz')}`],
        {
          env: {PATH: toolPath, KREW_ROOT: krewRoot, HOME: work},
          extendEnv: true,
          all: true,
          reject: false,
        },
      )
      expect(r.exitCode, r.all).toBe(0)
      expect(r.all).toContain('Installed plugin: knmesh')
      pluginPath = `${join(krewRoot, 'bin')}:${toolPath}`
    }, 120_000)

    const kubectl = (args: string[]) =>
      execa('kubectl', args, {env: {PATH: pluginPath, KUBECONFIG: cluster.kubeconfig, NO_COLOR: '1'}, extendEnv: true, reject: false, input: ''})

    it('krew links kubectl-knmesh into KREW_ROOT/bin, keeps its receipt, and kubectl finds the plugin', async () => {
      expect(readdirSync(join(krewRoot, 'bin'))).toEqual(['kubectl-knmesh'])
      expect(readdirSync(join(krewRoot, 'store', 'knmesh', 'v0.1.0')).sort()).toEqual(['LICENSE', 'LICENSE.node', 'THIRD_PARTY_NOTICES', 'kubectl-knmesh'])
      // `krew list` wants the plugin index (a git clone); the receipt is what it would read.
      const receipt = parse(readFileSync(join(krewRoot, 'receipts', 'knmesh.yaml'), 'utf8')) as KrewPlugin
      expect(receipt.metadata.name).toBe('knmesh')
      expect(receipt.spec.version).toBe('v0.1.0')
      const plugins = await kubectl(['plugin', 'list', '--name-only'])
      expect(plugins.stdout).toContain('kubectl-knmesh')
    })

    it('`kubectl knmesh --help` runs the installed single executable with the kubectl prefix and nothing on stderr', async () => {
      const r = await kubectl(['knmesh', '--help'])
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stderr).toBe('')
      expect(r.stdout).toContain('$ kubectl knmesh [COMMAND]')
      expect(r.stdout).toMatch(/^ {2}add-namespace /m)
      expect(r.stdout).toContain('VERSION\n  knmesh/0.1.0 linux-x64 node-v20.20.2')
      const sub = await kubectl(['knmesh', 'add-namespace', '--help'])
      expect(sub.exitCode, sub.stderr).toBe(0)
      expect(sub.stdout).toContain('$ kubectl knmesh add-namespace NAMESPACE...')
    })

    it('the same executable started as oc-knmesh says "oc knmesh"', async () => {
      const oc = join(work, 'oc-bin')
      mkdirSync(oc)
      symlinkSync(join(krewRoot, 'bin', 'kubectl-knmesh'), join(oc, 'oc-knmesh'))
      const r = await execa(join(oc, 'oc-knmesh'), ['--help'], {reject: false})
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stdout).toContain('$ oc knmesh [COMMAND]')
    })

    it('a real verb against the local control plane: add-namespace --dry-run=client shows the plan and changes nothing; --yes applies it', async () => {
      const mesh = uniqueName('krew-mesh')
      await createNamespace(cluster.client, mesh)
      const dry = await kubectl(['knmesh', 'add-namespace', 'team-krew', '--mesh-namespace', mesh, '--dry-run=client'])
      expect(dry.exitCode, dry.stderr).toBe(0)
      expect(dry.stdout).toContain(`+ create ServiceMeshMemberRoll/${mesh}/default`)
      expect(await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', mesh)).toBeNull()

      const apply = await kubectl(['knmesh', 'add-namespace', 'team-krew', '--mesh-namespace', mesh, '--yes'])
      expect(apply.exitCode, apply.stderr).toBe(0)
      const roll = await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', mesh)
      expect(roll?.spec).toEqual({members: ['knative-serving', 'knative-eventing', 'team-krew']})
    })

    it('the installed single executable on a 100-column terminal: filter-secrets (progress bar path), a prompt answered "n", a table verb', async () => {
      const exe = join(krewRoot, 'bin', 'kubectl-knmesh')
      const noCrash = (out: string) => expect(out).not.toMatch(/Cannot read properties|TypeError|ReferenceError|is not a function|is not part of this build/)
      const fs = await knmeshOnTty(['filter-secrets', '--all-tls', '--all-namespaces', '--dry-run=client'], cluster.kubeconfig, [], 2500, {executable: exe})
      noCrash(fs.output)
      expect(fs.exitCode, fs.output).toBe(0)
      const mesh = uniqueName('krew-tty')
      await createNamespace(cluster.client, mesh)
      const add = await knmeshOnTty(
        ['add-namespace', 'team-krew-tty', '--mesh-namespace', mesh],
        cluster.kubeconfig,
        [{when: /Apply \d+ change\(s\)\? \(y\/N\)/, keys: 'n\r'}],
        2500,
        {executable: exe},
      )
      noCrash(add.output)
      expect(add.exitCode, add.output).toBe(3)
      expect(add.output).toContain('aborted: nothing changed')
      expect(await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', mesh)).toBeNull()
      const st = await knmeshOnTty(['precheck'], cluster.kubeconfig, [], 2500, {executable: exe})
      noCrash(st.output)
      expect([0, 1], st.output).toContain(st.exitCode)
      expect(st.output).toContain('CHECK')
    }, 180_000)

    it('bad input: one line on stderr, exit 2, nothing sent', async () => {
      const r = await kubectl(['knmesh', 'add-namespace', 'Bad_Name'])
      expect(r.exitCode).toBe(2)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(/^error: invalid namespace name "Bad_Name"/)
    })
  })
})

describe('npm package', () => {
  it('`npm install -g` of the packed package puts oc-knmesh and kubectl-knmesh on PATH, running the bundle', async () => {
    const prefix = join(work, 'npm-global')
    const pack = await execa('npm', ['pack', '--pack-destination', work, '--silent'], {cwd: repo})
    const tgz = join(work, pack.stdout.trim().split('\n').at(-1)!)
    const contents = (await execa('tar', ['tzf', tgz])).stdout.split('\n')
    expect(contents).toContain('package/bin/knmesh.js')
    expect(contents).toContain('package/build/npm/knmesh.js')
    expect(contents.some((f) => f.startsWith('package/src/') || f.startsWith('package/dist/'))).toBe(false)
    // --prefer-offline: npm's cache from `npm ci` serves the dependencies.
    const inst = await execa('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tgz], {all: true, reject: false})
    expect(inst.exitCode, inst.all).toBe(0)
    const binDir = join(prefix, 'bin')
    expect(readdirSync(binDir).sort()).toEqual(['kubectl-knmesh', 'oc-knmesh'])
    const env = {PATH: `${binDir}:${process.env.PATH}`, KUBECONFIG: cluster.kubeconfig, NO_COLOR: '1'}
    const k = await execa('kubectl', ['knmesh', '--help'], {env, extendEnv: true, reject: false})
    expect(k.exitCode, k.stderr).toBe(0)
    expect(k.stdout).toContain('$ kubectl knmesh [COMMAND]')
    const o = await execa('oc-knmesh', ['add-namespace', '--help'], {env, extendEnv: true, reject: false})
    expect(o.exitCode, o.stderr).toBe(0)
    expect(o.stdout).toContain('$ oc knmesh add-namespace NAMESPACE...')
    // A verb that talks to the API server, from the installed copy.
    const mesh = uniqueName('npm-mesh')
    await createNamespace(cluster.client, mesh)
    const dry = await execa('kubectl-knmesh', ['add-namespace', 'team-npm', '--mesh-namespace', mesh, '--dry-run=client'], {
      env,
      extendEnv: true,
      reject: false,
    })
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.stdout).toContain(`+ create ServiceMeshMemberRoll/${mesh}/default`)
  }, 300_000)
})
