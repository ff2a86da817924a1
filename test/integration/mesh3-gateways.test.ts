/**
 * create-gateways and enable-istio on Service Mesh 3 (Sail + Istio 1.27 CRDs, Istio's validating webhook), against
 * the objects of the Service Mesh 3 docs (reference §1.1 rows 6-10): the gateway in knative-serving-ingress, the
 * Gateways in knative-serving (networking.istio.io/v1), the Knative custom resources with labels instead of
 * annotations, config-istio naming knative-serving-ingress, the v1 ServiceEntry with unique port names.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {createNamespace, isolatedCluster, type TestCluster} from '../support/cluster.js'
import {healthyIstioStatus} from '../support/controlplane.js'

const ING = 'knative-serving-ingress'
const GATEWAY_POD = {knative: 'ingressgateway', 'sidecar.istio.io/inject': 'true'}
const INJECT = {'sidecar.istio.io/inject': 'true'}
const REWRITE = {'sidecar.istio.io/rewriteAppHTTPProbers': 'true'}
const DISABLE_NP = {'serverless.openshift.io/disable-istio-net-policies-generation': 'true'}
const KAFKA_WORKLOADS = [
  'kafka-controller',
  'kafka-broker-receiver',
  'kafka-broker-dispatcher',
  'kafka-channel-receiver',
  'kafka-channel-dispatcher',
  'kafka-source-dispatcher',
  'kafka-sink-receiver',
]
/** The Service Mesh 3 docs' Gateways (serverless-ossm-installing-and-configuring-openshift-service-mesh-3-x.adoc). */
const INGRESS_GATEWAY_SPEC = {
  selector: {knative: 'ingressgateway'},
  servers: [{hosts: ['*'], port: {name: 'https', number: 443, protocol: 'HTTPS'}, tls: {credentialName: 'wildcard-certs', mode: 'SIMPLE'}}],
}
const LOCAL_GATEWAY_SPEC = {selector: {knative: 'ingressgateway'}, servers: [{hosts: ['*'], port: {name: 'http', number: 8081, protocol: 'HTTP'}}]}

const get = (cluster: TestCluster, info: (typeof Kinds)[keyof typeof Kinds], name: string, ns?: string) => cluster.client.get(info, name, ns)
const rv = async (cluster: TestCluster, info: (typeof Kinds)[keyof typeof Kinds], name: string, ns?: string) =>
  (await get(cluster, info, name, ns))?.metadata.resourceVersion

/** The objects create-gateways owns on Service Mesh 3. */
const GATEWAY_OBJECTS: [(typeof Kinds)[keyof typeof Kinds], string, string | undefined][] = [
  [Kinds.Namespace, ING, undefined],
  [Kinds.Role, 'istio-ingressgateway-sds', ING],
  [Kinds.RoleBinding, 'istio-ingressgateway-sds', ING],
  [Kinds.Deployment, 'knative-istio-ingressgateway', ING],
  [Kinds.Service, 'knative-istio-ingressgateway', ING],
  [Kinds.Service, 'knative-local-gateway', ING],
  [Kinds.GatewayV1, 'knative-ingress-gateway', 'knative-serving'],
  [Kinds.GatewayV1, 'knative-local-gateway', 'knative-serving'],
]

