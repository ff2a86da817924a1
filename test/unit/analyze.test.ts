import {describe, expect, it} from 'vitest'
import type {KObject} from '../../src/kube/types.js'
import {analyze, analyzeStatusRow, exceeds, findingLine, RULES} from '../../src/mesh/analyze/index.js'
import type {AnalyzeState} from '../../src/mesh/analyze/types.js'
import {desiredIngressGateway, desiredLocalGateway, desiredLocalGatewayService} from '../../src/mesh/gateways.js'
import {desiredEventing, desiredServing, istioGatewayConfig} from '../../src/mesh/istio.js'
import {monitoringPolicy} from '../../src/mesh/metrics.js'
import {desiredSmcp} from '../../src/mesh/smcp.js'
import {defaultPolicies, renderTenant} from '../../src/mesh/tenant-authz.js'

const M = 'istio-system'
const obj = (apiVersion: string, kind: string, namespace: string | undefined, name: string, rest: Record<string, unknown> = {}): KObject => ({
  apiVersion,
  kind,
  metadata: {name, ...(namespace ? {namespace} : {})},
  ...rest,
})
const deployment = (namespace: string, name: string, labels: Record<string, string>, annotations: Record<string, string> = {}) =>
  obj('apps/v1', 'Deployment', namespace, name, {spec: {replicas: 0, template: {metadata: {labels, annotations}, spec: {containers: [{name: 'c'}]}}}})
const service = (namespace: string, name: string, labels: Record<string, string> = {}) =>
  obj('v1', 'Service', namespace, name, {metadata: {name, namespace, labels}, spec: {ports: [{name: 'http', port: 80}]}})
const ksvc = (
  namespace: string,
  name: string,
  tmplAnnotations: Record<string, string> = {'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/rewriteAppHTTPProbers': 'true'},
  extra: Record<string, unknown> = {},
) =>
  obj('serving.knative.dev/v1', 'Service', namespace, name, {
    spec: {template: {metadata: {annotations: tmplAnnotations}, spec: {containers: [{image: 'x'}]}}},
    ...extra,
  })
const tlsSecret = (namespace: string, name: string) =>
  obj('v1', 'Secret', namespace, name, {type: 'kubernetes.io/tls', data: {'tls.crt': 'eA==', 'tls.key': 'eA=='}})

/** A cluster set up exactly as the guide (and knmesh's own planners) set it up: analyze finds nothing. */
function guideState(): AnalyzeState {
  const serving = desiredServing(obj('operator.knative.dev/v1beta1', 'KnativeServing', 'knative-serving', 'knative-serving', {spec: {}}), M)
  const eventing = desiredEventing(obj('operator.knative.dev/v1beta1', 'KnativeEventing', 'knative-eventing', 'knative-eventing', {spec: {}}))
  const tenant = renderTenant({name: 'alpha', namespaces: ['alpha-1'], meshNamespace: M, clusterDomain: 'cluster.local', serving: true, eventing: true})
  return {
    meshNamespace: M,
    generation: 2,
    mesh3: null,
    smcps: [desiredSmcp(null, M)],
    smmr: obj('maistra.io/v1', 'ServiceMeshMemberRoll', M, 'default', {
      spec: {members: ['knative-serving', 'knative-eventing', 'alpha-1']},
      status: {configuredMembers: ['knative-serving', 'knative-eventing', 'alpha-1'], pendingMembers: []},
    }),
    memberRolls: [],
    gateways: [desiredIngressGateway(null, 'wildcard-certs'), desiredLocalGateway(null)],
    services: [service(M, 'istio-ingressgateway', {knative: 'ingressgateway'}), desiredLocalGatewayService(null, M)],
    secrets: [tlsSecret(M, 'wildcard-certs')],
    workloads: [
      deployment(M, 'istio-ingressgateway', {app: 'istio-ingressgateway', istio: 'ingressgateway', knative: 'ingressgateway'}),
      deployment('knative-serving', 'activator', {app: 'activator', 'app.kubernetes.io/component': 'activator'}),
      deployment('knative-serving', 'autoscaler', {app: 'autoscaler', 'app.kubernetes.io/component': 'autoscaler'}),
    ],
    configIstio: obj('v1', 'ConfigMap', 'knative-serving', 'config-istio', {data: istioGatewayConfig(M)}),
    serving,
    eventing,
    kafka: null,
    serviceEntries: [],
    policies: [...defaultPolicies(M), ...tenant],
    peerAuthentications: [],
    networkPolicies: [monitoringPolicy(null)],
    knativeServices: [ksvc('alpha-1', 'hello')],
    revisions: [],
    kingresses: [],
    nodes: null,
  }
}

