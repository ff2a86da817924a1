import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {helpPrefix} from '../../src/main.js'
// Build scripts (plain ESM, untyped).
import {pluginManifest} from '../../tools/release/manifest.mjs'
import {PLATFORMS, archiveName, binName, platformId} from '../../tools/release/dist.mjs'

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
    spec: {version: string; shortDescription: string; platforms: {selector: {matchLabels: Record<string, string>}; uri: string; sha256: string; bin: string; files: {from: string; to: string}[]}[]}
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
