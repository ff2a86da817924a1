import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {loadKubeConfig} from '../../src/kube/config.js'

const dir = mkdtempSync(join(tmpdir(), 'knmesh-kc-'))
function kubeconfig(name: string, ctx: string, server: string, current?: string, ns?: string): string {
  const file = join(dir, name)
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: ${ctx}
  cluster: {server: ${server}}
users:
- name: ${ctx}
  user: {token: t-${ctx}}
contexts:
- name: ${ctx}
  context: {cluster: ${ctx}, user: ${ctx}${ns ? `, namespace: ${ns}` : ''}}
${current ? `current-context: ${current}` : ''}
`,
  )
  return file
}

const saved = {KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME}
afterEach(() => {
  process.env.KUBECONFIG = saved.KUBECONFIG
  process.env.HOME = saved.HOME
})

describe('kubeconfig loading', () => {
  it('merges every KUBECONFIG file; the first file to set a context or current-context wins', async () => {
    const a = kubeconfig('a', 'one', 'https://one.example:6443', 'one', 'team-a')
    const b = kubeconfig('b', 'two', 'https://two.example:6443', 'two')
    process.env.KUBECONFIG = [join(dir, 'missing'), a, b].join(delimiter)
    const first = await loadKubeConfig({})
    expect(first.contextName).toBe('one')
    expect(first.namespace).toBe('team-a')
    const second = await loadKubeConfig({context: 'two'})
    expect(second.server).toBe('https://two.example:6443')
    expect(second.namespace).toBe('default')
  })

  it('-n wins over the context namespace', async () => {
    process.env.KUBECONFIG = kubeconfig('c', 'three', 'https://3.example', 'three', 'ctx-ns')
    expect((await loadKubeConfig({namespace: 'flag-ns'})).namespace).toBe('flag-ns')
  })

  it('names the available contexts when --context is unknown', async () => {
    process.env.KUBECONFIG = kubeconfig('d', 'four', 'https://4.example', 'four')
    await expect(loadKubeConfig({context: 'nope'})).rejects.toThrow('context "nope" not found in kubeconfig (available: four)')
  })

  it('refuses to fall back to localhost:8080 when there is no kubeconfig', async () => {
    process.env.KUBECONFIG = ''
    process.env.HOME = mkdtempSync(join(tmpdir(), 'knmesh-home-'))
    await expect(loadKubeConfig({})).rejects.toThrow(/no kubeconfig found/)
  })

  it('reports a --kubeconfig that does not exist', async () => {
    await expect(loadKubeConfig({kubeconfig: join(dir, 'nope')})).rejects.toThrow(/does not exist/)
  })
})

describe('kubeconfig exit codes (README: 4 for no kubeconfig or unknown context)', () => {
  it('a --kubeconfig that does not exist and an unknown --context exit 4', async () => {
    await expect(loadKubeConfig({kubeconfig: join(dir, 'nope')})).rejects.toMatchObject({exitCode: 4})
    process.env.KUBECONFIG = kubeconfig('e', 'five', 'https://5.example', 'five')
    await expect(loadKubeConfig({context: 'nope'})).rejects.toMatchObject({exitCode: 4})
    process.env.KUBECONFIG = ''
    process.env.HOME = mkdtempSync(join(tmpdir(), 'knmesh-home-'))
    await expect(loadKubeConfig({}, {HOME: process.env.HOME})).rejects.toMatchObject({exitCode: 4})
  })
})