const codes = (s: AnalyzeState) => analyze(s).map((f) => f.code)
const only = (s: AnalyzeState, code: string) => analyze(s).filter((f) => f.code === code)

describe("analyze: the guide's own configuration", () => {
  it('has no findings, and every rule has a unique code and a summary', () => {
    expect(analyze(guideState())).toEqual([])
    expect(new Set(RULES.map((r) => r.code)).size).toBe(RULES.length)
    for (const r of RULES) expect(r.summary.length).toBeGreaterThan(20)
  })

  it('prints as istioctl does, sorts errors first, and applies the threshold', () => {
    const s = guideState()
    s.smmr!.status.pendingMembers = ['alpha-1']
    s.gateways.push(
      obj('networking.istio.io/v1alpha3', 'Gateway', 'apps', 'wild', {
        spec: {selector: {istio: 'ingressgateway'}, servers: [{port: {number: 443}, hosts: ['*']}]},
      }),
    )
    const f = analyze(s)
    expect(f.map((x) => x.severity)).toEqual(['Error', 'Warning'])
    expect(findingLine(f[0])).toMatch(/^Error \[KNM0101\] \(Gateway apps\/wild\) binds port 443/)
    expect(exceeds(f.slice(1), 'Error')).toBe(false)
    expect(exceeds(f.slice(1), 'Warning')).toBe(true)
    expect(exceeds([], 'Info')).toBe(false)
  })
})

describe('status row', () => {
  it('is ok without findings, a failure on an Error, a warning on Warnings only, with the fix for another mesh namespace', () => {
    expect(analyzeStatusRow([], M)).toMatchObject({area: 'analyze', state: 'ok'})
    const s = guideState()
    s.smmr!.status.pendingMembers = ['x']
    expect(analyzeStatusRow(analyze(s), 'my-mesh')).toEqual({
      area: 'analyze',
      check: 'integration analysis',
      state: 'warning',
      detail: '0 error(s), 1 warning(s): KNM0304',
      fix: 'knmesh analyze --mesh-namespace my-mesh',
    })
    s.secrets = []
    expect(analyzeStatusRow(analyze(s), M)).toMatchObject({state: 'failure', detail: '1 error(s), 1 warning(s): KNM0102, KNM0304', fix: 'knmesh analyze'})
  })
})

