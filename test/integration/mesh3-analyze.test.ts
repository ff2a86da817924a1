import {mkdtempSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {BIN, knmesh} from '../support/cli.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'

/**
 * analyze on Service Mesh 3 (isolatedCluster({mesh: 3}): Sail + Istio 1.27 CRDs, Istio's validation webhook, the
 * seeded Istio default Ready). The mesh-3 setup is made by knmesh's own verbs, then the hazards of the reference's §3
 * are seeded next to it.
 */
const cluster = isolatedCluster({mesh: 3})
const M = 'istio-system'
const GW = 'knative-serving-ingress'

interface Out {
  meshNamespace: string
  meshVersion: number
  summary: Record<string, number>
  findings: {code: string; severity: string; objects: {kind: string; namespace?: string; name: string}[]; message: string; fix?: string}[]
}
const json = (stdout: string): Out => JSON.parse(stdout)
const create = (o: KObject) => cluster.client.create(o)
const ksvc = (namespace: string, name: string, meta: {labels?: Record<string, string>; annotations?: Record<string, string>}): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: {name, namespace},
  spec: {template: {metadata: meta, spec: {containers: [{image: 'quay.io/example/app'}]}}},
})
const tls = (namespace: string, name: string): KObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {name, namespace},
  type: 'kubernetes.io/tls',
  data: {'tls.crt': 'eA==', 'tls.key': 'eA=='},
})
const codes = (o: Out) => o.findings.map((f) => f.code)

async function run(...args: string[]) {
  const r = await cluster.run(['analyze', '-o', 'json', ...args])
  return {...r, out: r.stdout ? json(r.stdout) : (null as unknown as Out)}
}

