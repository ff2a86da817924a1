import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {recordingProxy} from '../support/recording-proxy.js'

/**
 * tenant-authz, annotate-services and probe on Service Mesh 3 (service-mesh-3.md rows 11, 15-17, N11, N15-N17),
 * on the Sail + Istio 1.27 CRDs with Istio's validating webhook (every object written here passed it).
 */
const cluster = isolatedCluster({mesh: 3})
const GEN_LINE = 'Service Mesh 3: Istio default (istio-system, revision default)'
const T1 = 'tenant-1'
const T2 = 'tenant-2'
const PLAIN = 'plain-project'
const TENANT = 'knmesh.openshift.io/tenant'

const v1 = (name: string, ns: string) => cluster.client.get(Kinds.AuthorizationPolicyV1, name, ns)
const hosts = (ns: string) => [`*.${ns}`, `*.${ns}.svc`, `*.${ns}.svc.cluster.local`]
const senders = [
  'pingsource-mt-adapter',
  'imc-dispatcher',
  'mt-broker-filter',
  'knative-kafka-source-data-plane',
  'knative-kafka-broker-data-plane',
  'knative-kafka-channel-data-plane',
].map((sa) => `cluster.local/ns/knative-eventing/sa/${sa}`)

async function servingReady(status: 'True' | 'False'): Promise<void> {
  await cluster.client.request('PATCH', '/apis/operator.knative.dev/v1beta1/namespaces/knative-serving/knativeservings/knative-serving/status', {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        conditions: [
          {
            type: 'Ready',
            status,
            ...(status === 'False' ? {reason: 'Installing', message: 'deployments not ready'} : {}),
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        ],
      },
    },
  })
}

async function ksvc(ns: string, template: {labels?: Record<string, string>; annotations?: Record<string, string>}): Promise<void> {
  await cluster.client.create({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {name: 'test-webapp', namespace: ns, annotations: {'serving.knative.openshift.io/enablePassthrough': 'true'}},
    spec: {template: {metadata: template, spec: {containers: [{image: 'docker.io/openshift/hello-openshift'}]}}},
  })
  await cluster.client.request('PATCH', `/apis/serving.knative.dev/v1/namespaces/${ns}/services/test-webapp/status`, {
    contentType: 'application/merge-patch+json',
    body: {status: {url: `https://test-webapp-${ns}.apps.example.com`}},
  })
}

beforeAll(async () => {
  for (const ns of [T1, T2, PLAIN]) await createNamespace(cluster.client, ns)
  // A policy a Service Mesh 2.x install left (security.istio.io/v1beta1), with a field of its owner's.
  await cluster.client.create({
    apiVersion: 'security.istio.io/v1beta1',
    kind: 'AuthorizationPolicy',
    metadata: {name: 'allow-traffic-to-activator', namespace: 'knative-serving', labels: {owner: 'platform-team'}},
    spec: {selector: {matchLabels: {app: 'activator'}}, action: 'ALLOW', rules: [{from: [{source: {namespaces: ['knative-serving', 'istio-system']}}]}]},
  })
}, 60_000)

