import {mkdtempSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'

/** Every verb implemented on Service Mesh 3, on the Sail + Istio 1.27 CRDs (isolatedCluster({mesh: 3})). */
describe('Service Mesh 3 (Sail operator)', () => {
  const cluster = isolatedCluster({mesh: 3})

  it('the ground: Sail CRDs served, the Istio 1.27 CRDs instead of 1.19, no SMCP, the seeded Istio Ready', async () => {
    expect(await cluster.client.isServed(Kinds.Istio)).toBe(true)
    expect(await cluster.client.isServed(Kinds.ServiceMeshControlPlane)).toBe(false)
    expect(await cluster.client.isServed(Kinds.PeerAuthenticationV1)).toBe(true)
    const istio = await cluster.client.get(Kinds.Istio, 'default')
    expect(istio?.status?.activeRevisionName).toBe('default')
  })

  it('configure-mesh: merges the drain and the excluded ports into the Istio, creates PeerAuthentication mesh-mtls STRICT; second run: nothing to do', async () => {
    // A user setting that must survive, and a user port that must stay first.
    await cluster.client.mergePatch(Kinds.Istio, 'default', undefined, {spec: {values: {global: {proxy: {excludeInboundPorts: '9090'}}, meshConfig: {accessLogFile: '/dev/stdout'}}}})
    const r = await cluster.run(['configure-mesh', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toContain('Service Mesh 3: Istio default (istio-system, revision default)')
    const istio = await cluster.client.get(Kinds.Istio, 'default')
    expect(istio?.spec.values.global.proxy.excludeInboundPorts).toBe('9090,8444,8022')
    expect(istio?.spec.values.meshConfig.defaultConfig.terminationDrainDuration).toBe('35s')
    expect(istio?.spec.values.meshConfig.accessLogFile).toBe('/dev/stdout')
    const pa = await cluster.client.get(Kinds.PeerAuthenticationV1, 'mesh-mtls', 'istio-system')
    expect(pa?.spec).toEqual({mtls: {mode: 'STRICT'}})
    const again = await cluster.run(['configure-mesh', '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
  })

  it('configure-mesh keeps a longer drain', async () => {
    await cluster.client.mergePatch(Kinds.Istio, 'default', undefined, {spec: {values: {meshConfig: {defaultConfig: {terminationDrainDuration: '600s'}}}}})
    const r = await cluster.run(['configure-mesh', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('nothing to do')
    expect((await cluster.client.get(Kinds.Istio, 'default'))?.spec.values.meshConfig.defaultConfig.terminationDrainDuration).toBe('600s')
  })

  it('add-namespace labels istio-injection=enabled (revision default), no SMMR; second run: nothing to do; remove-namespace drops the label only', async () => {
    await createNamespace(cluster.client, 'm3-app', {team: 'a'})
    const r = await cluster.run(['add-namespace', 'm3-app', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect((await cluster.client.get(Kinds.Namespace, 'm3-app'))?.metadata.labels).toMatchObject({'istio-injection': 'enabled', team: 'a'})
    const again = await cluster.run(['add-namespace', 'm3-app', '--yes'])
    expect(again.stdout).toContain('nothing to do')
    const rm = await cluster.run(['remove-namespace', 'm3-app', '--yes'])
    expect(rm.exitCode, rm.stderr).toBe(0)
    const labels = (await cluster.client.get(Kinds.Namespace, 'm3-app'))?.metadata.labels
    expect(labels?.['istio-injection']).toBeUndefined()
    expect(labels?.team).toBe('a')
  })

  it('add-namespace with a revision and discoverySelectors: istio.io/rev=<revision>, discovery labels on it and on the Knative namespaces', async () => {
    await cluster.client.mergePatch(Kinds.Istio, 'default', undefined, {spec: {values: {meshConfig: {discoverySelectors: [{matchLabels: {'istio-discovery': 'enabled'}}]}}}})
    await cluster.client.request('PATCH', '/apis/sailoperator.io/v1/istios/default/status', {body: {status: {activeRevisionName: 'default-v1-27-latest'}}, contentType: 'application/merge-patch+json'})
    await createNamespace(cluster.client, 'm3-rev')
    const r = await cluster.run(['add-namespace', 'm3-rev', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    const labels = (await cluster.client.get(Kinds.Namespace, 'm3-rev'))?.metadata.labels
    expect(labels).toMatchObject({'istio.io/rev': 'default-v1-27-latest', 'istio-discovery': 'enabled'})
    expect(labels?.['istio-injection']).toBeUndefined()
    for (const ns of ['knative-serving', 'knative-serving-ingress', 'knative-eventing']) {
      const l = (await cluster.client.get(Kinds.Namespace, ns))?.metadata.labels
      expect(l?.['istio-discovery'], ns).toBe('enabled')
      expect(l?.['istio-injection'], ns).toBeUndefined()
    }
    expect((await cluster.run(['add-namespace', 'm3-rev', '--yes'])).stdout).toContain('nothing to do')
  })

  it('certs: the Secret goes to knative-serving-ingress', async () => {
    const out = mkdtempSync('/tmp/knmesh-m3-certs-')
    const r = await cluster.run(['certs', '--out-dir', out, '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(await cluster.client.get(Kinds.Secret, 'wildcard-certs', 'knative-serving-ingress')).not.toBeNull()
    expect(await cluster.client.get(Kinds.Secret, 'wildcard-certs', 'istio-system')).toBeNull()
  })

  it('a verb not implemented on Service Mesh 3 says so and changes nothing', async () => {
    const r = await cluster.run(['setup', '--yes'])
    expect(r.exitCode).toBe(4)
    expect(r.stderr).toBe('error: setup does not support Service Mesh 3 yet (README "Service Mesh 3" lists what does): nothing was changed')
  })
})

describe('both generations in istio-system (a migration in progress)', () => {
  const cluster = isolatedCluster({mesh: 'both'})

  it('a writing verb asks for --mesh-version (exit 2), and acts on the one named', async () => {
    const r = await cluster.run(['configure-mesh', '--yes'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/both Service Mesh generations serve istio-system: ServiceMeshControlPlane basic \(2\.x\) and Istio default \(3\).*pass --mesh-version 2 or --mesh-version 3/)
    const three = await cluster.run(['configure-mesh', '--mesh-version', '3', '--yes'])
    expect(three.exitCode, three.stderr).toBe(0)
    expect(three.stdout).toContain('Service Mesh 3: Istio default (istio-system, revision default) (--mesh-version 3; an SMCP is there too)')
    expect(await cluster.client.get(Kinds.PeerAuthenticationV1, 'mesh-mtls', 'istio-system')).not.toBeNull()
    const smcp = await cluster.client.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system')
    expect(smcp?.spec.security).toBeUndefined()
  })
})