describe('gateways', () => {
  it('KNM0101: a foreign Gateway on 443 "*" with an overlapping selector; another selector or host is fine', () => {
    const s = guideState()
    const gw = (name: string, selector: Record<string, string>, hosts: string[]) =>
      obj('networking.istio.io/v1alpha3', 'Gateway', 'apps', name, {
        spec: {selector, servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts}]},
      })
    s.gateways.push(
      gw('same', {istio: 'ingressgateway'}, ['*']),
      gw('other-pods', {knative: 'other'}, ['*']),
      gw('named', {knative: 'ingressgateway'}, ['shop.example.com']),
    )
    expect(only(s, 'KNM0101').map((f) => f.objects)).toEqual([
      [
        {kind: 'Gateway', namespace: 'apps', name: 'same'},
        {kind: 'Gateway', namespace: 'knative-serving', name: 'knative-ingress-gateway'},
      ],
    ])
  })

  it('KNM0102: credentialName Secret missing, or not a TLS pair', () => {
    const s = guideState()
    s.secrets = []
    expect(only(s, 'KNM0102')[0]).toMatchObject({
      objects: [
        {kind: 'Gateway', name: 'knative-ingress-gateway'},
        {kind: 'Secret', namespace: M, name: 'wildcard-certs'},
      ],
      fix: 'knmesh certs',
    })
    s.secrets = [obj('v1', 'Secret', M, 'wildcard-certs', {type: 'Opaque', data: {password: 'eA=='}})]
    expect(only(s, 'KNM0102')[0].message).toContain('has no tls.crt/tls.key pair')
    s.secrets = [obj('v1', 'Secret', M, 'wildcard-certs', {type: 'Opaque', data: {cert: 'eA==', key: 'eA=='}})]
    expect(only(s, 'KNM0102')).toEqual([])
    s.secrets = null // not readable: no guess
    expect(only(s, 'KNM0102')).toEqual([])
  })

  it('KNM0103: a selector no pod template and no Service matches; nothing deployed yet is no finding', () => {
    const s = guideState()
    s.gateways[0].spec.selector = {knative: 'ingresgateway'}
    expect(only(s, 'KNM0103').map((f) => f.message)).toEqual([
      "selector knative=ingresgateway matches no Deployment's pod template and no Service: no gateway proxy serves this Gateway",
    ])
    // The gateway Service's labels count (guide 1.4.2: the label is on the Service).
    s.services.push(service(M, 'x', {knative: 'ingresgateway'}))
    expect(only(s, 'KNM0103')).toEqual([])
    const fresh = guideState()
    fresh.gateways[0].spec.selector = {knative: 'nothing'}
    fresh.workloads = fresh.workloads.filter((w) => w.metadata.namespace !== M)
    expect(only(fresh, 'KNM0103')).toEqual([])
  })

  it('KNM0104: a config-istio / KnativeServing gateway host that names no Service', () => {
    const s = guideState()
    s.serving!.spec.config.istio['local-gateway.knative-serving.knative-local-gateway'] = 'knative-local-gateway.istio-sytem.svc.cluster.local'
    s.configIstio!.data['gateway.knative-serving.knative-ingress-gateway'] = 'not a host'
    const f = only(s, 'KNM0104')
    expect(f.map((x) => x.objects[0].kind)).toEqual(['ConfigMap', 'KnativeServing'])
    expect(f[1].message).toBe(
      'spec.config.istio["local-gateway.knative-serving.knative-local-gateway"] is "knative-local-gateway.istio-sytem.svc.cluster.local": no Service istio-sytem/knative-local-gateway',
    )
  })

  it('KNM0105: the local gateway Service without targetPort 8081, or without the port-translation label', () => {
    const s = guideState()
    delete s.services[1].metadata.labels!['experimental.istio.io/disable-gateway-port-translation']
    expect(only(s, 'KNM0105')[0].message).toContain('the label experimental.istio.io/disable-gateway-port-translation: "true" is missing')
    s.services[1].spec.ports = [{name: 'http2', port: 80, targetPort: 8080}]
    expect(only(s, 'KNM0105')[0].message).toMatch(/^no Service port has targetPort 8081/)
    s.services[1].spec.ports = [{name: 'https', port: 8081, targetPort: 8081}]
    expect(only(s, 'KNM0105')).toEqual([])
  })
})

describe('ServiceEntries', () => {
  const kafka = (bootstrap: string) =>
    obj('operator.serverless.openshift.io/v1alpha1', 'KnativeKafka', 'knative-eventing', 'knative-kafka', {
      spec: {channel: {enabled: true, bootstrapServers: bootstrap}, broker: {defaultConfig: {bootstrapServers: bootstrap}}},
    })
  const se = (ports: unknown[], hosts = ['my-kafka.kafka']) =>
    obj('networking.istio.io/v1alpha3', 'ServiceEntry', 'knative-eventing', 'kafka-cluster', {spec: {hosts, ports}})

  it("KNM0201: repeated port names or numbers (the guide's example)", () => {
    const s = guideState()
    s.serviceEntries = [
      se([
        {number: 9093, name: 'tcp-tls'},
        {number: 9096, name: 'tcp-tls'},
        {number: 9094, name: 'a'},
        {number: 9094, name: 'b'},
      ]),
    ]
    expect(only(s, 'KNM0201')[0].message).toBe(
      'repeats port name tcp-tls and port number 9094: istiod rejects the ServiceEntry, its hosts stay unreachable from the mesh',
    )
  })

  it('KNM0202: a bootstrap port no ServiceEntry covers', () => {
    const s = guideState()
    s.kafka = kafka('my-kafka.kafka:9092,other.kafka:9093')
    s.serviceEntries = [se([{number: 9093, name: 'tcp-tls'}])]
    expect(only(s, 'KNM0202').map((f) => f.message)).toEqual([
      'bootstrap server other.kafka:9093: no ServiceEntry in knative-eventing lists host other.kafka',
      'bootstrap server my-kafka.kafka:9092: ServiceEntry kafka-cluster lists host my-kafka.kafka but not port 9092',
    ])
    expect(only(s, 'KNM0202')[1].fix).toBe('knmesh enable-istio --kafka-ports 9092:tcp-9092')
  })
})