describe('tenant-authz on Service Mesh 3', () => {
  it('refuses while KnativeServing is not Ready, in one line, nothing changed (N15: policies go in after Ready)', async () => {
    const before = await cluster.client.listAll(Kinds.AuthorizationPolicyV1)
    const r = await cluster.run(['tenant-authz', '--defaults', '--yes'])
    expect(r.exitCode).toBe(4)
    expect(r.stdout).toContain(GEN_LINE)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('KnativeServing knative-serving/knative-serving is not Ready (no Ready condition yet)')
    expect(r.stderr).toContain('nothing was changed')
    await servingReady('False')
    const notReady = await cluster.run(['tenant-authz', T1, '--namespaces', T1, '--yes'])
    expect(notReady.exitCode).toBe(4)
    expect(notReady.stderr).toContain('is not Ready (Ready=False (Installing: deployments not ready))')
    expect(await cluster.client.listAll(Kinds.AuthorizationPolicyV1)).toHaveLength(before.length)
  })

  it('--defaults: v1 policies, knative-serving-ingress instead of istio-system, the ingress-gateway policy and autoscaler-permissive; ALLOWs written before deny-all; the 2.x v1beta1 policy updated, not duplicated', async () => {
    await servingReady('True')
    const old = (await cluster.client.get(Kinds.AuthorizationPolicy, 'allow-traffic-to-activator', 'knative-serving'))!
    const proxy = await recordingProxy(cluster.kubeconfig)
    let r
    try {
      r = await cluster.run(['tenant-authz', '--defaults', '--yes'], {kubeconfig: proxy.kubeconfig})
    } finally {
      await proxy.close()
    }
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toContain('no longer names istio-system')
    // The writes in the order they reached the API server (the preflight dry-run aside).
    const writes = proxy.exchanges
      .filter((e) => ['POST', 'PATCH'].includes(e.method) && e.path.startsWith('/apis/security.istio.io/') && !e.path.includes('dryRun'))
      .map((e) => `${e.method} ${e.path.replace(/\?.*$/, '')}${e.method === 'POST' ? ` ${(JSON.parse(e.request) as KObject).metadata.name}` : ''}`)
    expect(writes.length).toBe(13)
    const denyAt = writes.map((w, i) => (w.includes('deny-all-by-default') ? i : -1)).filter((i) => i >= 0)
    expect(denyAt).toEqual([11, 12])
    expect(writes.every((w) => w.includes('/apis/security.istio.io/v1/namespaces/'))).toBe(true)
    expect(writes.slice(0, 11).some((w) => w.includes('peerauthentications autoscaler-permissive'))).toBe(true)
    expect(writes.some((w) => w === 'PATCH /apis/security.istio.io/v1/namespaces/knative-serving/authorizationpolicies/allow-traffic-to-activator')).toBe(true)

    const act = (await v1('allow-traffic-to-activator', 'knative-serving'))!
    expect(act.apiVersion).toBe('security.istio.io/v1')
    expect(act.metadata.uid).toBe(old.metadata.uid)
    expect(act.metadata.labels).toEqual({owner: 'platform-team'})
    expect(act.spec).toEqual({
      selector: {matchLabels: {app: 'activator'}},
      action: 'ALLOW',
      rules: [{from: [{source: {namespaces: ['knative-serving', 'knative-serving-ingress']}}]}],
    })
    expect(
      (await cluster.client.listAll(Kinds.AuthorizationPolicyV1, 'knative-serving')).filter((p) => p.metadata.name === 'allow-traffic-to-activator'),
    ).toHaveLength(1)
    expect((await v1('allow-traffic-to-ingress-gateway', 'knative-serving-ingress'))?.spec).toEqual({
      selector: {matchLabels: {knative: 'ingressgateway'}},
      action: 'ALLOW',
      rules: [{from: [{source: {namespaces: ['knative-serving', 'knative-serving-ingress']}}]}, {to: [{operation: {ports: ['8080', '8443']}}]}],
    })
    expect((await v1('allow-traffic-to-autoscaler', 'knative-serving'))?.spec).toEqual({
      selector: {matchLabels: {app: 'autoscaler'}},
      action: 'ALLOW',
      rules: [{from: [{source: {namespaces: ['knative-serving']}}]}],
    })
    for (const ns of ['knative-serving', 'knative-eventing']) expect((await v1('deny-all-by-default', ns))?.spec ?? {}).toEqual({})
    const pa = (await cluster.client.get(Kinds.PeerAuthenticationV1, 'autoscaler-permissive', 'knative-serving'))!
    expect(pa.spec).toEqual({selector: {matchLabels: {app: 'autoscaler'}}, mtls: {mode: 'PERMISSIVE'}})
    expect(pa.metadata.labels).toEqual({'app.kubernetes.io/managed-by': 'knmesh'})
    expect(await cluster.client.listAll(Kinds.AuthorizationPolicyV1)).toHaveLength(12)
    const again = await cluster.run(['tenant-authz', '--defaults', '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
  })

  it('a tenant: 11 v1 policies (job-sink included), knative-serving-ingress in the per-namespace policy, --add-to-mesh labels the namespace; rerun: nothing to do; user fields kept', async () => {
    const r = await cluster.run(['tenant-authz', 'tenant-1', '--namespaces', T1, '--add-to-mesh', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    const objs = await cluster.client.listAll(Kinds.AuthorizationPolicyV1, undefined, {labelSelector: `${TENANT}=tenant-1`})
    expect(objs.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual(
      [
        `${T1}/allow-from-knative-and-istio`,
        `${T1}/allow-wait-for-drain`,
        'knative-serving/allow-tenant-1-to-activator',
        ...['imc', 'ekb', 'ekc', 'eks', 'broker-ingress', 'job-sink'].map((s) => `knative-eventing/allow-tenant-1-to-${s}`),
        'knative-eventing/allow-tenant-1-kafka-broker-reply',
        'knative-eventing/allow-tenant-1-mt-channel-based-broker-reply',
      ].sort(),
    )
    expect((await v1('allow-from-knative-and-istio', T1))?.spec).toEqual({
      action: 'ALLOW',
      rules: [
        {from: [{source: {namespaces: [T1, 'knative-serving', 'knative-serving-ingress']}}]},
        {from: [{source: {namespaces: ['knative-eventing']}}], when: [{key: 'request.headers[Kn-Namespace]', values: [T1]}]},
      ],
    })
    const kn = [{key: 'request.headers[Kn-Namespace]', values: [T1]}]
    expect((await v1('allow-tenant-1-to-job-sink', 'knative-eventing'))?.spec).toEqual({
      action: 'ALLOW',
      selector: {matchLabels: {'app.kubernetes.io/component': 'job-sink'}},
      rules: [
        {from: [{source: {namespaces: [T1]}}], to: [{operation: {paths: [`/${T1}/*`]}}, {operation: {hosts: hosts(T1)}}]},
        {from: [{source: {namespaces: ['knative-eventing'], principals: senders}}], to: [{operation: {hosts: hosts(T1)}}], when: kn},
        {from: [{source: {namespaces: ['knative-eventing'], principals: senders}}], to: [{operation: {paths: [`/${T1}/*`]}}], when: kn},
      ],
    })
    expect((await cluster.client.get(Kinds.Namespace, T1))?.metadata.labels?.['istio-injection']).toBe('enabled')

    // A field of the user's on one of the tenant's policies survives a rerun.
    await cluster.client.mergePatch(Kinds.AuthorizationPolicyV1, 'allow-wait-for-drain', T1, {metadata: {annotations: {note: 'keep me'}}})
    const again = await cluster.run(['tenant-authz', 'tenant-1', '--namespaces', T1, '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
    expect((await v1('allow-wait-for-drain', T1))?.metadata.annotations?.note).toBe('keep me')
  })

  it('a tenant whose namespace has no injection label is warned about; --list says which namespaces are outside the mesh', async () => {
    const r = await cluster.run(['tenant-authz', 'tenant-2', '--namespaces', T2, '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toContain(`${T2} is not labeled istio-injection=enabled`)
    const list = await cluster.run(['tenant-authz', '--list'])
    expect(list.exitCode, list.stderr).toBe(0)
    expect(list.stdout).toMatch(/tenant-1\s+tenant-1\s+11\s+serving,eventing\s+-/)
    expect(list.stdout).toMatch(/tenant-2\s+tenant-2\s+11\s+serving,eventing\s+tenant-2/)
    const add = await cluster.run(['add-namespace', T2, '--yes'])
    expect(add.exitCode, add.stderr).toBe(0)
  })
})

describe('annotate-services on Service Mesh 3', () => {
  it('replaces the inject annotation with the template label, adds rewriteAppHTTPProbers and the passthrough annotation; other fields kept; rerun: nothing to do', async () => {
    await ksvc(T1, {annotations: {'sidecar.istio.io/inject': 'true', 'autoscaling.knative.dev/min-scale': '1'}, labels: {team: 'one'}})
    await ksvc(T2, {annotations: {'sidecar.istio.io/inject': 'true'}})
    await ksvc(PLAIN, {annotations: {'sidecar.istio.io/inject': 'true'}})
    const r = await cluster.run(['annotate-services', '-n', T1, '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toContain(
      'Service Mesh 3 ignores the annotation sidecar.istio.io/inject (only the label is read): replaced by the label sidecar.istio.io/inject: "true" on tenant-1/test-webapp',
    )
    const svc = (await cluster.client.get(Kinds.KnativeService, 'test-webapp', T1))!
    expect(svc.metadata.annotations?.['serving.knative.openshift.io/enablePassthrough']).toBe('true')
    expect(svc.spec.template.metadata.labels).toEqual({team: 'one', 'sidecar.istio.io/inject': 'true'})
    expect(svc.spec.template.metadata.annotations).toEqual({'autoscaling.knative.dev/min-scale': '1', 'sidecar.istio.io/rewriteAppHTTPProbers': 'true'})
    const again = await cluster.run(['annotate-services', '-n', T1, '--yes'])
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('nothing to do')
  })

  it('--all-members is the namespaces labeled for injection (no member roll on Service Mesh 3)', async () => {
    const r = await cluster.run(['annotate-services', '--all-members', '--dry-run=client'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toContain(`${T2}/test-webapp`)
    expect(r.stdout).not.toContain(`${PLAIN}/test-webapp`)
  })
})

describe('probe on Service Mesh 3', () => {
  beforeAll(async () => {
    // The mesh-wide mTLS of Service Mesh 3: a PeerAuthentication in the mesh namespace (configure-mesh writes it).
    const r = await cluster.run(['configure-mesh', '--yes'])
    if (r.exitCode !== 0) throw new Error(r.stderr)
  }, 60_000)

  it('same tenant: allow (200); other tenant: deny (403) at its per-namespace policy; mTLS from the mesh-wide PeerAuthentication', async () => {
    const ok = await cluster.run(['probe', '--from', T1, '--to', T1, '--expect', 'allow'])
    expect(ok.exitCode, ok.stderr + ok.stdout).toBe(0)
    expect(ok.stdout).toContain('predicted: ALLOW (HTTP 200) for http://test-webapp.tenant-1:80')
    expect(ok.stdout).toContain('mTLS STRICT (istio-system/mesh-mtls)')
    const deny = await cluster.run(['probe', '--from', T1, '--to', T2, '--expect', 'deny'])
    expect(deny.exitCode, deny.stderr + deny.stdout).toBe(0)
    expect(deny.stdout).toContain('predicted: DENY (HTTP 403)')
    const wrong = await cluster.run(['probe', '--from', T1, '--to', T2, '--expect', 'allow'])
    expect(wrong.exitCode).toBe(1)
  })

  it('--external goes through the gateway in knative-serving-ingress', async () => {
    const r = await cluster.run(['probe', '--from', T1, '--to', T2, '--external', '-o', 'json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {predicted: string; url: string; paths: {hops: {to: string; decision: {verdict: string; policy?: {name: string}}}[]}[]}
    expect(out.url).toBe('https://test-webapp-tenant-2.apps.example.com')
    expect(out.paths[0].hops[0].to).toBe('knative-serving-ingress/knative-istio-ingressgateway')
    expect(out.paths[0].hops[0].decision).toMatchObject({verdict: 'allow', policy: {name: 'allow-traffic-to-ingress-gateway'}})
    expect(out.predicted).toBe('allow')
  })

  it('a Knative Service with only the inject annotation in an unlabeled namespace is not injected, and the reason says so', async () => {
    const r = await cluster.run(['probe', '--from', T1, '--to', PLAIN, '-o', 'json'])
    expect(r.exitCode, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {paths: {name: string; hops: {to: string; decision: {reason: string}}[]}[]}
    const direct = out.paths.find((p) => p.name === 'direct to the pod')!
    expect(direct.hops[0].decision.reason).toContain(
      `${PLAIN}/test-webapp is not injected on Service Mesh 3: it has only the annotation sidecar.istio.io/inject, which Service Mesh 3 ignores, and namespace ${PLAIN} is not labeled istio-injection=enabled`,
    )
  })

  it('a caller without a sidecar goes through the local gateway in knative-serving-ingress: the docs port (8081) is not in allow-traffic-to-ingress-gateway, the e2e port (8080) is', async () => {
    const docs = await cluster.run(['probe', '--from', PLAIN, '--to', T1, '-o', 'json'])
    expect(docs.exitCode, docs.stderr).toBe(0)
    const d = JSON.parse(docs.stdout) as {predicted: string; paths: {name: string; hops: {to: string}[]}[]}
    expect(d.paths[0].name).toBe('via knative-local-gateway.knative-serving-ingress.svc.cluster.local and activator')
    expect(d.paths[0].hops[0].to).toBe('knative-serving-ingress/knative-local-gateway')
    expect(d.predicted).toBe('deny')
    await cluster.client.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'knative-local-gateway',
        namespace: 'knative-serving-ingress',
        labels: {'experimental.istio.io/disable-gateway-port-translation': 'true'},
      },
      spec: {type: 'ClusterIP', selector: {knative: 'ingressgateway'}, ports: [{name: 'http2', port: 80, targetPort: 8080}]},
    })
    const e2e = await cluster.run(['probe', '--from', PLAIN, '--to', T1, '--expect', 'deny'])
    // Plain HTTP into the local gateway, then the gateway's own identity (knative-serving-ingress) is admitted.
    expect(e2e.exitCode).toBe(1)
    expect(e2e.stdout).toContain('predicted: ALLOW (HTTP 200)')
  })

  it('--matrix: the two tenants are isolated', async () => {
    const r = await cluster.run(['probe', '--matrix', '--expect', 'isolated'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toContain('isolated: every tenant reaches its own namespaces only')
  })
})

describe('deleting is never held back by KnativeServing readiness', () => {
  afterAll(async () => servingReady('True'))
  it('--delete works while KnativeServing is not Ready', async () => {
    await servingReady('False')
    const r = await cluster.run(['tenant-authz', '--delete', 'tenant-2', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(await cluster.client.listAll(Kinds.AuthorizationPolicyV1, undefined, {labelSelector: `${TENANT}=tenant-2`})).toEqual([])
  })
})
