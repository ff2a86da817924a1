import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {helpPrefix} from '../../src/main.js'
// Build scripts (plain ESM, untyped).
import {pluginManifest} from '../../tools/release/manifest.mjs'
import {PLATFORMS, archiveName, binName, manifestPath, platformId} from '../../tools/release/dist.mjs'
import {execa} from 'execa'
import {readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)))

describe('help prefix from the invoked name', () => {
  it.each([
    ['/usr/local/bin/oc-knmesh', 'oc knmesh'],
    ['oc-knmesh', 'oc knmesh'],
    ['C:/krew/bin/oc-knmesh.exe', 'oc knmesh'],
    ['/home/u/.krew/bin/kubectl-knmesh', 'kubectl knmesh'],
    ['kubectl-knmesh.exe', 'kubectl knmesh'],
    ['/work/main/bin/run.js', 'kubectl knmesh'],
    [undefined, 'kubectl knmesh'],
  ])('%s → %s', (invoked, prefix) => {
    expect(helpPrefix(invoked)).toBe(prefix)
  })
})

describe('krew manifest', () => {
  const platforms = PLATFORMS.map((p: {os: string; arch: string}) => ({...p, archive: archiveName(p, '1.2.3'), bin: binName(p), sha256: 'a'.repeat(64)}))
  const doc = parse(pluginManifest({version: '1.2.3', platforms})) as {
    apiVersion: string
    kind: string
    metadata: {name: string}
    spec: {
      version: string
      shortDescription: string
      platforms: {selector: {matchLabels: Record<string, string>}; uri: string; sha256: string; bin: string; files: {from: string; to: string}[]}[]
    }
  }

  it('is a krew v1alpha2 Plugin named knmesh with a v-prefixed semver and a one-line short description', () => {
    expect(doc.apiVersion).toBe('krew.googlecontainertools.github.com/v1alpha2')
    expect(doc.kind).toBe('Plugin')
    expect(doc.metadata.name).toBe('knmesh')
    expect(doc.spec.version).toBe('v1.2.3')
    expect(doc.spec.shortDescription).not.toMatch(/[\r\n]/)
  })

  it('has one entry per platform, each selecting exactly one os/arch, with uri, sha256, bin and LICENSE', () => {
    const ids = doc.spec.platforms.map((p) => `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`)
    expect(ids).toEqual(PLATFORMS.map(platformId))
    expect(new Set(ids).size).toBe(ids.length)
    for (const p of doc.spec.platforms) {
      const {os, arch} = p.selector.matchLabels
      expect(Object.keys(p.selector.matchLabels).sort()).toEqual(['arch', 'os'])
      expect(p.uri).toBe(`https://github.com/knmesh/knmesh/releases/download/v1.2.3/knmesh-v1.2.3-${os}-${arch}.${os === 'windows' ? 'zip' : 'tar.gz'}`)
      expect(p.sha256).toMatch(/^[a-f0-9]{64}$/)
      expect(p.bin).toBe(os === 'windows' ? 'kubectl-knmesh.exe' : 'kubectl-knmesh')
      expect(p.files).toContainEqual({from: p.bin, to: '.'})
      expect(p.files).toContainEqual({from: 'LICENSE', to: '.'})
    }
  })

  it('takes another base URL (the e2e test serves archives from the loopback interface)', () => {
    const local = parse(pluginManifest({version: '1.2.3', platforms: platforms.slice(0, 1), baseUrl: 'http://127.0.0.1:8080/'})) as typeof doc
    expect(local.spec.platforms[0].uri).toBe('http://127.0.0.1:8080/knmesh-v1.2.3-linux-amd64.tar.gz')
  })
})

describe('npm run dist: where the krew manifest goes', () => {
  const out = '/tmp/rel'
  const all = PLATFORMS.map(platformId)

  it('a build of every platform writes the committed plugin.yaml (default) or --plugin-yaml', () => {
    expect(manifestPath({platforms: undefined, out})).toBe(join(repo, 'plugin.yaml'))
    expect(manifestPath({platforms: [...all].reverse(), out})).toBe(join(repo, 'plugin.yaml'))
    expect(manifestPath({platforms: undefined, out, pluginYaml: '/tmp/x.yaml'})).toBe('/tmp/x.yaml')
  })

  it('a partial build writes its manifest next to its archives, never over the committed plugin.yaml', () => {
    expect(manifestPath({platforms: ['linux/amd64'], out})).toBe('/tmp/rel/plugin.yaml')
    expect(manifestPath({platforms: all.slice(1), out})).toBe('/tmp/rel/plugin.yaml')
    expect(manifestPath({platforms: ['linux/amd64'], out, pluginYaml: '/tmp/rel/knmesh.yaml'})).toBe('/tmp/rel/knmesh.yaml')
    expect(() => manifestPath({platforms: ['linux/amd64'], out, pluginYaml: 'plugin.yaml'})).toThrow(
      /^a build of linux\/amd64 only cannot write .*plugin\.yaml, which lists every platform/,
    )
    expect(() => manifestPath({platforms: ['linux/amd64'], out, pluginYaml: join(repo, 'plugin.yaml')})).toThrow(/which lists every platform/)
  })

  it('`npm run dist -- --platforms linux/amd64 --plugin-yaml plugin.yaml` refuses in one line before building anything; plugin.yaml is untouched', async () => {
    const before = readFileSync(join(repo, 'plugin.yaml'), 'utf8')
    const r = await execa(
      'node',
      [join(repo, 'tools/release/dist.mjs'), '--platforms', 'linux/amd64', '--plugin-yaml', 'plugin.yaml', '--out', '/tmp/knmesh-dist-refused'],
      {cwd: repo, reject: false},
    )
    expect(r.exitCode).toBe(1)
    expect(r.stderr.split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^error: a build of linux\/amd64 only cannot write .*\/plugin\.yaml, which lists every platform/)
    expect(readFileSync(join(repo, 'plugin.yaml'), 'utf8')).toBe(before)
  })
})