describe('sidecars', () => {
  it('KNM0301: Knative Services in member namespaces without inject: "true"; non-members are not flagged', () => {
    const s = guideState()
    s.knativeServices.push(ksvc('alpha-1', 'bare', {}), ksvc('alpha-1', 'off', {'sidecar.istio.io/inject': 'false'}), ksvc('outside', 'bare', {}))
    expect(only(s, 'KNM0301').map((f) => `${f.objects[0].namespace}/${f.objects[0].name}`)).toEqual(['alpha-1/bare', 'alpha-1/off'])
    expect(only(s, 'KNM0301')[0].fix).toBe('knmesh annotate-services bare -n alpha-1')
  })

  it('KNM0302: Knative system workloads without the annotation while Istio is enabled; not before', () => {
    const s = guideState()
    s.serving!.spec.deployments = s.serving!.spec.deployments.filter((d: {name: string}) => d.name !== 'autoscaler')
    s.eventing!.spec.workloads[0].annotations['sidecar.istio.io/inject'] = 'enabled'
    s.kafka = obj('operator.serverless.openshift.io/v1alpha1', 'KnativeKafka', 'knative-eventing', 'knative-kafka', {spec: {}})
    expect(only(s, 'KNM0302').map((f) => `${f.objects[0].kind}: ${f.message.split(':')[0]}`)).toEqual([
      'KnativeEventing: spec.workloads',
      'KnativeKafka: spec.workloads',
      'KnativeServing: spec.deployments',
    ])
    s.serving!.spec.ingress.istio.enabled = false
    s.eventing!.spec.config.features.istio = 'disabled'
    expect(only(s, 'KNM0302')).toEqual([])
  })

  it('KNM0303: misspelled keys, unreadable values, and the annotation on the wrong level', () => {
    const s = guideState()
    s.knativeServices = [
      ksvc('alpha-1', 'typo', {'sidecar.istio.io/injet': 'true', 'sidecar.istio.io/inject': 'true'}),
      ksvc('alpha-1', 'value', {'sidecar.istio.io/inject': 'enabled'}),
      {...ksvc('alpha-1', 'level', {}), metadata: {name: 'level', namespace: 'alpha-1', annotations: {'sidecar.istio.io/inject': 'true'}}},
    ]
    s.workloads.push(deployment('alpha-1', 'd', {}, {'istio-injection': 'enabled'}))
    const msgs = only(s, 'KNM0303').map((f) => `${f.objects[0].name}: ${f.message}`)
    expect(msgs).toEqual(
      expect.arrayContaining([
        'typo: spec.template.metadata.annotations["sidecar.istio.io/injet"] is not sidecar.istio.io/inject: the injector ignores it',
        expect.stringMatching(/^value: .*is "enabled": the injector reads only y\/yes\/true\/on/),
        "level: sidecar.istio.io/inject is on the Knative Service's metadata, not on spec.template.metadata: revisions do not inherit it",
        'd: spec.template.metadata.annotations["istio-injection"] is not sidecar.istio.io/inject: the injector ignores it',
      ]),
    )
    expect(msgs).toHaveLength(4)
  })

  it('KNM0304: namespaces pending in the member roll', () => {
    const s = guideState()
    s.smmr!.status.pendingMembers = ['knative-eventing']
    expect(only(s, 'KNM0304')[0]).toMatchObject({
      severity: 'Warning',
      objects: [{kind: 'ServiceMeshMemberRoll'}, {kind: 'Namespace', name: 'knative-eventing'}],
    })
    expect(only(s, 'KNM0304')[0].message).toContain("Knative's own traffic is outside the mesh")
  })
})

