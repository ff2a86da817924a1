import {describe, expect, it} from 'vitest'
import {Kinds, objectPath, type KindInfo} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {desiredIngressGateway, desiredLocalGateway, desiredLocalGatewayService} from '../../src/mesh/gateways.js'
import {istioGatewayConfig} from '../../src/mesh/istio.js'
import {defaultPolicies, renderTenant} from '../../src/mesh/tenant-authz.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {ISTIO_WEBHOOK_CONFIG} from '../support/istio-webhook.js'

const cluster = isolatedCluster()
const M = 'istio-system'

interface Out {
  summary: Record<string, number>
  findings: {code: string; severity: string; objects: {kind: string; namespace?: string; name: string}[]; message: string; fix?: string}[]
}
const json = (stdout: string): Out => JSON.parse(stdout)
const requests = (stderr: string) => stderr.split('\n').filter((l) => /^knmesh (GET|POST|PUT|PATCH|DELETE) /.test(l)).length

async function status(info: KindInfo, name: string, namespace: string | undefined, body: unknown) {
  await cluster.client.request('PATCH', `${objectPath(info, name, namespace)}/status`, {body, contentType: 'application/merge-patch+json'})
}
const create = (o: KObject) => cluster.client.create(o)

/** Runs `write` with the Istio ValidatingWebhookConfiguration removed, then puts it back (the API server picks both up within a moment). */
async function withoutIstioValidation(write: () => Promise<unknown>): Promise<void> {
  const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${ISTIO_WEBHOOK_CONFIG}`
  const vwc = (await cluster.client.request('GET', path)) as KObject
  await cluster.client.request('DELETE', path)
  try {
    for (let i = 0; ; i++) {
      try {
        await write()
        break
      } catch (error) {
        if (i >= 40) throw error
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  } finally {
    const metadata: Record<string, unknown> = {...vwc.metadata}
    for (const server of ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields', 'generation']) delete metadata[server]
    await cluster.client.request('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {body: {...vwc, metadata}})
  }
}
const meta = (name: string, namespace?: string, extra: Record<string, unknown> = {}) => ({name, ...(namespace ? {namespace} : {}), ...extra})
const deployment = (namespace: string, name: string, labels: Record<string, string>): KObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: meta(name, namespace),
  spec: {replicas: 0, selector: {matchLabels: labels}, template: {metadata: {labels}, spec: {containers: [{name: 'c', image: 'x'}]}}},
})
const ap = (namespace: string, name: string, spec: Record<string, unknown>): KObject => ({
  apiVersion: 'security.istio.io/v1beta1',
  kind: 'AuthorizationPolicy',
  metadata: meta(name, namespace),
  spec,
})
const ksvc = (namespace: string, name: string, annotations: Record<string, string>, container: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: meta(name, namespace),
  spec: {template: {metadata: {annotations}, spec: {containers: [{image: 'quay.io/example/app', ...container}]}}},
})
const INJECT = {'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/rewriteAppHTTPProbers': 'true'}

describe('analyze on a real API server', () => {
  it('on the seeded fresh state: no findings, exit 0, and the status row is ok', async () => {
    const r = await cluster.run(['analyze'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toBe('✔ No issues found in the Serverless–Service Mesh integration (mesh istio-system).')
    const j = await cluster.run(['analyze', '-o', 'json'])
    expect(json(j.stdout)).toMatchObject({summary: {Error: 0, Warning: 0, Info: 0}, findings: []})
    const st = await cluster.run(['status', '-o', 'json'])
    expect(JSON.parse(st.stdout).rows.find((x: {area: string}) => x.area === 'analyze')).toMatchObject({state: 'ok', check: 'integration analysis'})

    // Warnings alone: exit 0 by default, 1 with --fail-threshold warning (as istioctl's --failure-threshold).
    await status(Kinds.ServiceMeshMemberRoll, 'default', M, {status: {pendingMembers: ['ghost']}})
    const warned = await cluster.run(['analyze'])
    expect(warned.exitCode, warned.stderr).toBe(0)
    expect(warned.stdout.split('\n')[0]).toBe('Warning [KNM0304] (ServiceMeshMemberRoll istio-system/default) ghost is pending in the member roll')
    const strict = await cluster.run(['analyze', '--fail-threshold', 'warning', '-o', 'yaml'])
    expect(strict.exitCode).toBe(1)
    expect(strict.stdout).toMatch(
      /^meshNamespace: istio-system\nsummary:\n  Error: 0\n  Warning: 1\n  Info: 0\nfindings:\n  - code: KNM0304\n    severity: Warning\n/,
    )
    expect(strict.stderr).toBe('error: analyze found issues at or above warning severity')
    await status(Kinds.ServiceMeshMemberRoll, 'default', M, {status: {pendingMembers: []}})
  }, 180_000)

  it('finds every broken piece of a misconfigured cluster, with the objects and the fix', async () => {
    const c = cluster.client
    for (const ns of ['apps', 'alpha-1']) await createNamespace(c, ns)
    // Control plane: strict mTLS, gateway pods deployed, member roll with apps pending.
    await c.mergePatch(Kinds.ServiceMeshControlPlane, 'basic', M, {spec: {security: {dataPlane: {mtls: true}}}})
    await c.mergePatch(Kinds.ServiceMeshMemberRoll, 'default', M, {spec: {members: ['knative-serving', 'knative-eventing', 'apps', 'alpha-1']}})
    await status(Kinds.ServiceMeshMemberRoll, 'default', M, {
      status: {configuredMembers: ['knative-serving', 'knative-eventing', 'alpha-1'], pendingMembers: ['apps']},
    })
    await create(deployment(M, 'istio-ingressgateway', {app: 'istio-ingressgateway', istio: 'ingressgateway', knative: 'ingressgateway'}))
    await create(deployment('knative-serving', 'activator', {app: 'activator', 'app.kubernetes.io/component': 'activator'}))
    // Gateways: the guide's two, one foreign 443 "*", one with a typo'd selector; the credential Secret is Opaque.
    await create(desiredIngressGateway(null, 'wildcard-certs'))
    await create(desiredLocalGateway(null))
    await create({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: meta('wild', 'apps'),
      spec: {
        selector: {istio: 'ingressgateway'},
        servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'SIMPLE', credentialName: 'apps-cert'}}],
      },
    })
    await create({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: meta('typo', 'apps'),
      spec: {selector: {istio: 'ingresgateway'}, servers: [{port: {number: 80, name: 'http', protocol: 'HTTP'}, hosts: ['shop.example.com']}]},
    })
    await create({apiVersion: 'v1', kind: 'Secret', metadata: meta('wildcard-certs', M), type: 'Opaque', data: {password: 'eA=='}})
    await create({apiVersion: 'v1', kind: 'Secret', metadata: meta('apps-cert', M), type: 'kubernetes.io/tls', data: {'tls.crt': 'eA==', 'tls.key': 'eA=='}})
    const local = desiredLocalGatewayService(null, M)
    delete local.metadata.labels!['experimental.istio.io/disable-gateway-port-translation']
    await create(local)
    await create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('istio-ingressgateway', M, {labels: {knative: 'ingressgateway'}}),
      spec: {ports: [{name: 'https', port: 443}]},
    })
    // KnativeServing: Istio on, autoscaler without sidecar, a typo'd local-gateway host; config-istio edited by hand.
    const config = istioGatewayConfig(M)
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {
      spec: {
        ingress: {istio: {enabled: true}},
        deployments: [{name: 'activator', annotations: INJECT}],
        config: {istio: {...config, 'local-gateway.knative-serving.knative-local-gateway': 'knative-local-gateway.istio-sytem.svc.cluster.local'}},
      },
    })
    await create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('config-istio', 'knative-serving'),
      data: {...config, 'gateway.knative-serving.knative-ingress-gateway': 'my-gateway.istio-system.svc.cluster.local'},
    })
    // Kafka: bootstrap on 9092, the ServiceEntry repeats names and lacks 9092.
    await create({
      apiVersion: 'operator.serverless.openshift.io/v1alpha1',
      kind: 'KnativeKafka',
      metadata: meta('knative-kafka', 'knative-eventing'),
      spec: {
        channel: {enabled: true, bootstrapServers: 'my-kafka.kafka:9092'},
        source: {enabled: true},
        broker: {enabled: false, defaultConfig: {bootstrapServers: 'my-kafka.kafka:9092'}},
        sink: {enabled: false},
      },
    })
    // Istio's webhook refuses repeated port names on create, so such an object only exists where it was
    // stored while validation was off (istiod not yet ready, or failurePolicy Ignore): made so here.
    await withoutIstioValidation(() =>
      create({
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'ServiceEntry',
        metadata: meta('kafka-cluster', 'knative-eventing'),
        spec: {
          hosts: ['my-kafka.kafka'],
          location: 'MESH_EXTERNAL',
          resolution: 'NONE',
          ports: [
            {number: 9093, name: 'tcp-tls', protocol: 'TCP'},
            {number: 9096, name: 'tcp-tls', protocol: 'TCP'},
          ],
        },
      }),
    )
    // Knative Services: one without the sidecar, one with a typo, one stuck waiting for the load balancer, one asking 4 GPUs.
    await create(ksvc('alpha-1', 'bare', {}))
    await create(ksvc('alpha-1', 'typo', {...INJECT, 'sidecar.istio.io/injet': 'true'}))
    await create(ksvc('alpha-1', 'hello', INJECT))
    await create(ksvc('alpha-1', 'llm', INJECT, {resources: {limits: {'nvidia.com/gpu': '4'}}}))
    const waiting = {conditions: [{type: 'Ready', status: 'Unknown', reason: 'Uninitialized', message: 'Waiting for load balancer to be ready'}]}
    await status(Kinds.KnativeService, 'hello', 'alpha-1', {status: waiting})
    await create({apiVersion: 'networking.internal.knative.dev/v1alpha1', kind: 'Ingress', metadata: meta('hello', 'alpha-1'), spec: {}})
    await status(Kinds.KIngress, 'hello', 'alpha-1', {status: waiting})
    await status(Kinds.KnativeService, 'llm', 'alpha-1', {status: {conditions: [{type: 'ConfigurationsReady', status: 'False', reason: 'RevisionFailed'}]}})
    await create({apiVersion: 'v1', kind: 'Node', metadata: meta('gpu-1', undefined, {labels: {'kubernetes.io/arch': 'amd64'}})})
    await status(Kinds.Node, 'gpu-1', undefined, {status: {allocatable: {'nvidia.com/gpu': '2'}, capacity: {'nvidia.com/gpu': '2'}}})
    // mTLS: a PERMISSIVE namespace, port exceptions without 9090.
    await create({apiVersion: 'security.istio.io/v1beta1', kind: 'PeerAuthentication', metadata: meta('loose', 'alpha-1'), spec: {mtls: {mode: 'PERMISSIVE'}}})
    await create({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'PeerAuthentication',
      metadata: meta('ports', 'knative-serving'),
      spec: {selector: {matchLabels: {app: 'activator'}}, portLevelMtls: {'8444': {mode: 'PERMISSIVE'}}},
    })
    // Authorization: the defaults without the activator's, a tenant with a changed policy, a dead selector, a rule-less selector, a mesh-wide deny.
    for (const p of defaultPolicies(M).filter((x) => x.metadata.name !== 'allow-traffic-to-activator')) await create(p)
    const tenant = renderTenant({name: 'alpha', namespaces: ['alpha-1'], meshNamespace: M, clusterDomain: 'cluster.local', serving: true, eventing: false})
    tenant.find((p) => p.metadata.name === 'allow-wait-for-drain')!.spec.rules[0].to[0].operation.ports = ['8080']
    for (const p of tenant) await create(p)
    await create(ap('knative-serving', 'to-activatr', {selector: {matchLabels: {app: 'activatr'}}, rules: [{from: [{source: {namespaces: ['apps']}}]}]}))
    await create(ap('alpha-1', 'no-rules', {action: 'ALLOW', selector: {matchLabels: {'serving.knative.dev/service': 'bare'}}}))
    // Operator ownership: the monitoring NetworkPolicy with another selector.
    await create({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('allow-from-openshift-monitoring-ns', 'knative-serving'),
      spec: {podSelector: {matchLabels: {app: 'activator'}}, ingress: [{from: [{namespaceSelector: {matchLabels: {name: 'openshift-monitoring'}}}]}]},
    })

    const r = await cluster.run(['analyze', '-o', 'json'])
    expect(r.exitCode, r.stderr).toBe(1)
    const out = json(r.stdout)
    const by = (code: string) => out.findings.filter((f) => f.code === code)
    const objs = (code: string) => by(code).map((f) => f.objects.map((o) => `${o.kind} ${o.namespace ? o.namespace + '/' : ''}${o.name}`))
    expect(objs('KNM0101')).toEqual([['Gateway apps/wild', 'Gateway knative-serving/knative-ingress-gateway']])
    expect(objs('KNM0102')).toEqual([['Gateway knative-serving/knative-ingress-gateway', 'Secret istio-system/wildcard-certs']])
    expect(objs('KNM0103')).toEqual([['Gateway apps/typo']])
    expect(objs('KNM0104')).toEqual([
      ['ConfigMap knative-serving/config-istio', 'Service istio-system/my-gateway'],
      ['KnativeServing knative-serving/knative-serving', 'Service istio-sytem/knative-local-gateway'],
    ])
    expect(objs('KNM0105')).toEqual([['Service istio-system/knative-local-gateway', 'Gateway knative-serving/knative-local-gateway']])
    expect(objs('KNM0201')).toEqual([['ServiceEntry knative-eventing/kafka-cluster']])
    expect(objs('KNM0202')).toEqual([['KnativeKafka knative-eventing/knative-kafka', 'ServiceEntry knative-eventing/kafka-cluster']])
    expect(objs('KNM0301')).toEqual([['Service.serving.knative.dev alpha-1/bare']])
    expect(objs('KNM0302')).toEqual([['KnativeServing knative-serving/knative-serving']])
    expect(by('KNM0302')[0].message).toContain('spec.deployments: autoscaler lacks sidecar.istio.io/inject')
    expect(objs('KNM0303')).toEqual([['Service.serving.knative.dev alpha-1/typo']])
    expect(objs('KNM0304')).toEqual([['ServiceMeshMemberRoll istio-system/default', 'Namespace apps']])
    expect(objs('KNM0401')).toEqual([['PeerAuthentication alpha-1/loose', 'ServiceMeshControlPlane istio-system/basic']])
    expect(by('KNM0402')[0].message).toContain('relaxes 8444 but not 8022, 9090')
    expect(objs('KNM0501')).toEqual([['AuthorizationPolicy knative-serving/to-activatr']])
    expect(objs('KNM0502')).toEqual([['AuthorizationPolicy alpha-1/no-rules']])
    expect(by('KNM0503')[0].message).toBe('tenant alpha (alpha-1): 1 policies differ from the chart: different alpha-1/allow-wait-for-drain')
    expect(by('KNM0504').map((f) => f.message)).toEqual(['deny-all-by-default denies everything in knative-serving, and allow-traffic-to-activator is missing'])
    expect(objs('KNM0601')).toEqual([['NetworkPolicy knative-serving/allow-from-openshift-monitoring-ns']])
    expect(by('KNM0602').map((f) => f.message.split(' is ')[0])).toEqual([
      'data["gateway.knative-serving.knative-ingress-gateway"]',
      'data["local-gateway.knative-serving.knative-local-gateway"]',
    ])
    expect(objs('KNM0701')).toEqual([
      [
        'Service.serving.knative.dev alpha-1/hello',
        'Ingress.networking.internal.knative.dev alpha-1/hello',
        'AuthorizationPolicy knative-serving/deny-all-by-default',
      ],
    ])
    expect(objs('KNM0702')).toEqual([['Service.serving.knative.dev alpha-1/llm']])
    expect(by('KNM0504')[0].fix).toBe('kubectl knmesh tenant-authz --defaults')
    expect(out.summary.Error).toBe(out.findings.filter((f) => f.severity === 'Error').length)
    expect(new Set(out.findings.map((f) => f.code)).size).toBe(21)

    // Human output: istioctl's lines, errors first; status sums it up in one row.
    const human = await cluster.run(['analyze'])
    expect(human.exitCode).toBe(1)
    const lines = human.stdout.split('\n').filter((l) => /^(Error|Warning|Info) \[/.test(l))
    expect(lines).toContain(
      'Error [KNM0101] (Gateway apps/wild) binds port 443 with host "*" on the same gateway pods as knative-serving/knative-ingress-gateway: Knative Services stop being reachable over HTTPS',
    )
    expect(lines.findIndex((l) => l.startsWith('Warning'))).toBeGreaterThan(lines.findLastIndex((l) => l.startsWith('Error')))
    const st = await cluster.run(['status', '-o', 'json'])
    expect(JSON.parse(st.stdout).rows.find((x: {area: string}) => x.area === 'analyze')).toMatchObject({state: 'failure', fix: 'kubectl knmesh analyze'})
  }, 240_000)

  it('sends the same number of API requests for 3 or 43 namespaces, Knative Services and policies', async () => {
    const before = await cluster.run(['analyze'], {env: {DEBUG: 'knmesh'}})
    for (let i = 0; i < 40; i++) {
      await createNamespace(cluster.client, `many-${i}`)
      await create(ksvc(`many-${i}`, 'svc', INJECT))
      await create(ap(`many-${i}`, 'deny-all-by-default', {}))
    }
    const after = await cluster.run(['analyze'], {env: {DEBUG: 'knmesh'}})
    expect(requests(before.stderr)).toBeGreaterThan(10)
    expect(requests(after.stderr)).toBe(requests(before.stderr))
  }, 120_000)
})