describe('analyze on Service Mesh 3', () => {
  beforeAll(async () => {
    // knmesh's own Service Mesh 3 setup: the Istio settings, the gateway in knative-serving-ingress, its certificate,
    // Serving on labels and config-istio pointing at knative-serving-ingress.
    for (const args of [['configure-mesh'], ['create-gateways'], ['enable-istio']]) {
      const r = await cluster.run([...args, '--yes'])
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(0)
    }
    await create(tls(GW, 'wildcard-certs'))
    // The operator would render config-istio from KnativeServing: as it does.
    const ks = await cluster.client.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving')
    await create({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'config-istio', namespace: 'knative-serving'}, data: ks!.spec.config.istio})
    await createNamespace(cluster.client, 'm3a-meshed', {'istio-injection': 'enabled'})
    await createNamespace(cluster.client, 'm3a-plain')
    await create(ksvc('m3a-meshed', 'meshed', {annotations: {'sidecar.istio.io/inject': 'true'}}))
    await create(ksvc('m3a-plain', 'labeled', {labels: {'sidecar.istio.io/inject': 'true'}, annotations: {'sidecar.istio.io/rewriteAppHTTPProbers': 'true'}}))
  })

  it("on knmesh's own Service Mesh 3 setup: no findings, exit 0, the generation said; the SMMR rule is not run", async () => {
    const r = await run()
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stderr).toContain('Service Mesh 3: Istio default (istio-system, revision default)')
    expect(r.out).toMatchObject({meshNamespace: M, meshVersion: 3, findings: []})
    const table = await cluster.run(['analyze'])
    expect(table.exitCode).toBe(0)
    expect(table.stdout).toContain('✔ No issues found in the Serverless–Service Mesh integration (mesh istio-system).')
    const list = await cluster.run(['analyze', '--list-codes', '-o', 'json'])
    const rows = JSON.parse(list.stdout) as {code: string; generations: number[]}[]
    expect(rows.find((c) => c.code === 'KNM0304')?.generations).toEqual([2])
    expect(rows.find((c) => c.code === 'KNM0305')?.generations).toEqual([3])
    expect(rows.find((c) => c.code === 'KNM0101')?.generations).toEqual([2, 3])
  })

  it('the hazards of §3: inject annotation only (KNM0305), wildcard-certs left in the mesh namespace (KNM0106), config-istio naming the mesh namespace (KNM0107), a stale Route (KNM0108); exit 1; each fixed, they go', async () => {
    // N5/N11: the 2.x annotation in an unlabeled project: silently not injected.
    await create(ksvc('m3a-plain', 'annotated', {annotations: {'sidecar.istio.io/inject': 'true'}}))
    // N2: a second Gateway whose certificate is only where Service Mesh 2 read it.
    await create(tls(M, 'm3a-certs'))
    await create({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: {name: 'm3a-https', namespace: 'knative-serving'},
      spec: {
        selector: {knative: 'ingressgateway'},
        servers: [
          {port: {number: 8443, name: 'https-extra', protocol: 'HTTPS'}, hosts: ['extra.example.com'], tls: {mode: 'SIMPLE', credentialName: 'm3a-certs'}},
        ],
      },
    })
    // N7: config-istio edited back to the 2.x gateway Service (KNM0602 says the operator reverts it, as on 2).
    await cluster.client.mergePatch(Kinds.ConfigMap, 'config-istio', 'knative-serving', {
      data: {'local-gateway.knative-serving.knative-local-gateway': `knative-local-gateway.${M}.svc.cluster.local`},
    })
    // §3 step 8: a Route the route controller made for the 2.x gateway, whose Service is gone; one whose Service is still there.
    await create({apiVersion: 'v1', kind: 'Service', metadata: {name: 'istio-ingressgateway-old', namespace: M}, spec: {ports: [{name: 'https', port: 443}]}})
    const route = (name: string, service: string) => ({
      apiVersion: 'route.openshift.io/v1',
      kind: 'Route',
      metadata: {
        name,
        namespace: M,
        labels: {'serving.knative.openshift.io/ingressName': 'meshed', 'serving.knative.openshift.io/ingressNamespace': 'm3a-meshed'},
      },
      spec: {
        host: `${name}.apps.example.com`,
        to: {kind: 'Service', name: service, weight: 100},
        port: {targetPort: 'https'},
        tls: {termination: 'passthrough'},
      },
    })
    await create(route('route-stale', 'istio-ingressgateway'))
    await create(route('route-waiting', 'istio-ingressgateway-old'))
    const r = await run()
    expect(r.exitCode, r.stderr + r.stdout).toBe(1)
    const by = (code: string) => r.out.findings.filter((f) => f.code === code)
    expect(by('KNM0305')).toEqual([
      {
        code: 'KNM0305',
        severity: 'Error',
        objects: [
          {kind: 'Service.serving.knative.dev', namespace: 'm3a-plain', name: 'annotated'},
          {kind: 'Namespace', name: 'm3a-plain'},
        ],
        message:
          'spec.template.metadata.annotations["sidecar.istio.io/inject"] is "true" with no such label, and namespace m3a-plain is not labeled for injection: Service Mesh 3 ignores the annotation, the pods run without a sidecar',
        fix: 'kubectl knmesh annotate-services annotated -n m3a-plain (the annotation becomes the label), or kubectl knmesh add-namespace m3a-plain',
      },
    ])
    expect(by('KNM0106').map((f) => f.objects)).toEqual([
      [
        {kind: 'Gateway', namespace: 'knative-serving', name: 'm3a-https'},
        {kind: 'Secret', namespace: M, name: 'm3a-certs'},
        {kind: 'Secret', namespace: GW, name: 'm3a-certs'},
      ],
    ])
    expect(by('KNM0102')).toEqual([])
    expect(by('KNM0107').map((f) => f.message)).toEqual([
      `data["local-gateway.knative-serving.knative-local-gateway"] is "knative-local-gateway.${M}.svc.cluster.local": on Service Mesh 3 the Knative gateway's Services are in ${GW}, and there is no such Service`,
    ])
    expect(by('KNM0104')).toEqual([])
    expect(by('KNM0108').map((f) => f.objects[0])).toEqual([{kind: 'Route', namespace: M, name: 'route-stale'}])
    expect(by('KNM0108')[0].fix).toBe(`kubectl delete route route-stale -n ${M} (kubectl knmesh migrate-mesh step 8 deletes them all)`)
    // Started as oc-knmesh (oc's plugin name), the same fix names oc, for both commands.
    const ocDir = mkdtempSync(join(tmpdir(), 'knmesh-oc-'))
    symlinkSync(BIN, join(ocDir, 'oc-knmesh'))
    const asOc = json((await knmesh(['analyze', '-o', 'json'], {kubeconfig: cluster.kubeconfig, bin: join(ocDir, 'oc-knmesh')})).stdout)
    expect(asOc.findings.find((f) => f.code === 'KNM0108')!.fix).toBe(`oc delete route route-stale -n ${M} (oc knmesh migrate-mesh step 8 deletes them all)`)
    // The labeled service in the unlabeled project and the annotated one in the labeled namespace are injected: no finding.
    expect(r.out.findings.some((f) => f.objects.some((o) => o.name === 'labeled' || o.name === 'meshed'))).toBe(false)

    // Fixed with knmesh's verbs and the fixes named: the findings go.
    expect((await cluster.run(['annotate-services', 'annotated', '-n', 'm3a-plain', '--yes'])).exitCode).toBe(0)
    await create(tls(GW, 'm3a-certs'))
    await cluster.client.mergePatch(Kinds.ConfigMap, 'config-istio', 'knative-serving', {
      data: {'local-gateway.knative-serving.knative-local-gateway': `knative-local-gateway.${GW}.svc.cluster.local`},
    })
    await cluster.client.delete(Kinds.Route, 'route-stale', M)
    const after = await run()
    expect(after.exitCode, after.stderr + after.stdout).toBe(0)
    expect(codes(after.out)).toEqual([])
  })

  it('membership by namespace labels and mTLS from the mesh-wide PeerAuthentication: a PERMISSIVE policy in an injected namespace is KNM0401, in an unlabeled one nothing; a tenant namespace without the label is KNM0301', async () => {
    await create({
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: {name: 'loose', namespace: 'm3a-meshed'},
      spec: {mtls: {mode: 'PERMISSIVE'}},
    })
    await create({
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: {name: 'loose', namespace: 'm3a-plain'},
      spec: {mtls: {mode: 'PERMISSIVE'}},
    })
    // tenant-authz writes into knative-serving only once KnativeServing is Ready (N15).
    await cluster.client.request('PATCH', '/apis/operator.knative.dev/v1beta1/namespaces/knative-serving/knativeservings/knative-serving/status', {
      contentType: 'application/merge-patch+json',
      body: {status: {conditions: [{type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z')}]}},
    })
    await createNamespace(cluster.client, 'm3a-tenant')
    await create(ksvc('m3a-tenant', 'app', {}))
    const t = await cluster.run(['tenant-authz', 'm3a', '--namespaces', 'm3a-tenant', '--yes'])
    expect(t.exitCode, t.stderr + t.stdout).toBe(0)
    const r = await run('--fail-threshold', 'warning')
    expect(r.exitCode, r.stderr + r.stdout).toBe(1)
    const by = (code: string) => r.out.findings.filter((f) => f.code === code)
    expect(by('KNM0401').map((f) => f.objects)).toEqual([
      [
        {kind: 'PeerAuthentication', namespace: 'm3a-meshed', name: 'loose'},
        {kind: 'PeerAuthentication', namespace: M, name: 'mesh-mtls'},
      ],
    ])
    expect(by('KNM0301').map((f) => [f.objects[0].name, f.fix])).toEqual([['app', 'kubectl knmesh add-namespace m3a-tenant']])
    expect(by('KNM0503')).toEqual([]) // tenant-authz's own Service Mesh 3 render
    expect((await cluster.run(['add-namespace', 'm3a-tenant', '--yes'])).exitCode).toBe(0)
    await cluster.client.delete(Kinds.PeerAuthenticationV1, 'loose', 'm3a-meshed')
    const after = await run('--fail-threshold', 'warning')
    expect(after.exitCode, after.stderr + after.stdout).toBe(0)
  })
})