describe('mTLS', () => {
  const pa = (namespace: string, name: string, spec: Record<string, unknown>) => obj('security.istio.io/v1beta1', 'PeerAuthentication', namespace, name, {spec})

  it("KNM0401: PERMISSIVE/DISABLE in the mesh against the SMCP's strict mTLS; not when the SMCP does not enforce it", () => {
    const s = guideState()
    s.peerAuthentications = [
      pa('alpha-1', 'loose', {mtls: {mode: 'PERMISSIVE'}}),
      pa('outside', 'x', {mtls: {mode: 'DISABLE'}}),
      pa('alpha-1', 'strict', {mtls: {mode: 'STRICT'}}),
    ]
    expect(only(s, 'KNM0401').map((f) => f.message)).toEqual([
      "mtls.mode PERMISSIVE for namespace alpha-1, against ServiceMeshControlPlane basic's strict mTLS",
    ])
    s.smcps[0].spec.security.dataPlane.mtls = false
    expect(only(s, 'KNM0401')).toEqual([])
  })

  it('KNM0402: port-level exceptions that leave out a Knative port the SMCP does not exclude', () => {
    const s = guideState()
    s.peerAuthentications = [pa('knative-serving', 'ports', {mtls: {mode: 'STRICT'}, portLevelMtls: {'8444': {mode: 'PERMISSIVE'}}})]
    expect(only(s, 'KNM0402').map((f) => f.message)).toEqual([
      'portLevelMtls relaxes 8444 but not 9090, and the control plane does not exclude it: autoscaling metrics fail under strict mTLS',
    ])
    s.peerAuthentications[0].spec.portLevelMtls['9090'] = {mode: 'PERMISSIVE'}
    expect(only(s, 'KNM0402')).toEqual([])
  })
})

describe('authorization', () => {
  const ap = (namespace: string, name: string, spec: Record<string, unknown>) =>
    obj('security.istio.io/v1beta1', 'AuthorizationPolicy', namespace, name, {spec})

  it('KNM0501: a selector that matches no template; scaled-to-zero Deployments and Knative Services count', () => {
    const s = guideState()
    s.policies.push(
      ap('knative-serving', 'typo', {selector: {matchLabels: {app: 'activatr'}}, rules: [{}]}),
      ap('knative-serving', 'zero', {selector: {matchLabels: {app: 'autoscaler'}}, rules: [{}]}),
      ap('alpha-1', 'ksvc', {selector: {matchLabels: {'serving.knative.dev/service': 'hello'}}, rules: [{}]}),
      ap('alpha-1', 'gone', {selector: {matchLabels: {'serving.knative.dev/service': 'bye'}}, rules: [{}]}),
      ap('empty-ns', 'early', {selector: {matchLabels: {app: 'x'}}, rules: [{}]}),
    )
    expect(only(s, 'KNM0501').map((f) => f.objects[0].name)).toEqual(['gone', 'typo'])
  })

  it('KNM0502: ALLOW without rules with a selector, or in the root namespace; the deny-all pattern is fine', () => {
    const s = guideState()
    s.policies.push(ap('alpha-1', 'sel', {action: 'ALLOW', selector: {matchLabels: {app: 'x'}}}), ap(M, 'root', {}), ap('alpha-1', 'deny-all', {}))
    expect(only(s, 'KNM0502').map((f) => f.objects[0].name)).toEqual(['sel', 'root'])
  })

  it("KNM0503: a tenant's policies that differ from the chart", () => {
    const s = guideState()
    const i = s.policies.findIndex((p) => p.metadata.name === 'allow-wait-for-drain')
    s.policies.splice(i, 1)
    s.policies.find((p) => p.metadata.name === 'allow-alpha-to-activator')!.spec.rules[0].to[0].operation.hosts = ['*']
    const f = only(s, 'KNM0503')
    expect(f).toHaveLength(1)
    expect(f[0].message).toBe(
      'tenant alpha (alpha-1): 2 policies differ from the chart: different knative-serving/allow-alpha-to-activator, missing alpha-1/allow-wait-for-drain',
    )
    expect(f[0].fix).toBe('knmesh tenant-authz alpha --namespaces alpha-1')
  })

  it("KNM0504: deny-all present while per-component allows are missing (Kafka's only with KnativeKafka)", () => {
    const s = guideState()
    s.policies = s.policies.filter((p) => !['allow-traffic-to-activator', 'allow-probe-kafka-sink-receiver'].includes(p.metadata.name))
    expect(only(s, 'KNM0504').map((f) => f.message)).toEqual([
      'deny-all-by-default denies everything in knative-serving, and allow-traffic-to-activator is missing',
    ])
    s.kafka = obj('operator.serverless.openshift.io/v1alpha1', 'KnativeKafka', 'knative-eventing', 'knative-kafka', {spec: {}})
    expect(only(s, 'KNM0504')).toHaveLength(2)
  })
})

