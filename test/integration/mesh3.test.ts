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

  it('precheck: the Sail rows (Istio and IstioCNI Ready, version from the served CRD), no SMCP row; a NotReady IstioCNI fails it', async () => {
    const r = await cluster.run(['precheck', '-o', 'json'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    const checks = JSON.parse(r.stdout).checks as {id: string; status: string; detail: string}[]
    const byId = Object.fromEntries(checks.map((c) => [c.id, c]))
    expect(byId['crd/istios.sailoperator.io'].status).toBe('ok')
    expect(byId['crd/servicemeshcontrolplanes.maistra.io']).toBeUndefined()
    expect(byId.smcp).toBeUndefined()
    expect(byId.istio).toMatchObject({status: 'ok', detail: 'Istio default (spec.namespace istio-system, revision default) is Ready'})
    // The enum of the vendored release-1.27 CRD: v1.27-latest … v1.21.6.
    expect(byId['istio-version/default'].detail).toMatch(
      /^default: v1\.27-latest \(the operator installs v1\.27-latest, v1\.26-latest, v1\.25-latest and \d+ pinned versions\)$/,
    )
    expect(byId.istiocni.status).toBe('ok')
    expect(byId['ingressgateway-service'].status).toBe('warning')
    await cluster.client.request('PATCH', '/apis/sailoperator.io/v1/istiocnis/default/status', {
      body: {status: {conditions: [{type: 'Ready', status: 'False', reason: 'DaemonSetNotReady'}]}},
      contentType: 'application/merge-patch+json',
    })
    try {
      const bad = await cluster.run(['precheck'])
      expect(bad.exitCode).toBe(1)
      expect(bad.stdout).toContain('IstioCNI default is not Ready (DaemonSetNotReady)')
    } finally {
      await cluster.client.request('PATCH', '/apis/sailoperator.io/v1/istiocnis/default/status', {
        body: {
          status: {
            conditions: [
              {type: 'Ready', status: 'True'},
              {type: 'Reconciled', status: 'True'},
            ],
          },
        },
        contentType: 'application/merge-patch+json',
      })
    }
  })

  it('configure-mesh: merges the drain and the excluded ports into the Istio, creates PeerAuthentication mesh-mtls STRICT; second run: nothing to do', async () => {
    // A user setting that must survive, and a user port that must stay first.
    await cluster.client.mergePatch(Kinds.Istio, 'default', undefined, {
      spec: {values: {global: {proxy: {excludeInboundPorts: '9090'}}, meshConfig: {accessLogFile: '/dev/stdout'}}},
    })
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

  it("enable-metrics: the metrics backend on KnativeServing, 8444 in the Istio's excludeInboundPorts, no NetworkPolicy (none isolates knative-serving); one is added once a NetworkPolicy there does", async () => {
    const r = await cluster.run(['enable-metrics', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toContain('no NetworkPolicy is needed: Service Mesh 3 creates none')
    const ks = await cluster.client.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving')
    expect(ks?.spec.config.observability['metrics.backend-destination']).toBe('prometheus')
    expect((await cluster.client.get(Kinds.Istio, 'default'))?.spec.values.global.proxy.excludeInboundPorts.split(',')).toContain('8444')
    expect(await cluster.client.listAll(Kinds.NetworkPolicy, 'knative-serving')).toEqual([])
    expect((await cluster.run(['enable-metrics', '--yes'])).stdout).toContain('nothing to do')
    // A user's own isolating policy: openshift-monitoring needs the guide's policy now.
    await cluster.client.create({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {name: 'only-same-ns', namespace: 'knative-serving'},
      spec: {podSelector: {}, ingress: [{from: [{podSelector: {}}]}]},
    })
    const again = await cluster.run(['enable-metrics', '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    const np = await cluster.client.get(Kinds.NetworkPolicy, 'allow-from-openshift-monitoring-ns', 'knative-serving')
    expect(np?.spec.ingress).toEqual([{from: [{namespaceSelector: {matchLabels: {name: 'openshift-monitoring'}}}]}])
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
    await cluster.client.mergePatch(Kinds.Istio, 'default', undefined, {
      spec: {values: {meshConfig: {discoverySelectors: [{matchLabels: {'istio-discovery': 'enabled'}}]}}},
    })
    await cluster.client.request('PATCH', '/apis/sailoperator.io/v1/istios/default/status', {
      body: {status: {activeRevisionName: 'default-v1-27-latest'}},
      contentType: 'application/merge-patch+json',
    })
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

  it("filter-secrets: a Gateway's credentialName names a Secret of knative-serving-ingress (where the gateway pods run); --check finds it, the verb labels it", async () => {
    await cluster.client.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {name: 'm3-tls', namespace: 'knative-serving-ingress'},
      type: 'kubernetes.io/tls',
      data: {'tls.crt': '', 'tls.key': ''},
    })
    await cluster.client.create({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: {name: 'm3-gw', namespace: 'knative-serving'},
      spec: {
        selector: {knative: 'ingressgateway'},
        servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'SIMPLE', credentialName: 'm3-tls'}}],
      },
    })
    try {
      const check = await cluster.run(['filter-secrets', '--check'])
      expect(check.exitCode, check.stderr + check.stdout).toBe(1)
      expect(check.stdout).toMatch(/knative-serving-ingress\s+│?\s*m3-tls/)
      const r = await cluster.run(['filter-secrets', '--yes'])
      expect(r.exitCode, r.stderr + r.stdout).toBe(0)
      const s = await cluster.client.get(Kinds.Secret, 'm3-tls', 'knative-serving-ingress')
      expect(s?.metadata.labels?.['networking.internal.knative.dev/certificate-uid']).toBe(s?.metadata.uid)
      expect((await cluster.run(['filter-secrets', '--check'])).exitCode).toBe(0)
    } finally {
      await cluster.client.delete(Kinds.Gateway, 'm3-gw', 'knative-serving')
    }
  })

  it('cost-labels --all-members: the namespaces labeled for injection are the members (no member roll)', async () => {
    // The injection label of the Istio as an earlier test left it (its revision may not be default any more).
    const rev = (await cluster.client.get(Kinds.Istio, 'default'))?.status?.activeRevisionName
    const injection: Record<string, string> = rev === 'default' ? {'istio-injection': 'enabled'} : {'istio.io/rev': rev}
    await createNamespace(cluster.client, 'm3-cost', {...injection, 'cost-center': 'a'})
    await createNamespace(cluster.client, 'm3-nomesh', {'cost-center': 'b'})
    const r = await cluster.run(['cost-labels', '--all-members', '-o', 'json'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    const ns = JSON.parse(r.stdout).namespaces as string[]
    expect(ns).toContain('m3-cost')
    expect(ns).not.toContain('m3-nomesh')
    expect(ns).not.toContain('knative-serving')
  })

  it('certs: the Secret goes to knative-serving-ingress', async () => {
    const out = mkdtempSync('/tmp/knmesh-m3-certs-')
    const r = await cluster.run(['certs', '--out-dir', out, '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(await cluster.client.get(Kinds.Secret, 'wildcard-certs', 'knative-serving-ingress')).not.toBeNull()
    expect(await cluster.client.get(Kinds.Secret, 'wildcard-certs', 'istio-system')).toBeNull()
  })

  it('analyze works on Service Mesh 3 (no refusal): it reads the Istio and the namespace labels, never the member roll', async () => {
    const r = await cluster.run(['analyze', '-o', 'json'])
    expect(r.stderr).not.toContain('does not support Service Mesh 3')
    // An earlier test moved the Istio to revision default-v1-27-latest.
    expect(r.stderr).toMatch(/^Service Mesh 3: Istio default \(istio-system, revision [a-z0-9-]+\)$/m)
    expect([0, 1], r.stderr + r.stdout).toContain(r.exitCode)
    const out = JSON.parse(r.stdout) as {meshVersion: number; findings: {code: string}[]}
    expect(out.meshVersion).toBe(3)
    expect(out.findings.map((f) => f.code)).not.toContain('KNM0304')
  })
})

describe('both generations in istio-system (a migration in progress)', () => {
  const cluster = isolatedCluster({mesh: 'both'})

  it('a writing verb asks for --mesh-version (exit 2), and acts on the one named', async () => {
    const r = await cluster.run(['configure-mesh', '--yes'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(
      /both Service Mesh generations serve istio-system: ServiceMeshControlPlane basic \(2\.x\) and Istio default \(3\).*pass --mesh-version 2 or --mesh-version 3/,
    )
    const three = await cluster.run(['configure-mesh', '--mesh-version', '3', '--yes'])
    expect(three.exitCode, three.stderr).toBe(0)
    expect(three.stdout).toContain('Service Mesh 3: Istio default (istio-system, revision default) (--mesh-version 3; an SMCP is there too)')
    expect(await cluster.client.get(Kinds.PeerAuthenticationV1, 'mesh-mtls', 'istio-system')).not.toBeNull()
    const smcp = await cluster.client.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system')
    expect(smcp?.spec.security).toBeUndefined()
  })
})