describe('create-gateways and enable-istio on Service Mesh 3', () => {
  const cluster = isolatedCluster({mesh: 3})
  const outDir = mkdtempSync(join(tmpdir(), 'knmesh-m3gw-'))

  it('create-gateways without the Secret in knative-serving-ingress: a warning, as on 2.x; another Gateway on 443 "*": refused, nothing created', async () => {
    const dry = await cluster.run(['create-gateways', '--dry-run=client'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.stdout).toContain('Service Mesh 3: Istio default (istio-system, revision default)')
    expect(dry.stderr).toContain(
      'warning: Secret knative-serving-ingress/wildcard-certs does not exist: the ingress gateway cannot serve TLS until it does (kubectl knmesh certs)',
    )

    await createNamespace(cluster.client, 'legacy-web')
    await cluster.client.create({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: {name: 'wildcard-443', namespace: 'legacy-web'},
      spec: {
        selector: {istio: 'ingressgateway'},
        servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'SIMPLE', credentialName: 'x'}}],
      },
    })
    const refused = await cluster.run(['create-gateways', '--yes'])
    expect(refused.exitCode).toBe(4)
    expect(refused.stderr).toBe(
      'error: Gateway legacy-web/wildcard-443 already binds port 443 with host "*" (see kubectl knmesh precheck); remove it, or pass --force',
    )
    expect(await get(cluster, Kinds.Deployment, 'knative-istio-ingressgateway', ING)).toBeNull()
    expect(await get(cluster, Kinds.GatewayV1, 'knative-ingress-gateway', 'knative-serving')).toBeNull()
    await cluster.client.delete(Kinds.GatewayV1, 'wildcard-443', 'legacy-web')
  })

  it("create-gateways creates exactly the docs' gateway in knative-serving-ingress and the v1 Gateways; a 2.x local Gateway becomes plain HTTP 8081, its label kept; second run: nothing to do", async () => {
    const certs = await cluster.run(['certs', '--out-dir', outDir, '--yes'])
    expect(certs.exitCode, certs.stderr).toBe(0)
    // The 2.x local gateway (v1alpha3, HTTPS ISTIO_MUTUAL on 8081) with a user's label: edited in place.
    await cluster.client.create({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: {name: 'knative-local-gateway', namespace: 'knative-serving', labels: {team: 'net'}},
      spec: {
        selector: {knative: 'ingressgateway'},
        servers: [{port: {number: 8081, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'ISTIO_MUTUAL'}}],
      },
    })

    const yaml = await cluster.run(['create-gateways', '--dry-run=client', '-o', 'yaml'])
    expect(yaml.exitCode, yaml.stderr).toBe(0)
    expect(yaml.stdout).toMatch(/apiVersion: networking\.istio\.io\/v1\nkind: Gateway\nmetadata:\n {2}name: knative-ingress-gateway/)

    const r = await cluster.run(['create-gateways', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stderr).not.toContain('warning')
    expect(r.stdout).toContain('Gateway knative-serving/knative-local-gateway: port 8081 is plain HTTP on Service Mesh 3; its tls (ISTIO_MUTUAL) is removed')
    for (const line of [
      /create\s+Role\s+knative-serving-ingress\s+istio-ingressgateway-sds\s+applied/,
      /create\s+RoleBinding\s+knative-serving-ingress\s+istio-ingressgateway-sds\s+applied/,
      /create\s+Deployment\s+knative-serving-ingress\s+knative-istio-ingressgateway\s+applied/,
      /create\s+Service\s+knative-serving-ingress\s+knative-istio-ingressgateway\s+applied/,
      /create\s+Service\s+knative-serving-ingress\s+knative-local-gateway\s+applied/,
      /create\s+Gateway\s+knative-serving\s+knative-ingress-gateway\s+applied/,
      /update\s+Gateway\s+knative-serving\s+knative-local-gateway\s+applied/,
    ])
      expect(r.stdout).toMatch(line)
    expect(r.stdout).not.toMatch(/Namespace\s+knative-serving-ingress/) // it exists and needs no label (no discoverySelectors)

    const deploy = (await get(cluster, Kinds.Deployment, 'knative-istio-ingressgateway', ING))!
    expect(deploy.metadata.labels).toBeUndefined()
    expect(deploy.spec.selector).toEqual({matchLabels: {knative: 'ingressgateway'}})
    expect(deploy.spec.template.metadata).toEqual({annotations: {'inject.istio.io/templates': 'gateway'}, labels: GATEWAY_POD})
    expect(deploy.spec.template.spec.containers).toHaveLength(1)
    expect(deploy.spec.template.spec.containers[0]).toMatchObject({name: 'istio-proxy', image: 'auto'})
    const role = (await get(cluster, Kinds.Role, 'istio-ingressgateway-sds', ING))!
    expect(role.rules).toEqual([{apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list']}])
    const binding = (await get(cluster, Kinds.RoleBinding, 'istio-ingressgateway-sds', ING))!
    expect(binding.roleRef).toEqual({apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'istio-ingressgateway-sds'})
    expect(binding.subjects).toEqual([{kind: 'ServiceAccount', name: 'default'}])
    const svc = (await get(cluster, Kinds.Service, 'knative-istio-ingressgateway', ING))!
    expect(svc.metadata.labels).toBeUndefined()
    expect([svc.spec.type, svc.spec.selector]).toEqual(['ClusterIP', {knative: 'ingressgateway'}])
    expect(svc.spec.ports).toEqual([
      {name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP'},
      {name: 'https', port: 443, targetPort: 8443, protocol: 'TCP'},
    ])
    const local = (await get(cluster, Kinds.Service, 'knative-local-gateway', ING))!
    expect(local.metadata.labels).toEqual({'experimental.istio.io/disable-gateway-port-translation': 'true'})
    expect([local.spec.type, local.spec.selector]).toEqual(['ClusterIP', {knative: 'ingressgateway'}])
    expect(local.spec.ports).toEqual([{name: 'http2', port: 80, targetPort: 8081, protocol: 'TCP'}])
    expect(await get(cluster, Kinds.Service, 'knative-local-gateway', 'istio-system')).toBeNull() // not the 2.x place
    const ingressGw = (await get(cluster, Kinds.GatewayV1, 'knative-ingress-gateway', 'knative-serving'))!
    expect(ingressGw.apiVersion).toBe('networking.istio.io/v1')
    expect(ingressGw.spec).toEqual(INGRESS_GATEWAY_SPEC)
    const localGw = (await get(cluster, Kinds.GatewayV1, 'knative-local-gateway', 'knative-serving'))!
    expect(localGw.spec).toEqual(LOCAL_GATEWAY_SPEC)
    expect(localGw.metadata.labels).toEqual({team: 'net'})

    const before = await Promise.all(GATEWAY_OBJECTS.map(([k, n, ns]) => rv(cluster, k, n, ns)))
    const again = await cluster.run(['create-gateways', '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
    expect(again.stderr).not.toContain('warning')
    expect(await Promise.all(GATEWAY_OBJECTS.map(([k, n, ns]) => rv(cluster, k, n, ns)))).toEqual(before)
  }, 120_000)

  it("create-gateways over user edits: restores what the gateway needs, keeps the user's replicas, labels, ports, containers, rules and subjects", async () => {
    await cluster.client.mergePatch(Kinds.Deployment, 'knative-istio-ingressgateway', ING, {
      metadata: {labels: {team: 'net'}},
      spec: {
        replicas: 3,
        template: {
          metadata: {labels: {'sidecar.istio.io/inject': null, zone: 'a'}, annotations: {'inject.istio.io/templates': null, 'prometheus.io/scrape': 'true'}},
        },
      },
    })
    // A strategic merge would be nicer; a JSON patch adds a second container.
    await cluster.client.request('PATCH', `/apis/apps/v1/namespaces/${ING}/deployments/knative-istio-ingressgateway`, {
      body: [{op: 'add', path: '/spec/template/spec/containers/-', value: {name: 'log-shipper', image: 'registry.example.com/shipper:1'}}],
      contentType: 'application/json-patch+json',
    })
    await cluster.client.request('PATCH', `/api/v1/namespaces/${ING}/services/knative-istio-ingressgateway`, {
      body: [
        {op: 'replace', path: '/spec/ports/0/targetPort', value: 9999},
        {op: 'add', path: '/spec/ports/-', value: {name: 'status-port', port: 15021, targetPort: 15021}},
        {op: 'add', path: '/metadata/labels', value: {team: 'net'}},
      ],
      contentType: 'application/json-patch+json',
    })
    await cluster.client.mergePatch(Kinds.Service, 'knative-local-gateway', ING, {
      metadata: {labels: {team: 'net', 'experimental.istio.io/disable-gateway-port-translation': null}},
    })
    await cluster.client.mergePatch(Kinds.Role, 'istio-ingressgateway-sds', ING, {
      rules: [
        {apiGroups: [''], resources: ['secrets'], verbs: ['get']},
        {apiGroups: [''], resources: ['configmaps'], verbs: ['get']},
      ],
    })
    await cluster.client.mergePatch(Kinds.RoleBinding, 'istio-ingressgateway-sds', ING, {subjects: [{kind: 'ServiceAccount', name: 'gateway-sa'}]})

    const r = await cluster.run(['create-gateways', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    const deploy = (await get(cluster, Kinds.Deployment, 'knative-istio-ingressgateway', ING))!
    expect(deploy.metadata.labels).toEqual({team: 'net'})
    expect(deploy.spec.replicas).toBe(3)
    expect(deploy.spec.template.metadata.labels).toEqual({...GATEWAY_POD, zone: 'a'})
    expect(deploy.spec.template.metadata.annotations).toEqual({'inject.istio.io/templates': 'gateway', 'prometheus.io/scrape': 'true'})
    expect(deploy.spec.template.spec.containers.map((c: {name: string; image: string}) => [c.name, c.image])).toEqual([
      ['istio-proxy', 'auto'],
      ['log-shipper', 'registry.example.com/shipper:1'],
    ])
    const svc = (await get(cluster, Kinds.Service, 'knative-istio-ingressgateway', ING))!
    expect(svc.metadata.labels).toEqual({team: 'net'})
    expect(svc.spec.ports).toEqual([
      {name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP'},
      {name: 'https', port: 443, targetPort: 8443, protocol: 'TCP'},
      {name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP'},
    ])
    expect((await get(cluster, Kinds.Service, 'knative-local-gateway', ING))!.metadata.labels).toEqual({
      team: 'net',
      'experimental.istio.io/disable-gateway-port-translation': 'true',
    })
    expect((await get(cluster, Kinds.Role, 'istio-ingressgateway-sds', ING))!.rules).toEqual([
      {apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list']},
      {apiGroups: [''], resources: ['configmaps'], verbs: ['get']},
    ])
    expect((await get(cluster, Kinds.RoleBinding, 'istio-ingressgateway-sds', ING))!.subjects).toEqual([
      {kind: 'ServiceAccount', name: 'gateway-sa'},
      {kind: 'ServiceAccount', name: 'default'},
    ])
    const again = await cluster.run(['create-gateways'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
  }, 120_000)

  it('create-gateways refuses a RoleBinding istio-ingressgateway-sds bound to another role (roleRef is immutable): exit 4, nothing changed', async () => {
    await cluster.client.delete(Kinds.RoleBinding, 'istio-ingressgateway-sds', ING)
    await cluster.client.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: {name: 'istio-ingressgateway-sds', namespace: ING},
      roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view'},
      subjects: [{kind: 'ServiceAccount', name: 'default'}],
    })
    await cluster.client.mergePatch(Kinds.Service, 'knative-local-gateway', ING, {spec: {type: 'ClusterIP', selector: {app: 'other'}}})
    const before = await rv(cluster, Kinds.Service, 'knative-local-gateway', ING)
    const r = await cluster.run(['create-gateways', '--yes'])
    expect(r.exitCode).toBe(4)
    expect(r.stderr).toBe(
      'error: RoleBinding knative-serving-ingress/istio-ingressgateway-sds binds ClusterRole view, not Role istio-ingressgateway-sds, and its roleRef cannot change: delete it (kubectl delete rolebinding istio-ingressgateway-sds -n knative-serving-ingress) and run create-gateways again; nothing was changed',
    )
    expect(await rv(cluster, Kinds.Service, 'knative-local-gateway', ING)).toBe(before)
    await cluster.client.delete(Kinds.RoleBinding, 'istio-ingressgateway-sds', ING)
    const fixed = await cluster.run(['create-gateways', '--yes'])
    expect(fixed.exitCode, fixed.stderr).toBe(0)
    expect((await get(cluster, Kinds.Service, 'knative-local-gateway', ING))!.spec.selector).toEqual({knative: 'ingressgateway'})
  }, 120_000)

  it("the Istio webhook is live on this cluster: it refuses an invalid v1 Gateway with Istio's message (so the objects above passed it)", async () => {
    const bad = cluster.client.create({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: {name: 'bad-host', namespace: 'legacy-web'},
      spec: {selector: {knative: 'ingressgateway'}, servers: [{port: {number: 80, name: 'http', protocol: 'HTTP'}, hosts: ['not a host!']}]},
    })
    await expect(bad).rejects.toThrow(/domain name "not a host!" invalid/)
  })

  it('enable-istio: names configure-mesh; with --prerequisites folds it in; Serving, Eventing, Kafka get the labels, the annotation, job-sink, knative-serving-ingress gateways; the 2.x annotation becomes the label; v1 ServiceEntry', async () => {
    // The 2.x state of the three custom resources (guide 1.4.3), plus user fields.
    await cluster.client.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {
      metadata: {annotations: {owner: 'platform'}},
      spec: {
        deployments: [{name: 'activator', replicas: 2, annotations: {'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/rewriteAppHTTPProbers': 'true'}}],
        config: {network: {'domain-template': '{{.Name}}.{{.Namespace}}.{{.Domain}}'}},
      },
    })
    await cluster.client.create({
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeEventing',
      metadata: {name: 'knative-eventing', namespace: 'knative-eventing'},
      spec: {
        config: {features: {'kreference-group': 'enabled'}},
        workloads: [
          {name: 'mt-broker-filter', replicas: 2},
          {name: 'eventing-webhook', annotations: {'sidecar.istio.io/inject': 'false', a: 'b'}},
        ],
      },
    })
    await cluster.client.create({
      apiVersion: 'operator.serverless.openshift.io/v1alpha1',
      kind: 'KnativeKafka',
      metadata: {name: 'knative-kafka', namespace: 'knative-eventing'},
      spec: {
        channel: {enabled: true, bootstrapServers: 'my-cluster-kafka-bootstrap.kafka:9092'},
        source: {enabled: true},
        broker: {enabled: true, defaultConfig: {bootstrapServers: 'my-cluster-kafka-bootstrap.kafka:9092', numPartitions: 10, replicationFactor: 3}},
        sink: {enabled: true},
      },
    })

    const told = await cluster.run(['enable-istio', '--dry-run=client'])
    expect(told.exitCode, told.stderr).toBe(0)
    expect(told.stderr).toContain(
      'warning: Istio default: terminationDrainDuration is not set (at least 35s needed); spec.values.global.proxy.excludeInboundPorts lacks 8444, 8022; no mesh-wide PeerAuthentication in istio-system (mTLS is not STRICT): run "kubectl knmesh configure-mesh" (or pass --prerequisites)',
    )
    expect(told.stderr).not.toContain('create-gateways') // done above
    expect(told.stderr).not.toContain('add-namespace') // no member roll on Service Mesh 3

    const r = await cluster.run(['enable-istio', '--prerequisites', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toContain(
      'KnativeServing spec.deployments activator: the annotation sidecar.istio.io/inject: "true" is ignored by Service Mesh 3; it becomes the label sidecar.istio.io/inject: "true"',
    )
    expect(r.stdout).toContain(
      'KnativeEventing spec.workloads eventing-webhook: the annotation sidecar.istio.io/inject: "false" is ignored by Service Mesh 3; it becomes the label sidecar.istio.io/inject: "false"',
    )
    expect((await get(cluster, Kinds.Istio, 'default'))!.spec.values.meshConfig.defaultConfig.terminationDrainDuration).toBe('35s')
    expect((await get(cluster, Kinds.PeerAuthenticationV1, 'mesh-mtls', 'istio-system'))!.spec).toEqual({mtls: {mode: 'STRICT'}})

    const ks = (await get(cluster, Kinds.KnativeServing, 'knative-serving', 'knative-serving'))!
    expect(ks.metadata.annotations).toEqual({owner: 'platform', ...DISABLE_NP})
    expect(ks.spec).toEqual({
      ingress: {istio: {enabled: true}},
      deployments: [
        {name: 'activator', replicas: 2, labels: INJECT, annotations: REWRITE},
        {name: 'autoscaler', labels: INJECT, annotations: REWRITE},
      ],
      config: {
        network: {'domain-template': '{{.Name}}.{{.Namespace}}.{{.Domain}}'},
        istio: {
          'gateway.knative-serving.knative-ingress-gateway': 'knative-istio-ingressgateway.knative-serving-ingress.svc.cluster.local',
          'local-gateway.knative-serving.knative-local-gateway': 'knative-local-gateway.knative-serving-ingress.svc.cluster.local',
        },
      },
    })
    const ke = (await get(cluster, Kinds.KnativeEventing, 'knative-eventing', 'knative-eventing'))!
    expect(ke.metadata.annotations).toEqual(DISABLE_NP)
    expect(ke.spec.config).toEqual({features: {'kreference-group': 'enabled', istio: 'enabled'}})
    expect(ke.spec.workloads).toEqual([
      {name: 'mt-broker-filter', replicas: 2, labels: INJECT, annotations: REWRITE},
      {name: 'eventing-webhook', annotations: {a: 'b'}, labels: {'sidecar.istio.io/inject': 'false'}},
      ...['pingsource-mt-adapter', 'imc-dispatcher', 'mt-broker-ingress', 'job-sink'].map((name) => ({name, labels: INJECT, annotations: REWRITE})),
    ])
    const kk = (await get(cluster, Kinds.KnativeKafka, 'knative-kafka', 'knative-eventing'))!
    expect(kk.metadata.annotations).toBeUndefined()
    expect(kk.spec.workloads).toEqual(KAFKA_WORKLOADS.map((name) => ({name, labels: INJECT, annotations: REWRITE})))
    const se = (await get(cluster, Kinds.ServiceEntryV1, 'kafka-cluster', 'knative-eventing'))!
    expect(se.spec).toEqual({
      hosts: ['my-cluster-kafka-bootstrap.kafka'],
      exportTo: ['.'],
      ports: [
        {number: 9092, name: 'tcp-plain', protocol: 'TCP'},
        {number: 9093, name: 'tcp-tls', protocol: 'TCP'},
        {number: 9094, name: 'tcp-sasl-tls', protocol: 'TCP'},
        {number: 9095, name: 'tcp-sasl-tls-9095', protocol: 'TCP'},
        {number: 9096, name: 'tcp-tls-9096', protocol: 'TCP'},
      ],
      location: 'MESH_EXTERNAL',
      resolution: 'NONE',
    })
    const json = await cluster.run(['enable-istio', '--kafka-bootstrap', 'other-kafka.kafka:9092', '--dry-run=client', '-o', 'json'])
    expect(json.exitCode, json.stderr).toBe(0)
    expect(json.stdout).toMatch(/"apiVersion":\s*"networking\.istio\.io\/v1"/)
  }, 180_000)

  it('a second pass of certs, configure-mesh, create-gateways and enable-istio changes nothing', async () => {
    const objects: [(typeof Kinds)[keyof typeof Kinds], string, string | undefined][] = [
      ...GATEWAY_OBJECTS,
      [Kinds.Istio, 'default', undefined],
      [Kinds.KnativeServing, 'knative-serving', 'knative-serving'],
      [Kinds.KnativeEventing, 'knative-eventing', 'knative-eventing'],
      [Kinds.KnativeKafka, 'knative-kafka', 'knative-eventing'],
      [Kinds.ServiceEntryV1, 'kafka-cluster', 'knative-eventing'],
    ]
    const before = await Promise.all(objects.map(([k, n, ns]) => rv(cluster, k, n, ns)))
    for (const args of [['certs', '--out-dir', outDir], ['configure-mesh'], ['create-gateways'], ['enable-istio']]) {
      const r = await cluster.run(args)
      expect(r.exitCode, `${args[0]}: ${r.stderr}`).toBe(0)
      expect(r.stdout, args[0]).toContain('nothing to do')
      expect(r.stderr, args[0]).not.toContain('warning')
    }
    expect(await Promise.all(objects.map(([k, n, ns]) => rv(cluster, k, n, ns)))).toEqual(before)
  }, 120_000)
})

/** A Service Mesh 3 cluster without knative-serving-ingress, on a RevisionBased Istio (seeded here, not by seedMesh3). */
describe('Service Mesh 3 with a revision and no knative-serving-ingress yet', () => {
  const cluster = isolatedCluster({mesh: 3, seed: false})
  const REV = 'default-v1-27-latest'

  it('create-gateways creates the namespace (with the discovery label) and labels the gateway pods istio.io/rev; enable-istio labels the workloads with the revision too', async () => {
    for (const name of ['istio-system', 'knative-serving']) await createNamespace(cluster.client, name)
    await cluster.client.create({
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeServing',
      metadata: {name: 'knative-serving', namespace: 'knative-serving'},
      spec: {},
    })
    const istio: KObject = {
      apiVersion: 'sailoperator.io/v1',
      kind: 'Istio',
      metadata: {name: 'default'},
      spec: {
        namespace: 'istio-system',
        version: 'v1.27-latest',
        updateStrategy: {type: 'RevisionBased'},
        values: {meshConfig: {discoverySelectors: [{matchLabels: {'istio-discovery': 'enabled'}}]}},
      },
    }
    await cluster.client.create(istio)
    await cluster.client.request('PATCH', '/apis/sailoperator.io/v1/istios/default/status', {
      body: healthyIstioStatus(REV),
      contentType: 'application/merge-patch+json',
    })
    expect(await get(cluster, Kinds.Namespace, ING)).toBeNull()

    const r = await cluster.run(['create-gateways', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toContain(`Service Mesh 3: Istio default (istio-system, revision ${REV})`)
    expect(r.stdout).toMatch(/create\s+Namespace\s+knative-serving-ingress\s+applied/)
    expect(r.stderr).toContain('warning: Secret knative-serving-ingress/wildcard-certs does not exist')
    expect((await get(cluster, Kinds.Namespace, ING))!.metadata.labels).toMatchObject({'istio-discovery': 'enabled'})
    const deploy = (await get(cluster, Kinds.Deployment, 'knative-istio-ingressgateway', ING))!
    expect(deploy.spec.template.metadata.labels).toEqual({...GATEWAY_POD, 'istio.io/rev': REV})
    for (const [k, n, ns] of GATEWAY_OBJECTS) expect(await get(cluster, k, n, ns), `${k.kind} ${n}`).not.toBeNull()

    const e = await cluster.run(['enable-istio', '--yes'])
    expect(e.exitCode, e.stderr + e.stdout).toBe(0)
    const ks = (await get(cluster, Kinds.KnativeServing, 'knative-serving', 'knative-serving'))!
    expect(ks.spec.deployments).toEqual(['activator', 'autoscaler'].map((name) => ({name, labels: {...INJECT, 'istio.io/rev': REV}, annotations: REWRITE})))
    expect((await cluster.run(['create-gateways'])).stdout).toContain('nothing to do')
  }, 180_000)
})