describe('operator ownership', () => {
  it('KNM0601: allow-from-openshift-monitoring-ns with another selector', () => {
    const s = guideState()
    s.networkPolicies[0].spec.podSelector = {matchLabels: {app: 'activator'}}
    expect(only(s, 'KNM0601')[0]).toMatchObject({
      objects: [{kind: 'NetworkPolicy', namespace: 'knative-serving', name: 'allow-from-openshift-monitoring-ns'}],
      fix: 'knmesh enable-metrics',
    })
  })

  it('KNM0602: config-istio edited by hand against KnativeServing', () => {
    const s = guideState()
    s.configIstio!.data['gateway.knative-serving.knative-ingress-gateway'] = 'my-gateway.istio-system.svc.cluster.local'
    s.services.push(service(M, 'my-gateway'))
    expect(codes(s)).toEqual(['KNM0602'])
  })
})

describe('live conditions', () => {
  it('KNM0701: waiting for the load balancer with deny-all and the activator policy missing (net-istio 700)', () => {
    const s = guideState()
    const waiting = {
      status: {
        conditions: [
          {type: 'Ready', status: 'Unknown', reason: 'IngressNotConfigured', message: 'Ingress has not yet been reconciled.'},
          {type: 'RoutesReady', status: 'Unknown', reason: 'Uninitialized', message: 'Waiting for load balancer to be ready'},
        ],
      },
    }
    s.knativeServices = [ksvc('alpha-1', 'hello', undefined, waiting)]
    s.kingresses = [obj('networking.internal.knative.dev/v1alpha1', 'Ingress', 'alpha-1', 'hello', waiting)]
    expect(only(s, 'KNM0701')).toEqual([]) // the guide's policies let the probes through: another cause
    s.policies = s.policies.filter((p) => p.metadata.name !== 'allow-traffic-to-activator')
    const f = only(s, 'KNM0701')
    expect(f).toHaveLength(1)
    expect(f[0].objects.map((o) => o.kind)).toEqual(['Service.serving.knative.dev', 'Ingress.networking.internal.knative.dev', 'AuthorizationPolicy'])
    expect(f[0].message).toMatch(
      /^"Waiting for load balancer to be ready" with knative-serving\/deny-all-by-default in place: allow-traffic-to-activator missing in knative-serving; the probe path is denied/,
    )
  })

  it('KNM0702: a revision not ready whose GPU limit no node meets', () => {
    const s = guideState()
    const gpu = ksvc('alpha-1', 'llm', undefined, {status: {conditions: [{type: 'ConfigurationsReady', status: 'False', reason: 'RevisionFailed'}]}})
    gpu.spec.template.spec.containers[0].resources = {limits: {'nvidia.com/gpu': '4'}}
    s.knativeServices = [gpu]
    s.nodes = [
      obj('v1', 'Node', undefined, 'n1', {metadata: {name: 'n1', labels: {'kubernetes.io/arch': 'amd64'}}, status: {allocatable: {'nvidia.com/gpu': '2'}}}),
    ]
    expect(only(s, 'KNM0702')[0].message).toMatch(
      /^ConfigurationsReady is False \(RevisionFailed\); container \(first, unnamed\): no schedulable node has 4 allocatable nvidia.com\/gpu \(the largest: n1 with 2\)/,
    )
    s.nodes[0].status.allocatable['nvidia.com/gpu'] = '8'
    expect(only(s, 'KNM0702')).toEqual([])
  })
})
