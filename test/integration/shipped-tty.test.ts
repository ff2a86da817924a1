/**
 * What ships is what is tested: every verb, and every interactive path (the confirmation prompt,
 * follow-up questions, setup's questions, Ctrl-C at each, the bulk progress bar) run on a real
 * pseudo-terminal, 100 columns wide, against the installed entry bin/knmesh.js (the esbuild
 * bundle in build/npm that `npm install -g` runs; the single executables run the same chunks as
 * CommonJS). Issue 18 items 1, 2, 4, 10, 11.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {BUNDLE_BIN, ensureBundle} from '../support/cli.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {knmeshOnTty} from '../support/tty.js'

// Setup and the verbs edit the SMCP, KnativeServing and knative-serving policies: a control plane of its own.
const cluster = isolatedCluster()
const work = mkdtempSync(join(tmpdir(), 'knmesh-shipped-'))

/** On the pty, with the bundle, from a scratch folder (certs writes files to the current folder). */
const tty = (args: string[], keys: Parameters<typeof knmeshOnTty>[2] = []) => knmeshOnTty(args, cluster.kubeconfig, keys, 2500, {bin: BUNDLE_BIN, cwd: work})
const APPLY = /Apply \d+ change\(s\)\? \(y\/N\)/
const noCrash = (output: string) => {
  expect(output).not.toMatch(/Cannot read properties|TypeError|ReferenceError|is not a function|is not part of this build/)
}

async function secrets(ns: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({length: Math.min(50, n - i)}, (_, j) =>
        cluster.client.create({apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: {name: `tls-${i + j}`, namespace: ns}, data: {'tls.crt': '', 'tls.key': ''}}),
      ),
    )
  }
}

beforeAll(() => ensureBundle(), 120_000)

describe('the shipped build (bin/knmesh.js) on a 100-column terminal', () => {
  it('an unknown verb: one line with "did you mean", exit 2', async () => {
    const r = await tty(['stauts'])
    expect(r.exitCode).toBe(2)
    expect(r.output.trim()).toBe('error: unknown verb "stauts" (did you mean "kubectl knmesh status"?): see kubectl knmesh --help')
  })

  it('Ctrl-C at a follow-up question ends the verb: exit 130, nothing applied (enable-istio, tenant-authz, setup)', async () => {
    const smmr = await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')
    const serving = await cluster.client.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving')
    const istio = await tty(['enable-istio'], [{when: /Include "kubectl knmesh [a-z-]+" in this change\? \(y\/N\)/, keys: '\u0003'}])
    noCrash(istio.output)
    expect(istio.exitCode, istio.output).toBe(130)
    expect(istio.output).toContain('interrupted: nothing changed')
    expect(istio.output).not.toContain('Apply ')
    expect(istio.output).not.toContain('error:')

    await createNamespace(cluster.client, 'tty-tenant-1')
    const tenant = await tty(['tenant-authz', 'tty-tenant', '--namespaces', 'tty-tenant-1'], [{when: /add it in the same change\? \(y\/N\)/, keys: '\u0003'}])
    expect(tenant.exitCode, tenant.output).toBe(130)
    expect(tenant.output).not.toContain('Apply ')
    expect(await cluster.client.listAll(Kinds.AuthorizationPolicy, undefined, {labelSelector: 'knmesh.openshift.io/tenant=tty-tenant'})).toEqual([])

    const setup = await tty(['setup'], [{when: /Namespaces to add to the mesh/, keys: '\u0003'}])
    expect(setup.exitCode, setup.output).toBe(130)
    expect(setup.output).toContain('interrupted: nothing changed')
    // The main prompt too.
    const add = await tty(['add-namespace', 'tty-tenant-1'], [{when: APPLY, keys: '\u0003'}])
    expect(add.exitCode, add.output).toBe(130)
    expect((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.metadata.resourceVersion).toBe(smmr?.metadata.resourceVersion)
    expect((await cluster.client.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving'))?.metadata.resourceVersion).toBe(serving?.metadata.resourceVersion)
  }, 120_000)

  it('filter-secrets: the progress bar, its total while several namespaces are listed, and Ctrl-C', async () => {
    const nss = ['bulk-a', 'bulk-b', 'bulk-c']
    for (const ns of nss) {
      await createNamespace(cluster.client, ns)
      await secrets(ns, 300)
    }
    // Ctrl-C once the bar is drawn: the patches in flight finish, the bar is gone before the message and the table.
    const stopped = await tty(['filter-secrets', '--all-tls', '--namespaces', nss.join(','), '--concurrency', '1', '--yes'], [{when: /labelling secrets \[/, keys: '\u0003'}])
    noCrash(stopped.output)
    expect(stopped.exitCode, stopped.output).toBe(130)
    const after = stopped.output.slice(stopped.output.indexOf('interrupted: finishing the patches in flight'))
    expect(after.length).toBeGreaterThan(0)
    expect(after).not.toContain('labelling secrets [') // nothing drawn over the message or the table
    expect(after).toMatch(/NAMESPACE\s+LABELLED\s+ALREADY LABELLED\s+FAILED/)
    expect(after).toContain('interrupted after ')

    // The rest: the bar's total grows while namespaces are still listed, and says so.
    const rest = await tty(['filter-secrets', '--all-tls', '--namespaces', nss.join(','), '--yes'])
    noCrash(rest.output)
    expect(rest.exitCode, rest.output).toBe(0)
    const total = Number(/total\s+(\d+)\s+(\d+)\s+0/.exec(rest.output)?.[1])
    expect(total).toBeGreaterThan(0)
    const frames = [...rest.output.matchAll(/labelling secrets \[[^\]]*\] (\d+)\/(\d+)(\+ found so far)?/g)]
    expect(frames.length).toBeGreaterThan(0)
    for (const f of frames) {
      if (f[3]) continue // still listing: says so
      expect(Number(f[2]), f[0]).toBe(total)
    }
    const labelled = (await cluster.client.listAll(Kinds.Secret, undefined, {labelSelector: 'networking.internal.knative.dev/certificate-uid'})).filter((s) => nss.includes(s.metadata.namespace!))
    expect(labelled).toHaveLength(900)
  }, 240_000)
})
