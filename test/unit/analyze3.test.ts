import {describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {analyze, analyzeStatusRow, RULES, runsOn} from '../../src/mesh/analyze/index.js'
import type {AnalyzeState} from '../../src/mesh/analyze/types.js'
import {desiredGatewayDeployment, desiredGatewayService, desiredLocalGateway3, desiredLocalGatewayService3} from '../../src/mesh/gateways3.js'
import {desiredIngressGateway} from '../../src/mesh/gateways.js'
import {desiredEventing3, desiredServing3, istioGatewayConfig3} from '../../src/mesh/istio3.js'
import {desiredIstio, desiredMeshMtls} from '../../src/mesh/sail.js'
import {renderTenant} from '../../src/mesh/tenant-authz.js'
import {autoscalerPermissiveItem, defaultPolicies3} from '../../src/mesh/tenant-authz3.js'
import {desiredAnnotated3} from '../../src/mesh/annotate3.js'

const M = 'istio-system'
const GW = 'knative-serving-ingress'
const obj = (apiVersion: string, kind: string, namespace: string | undefined, name: string, rest: Record<string, unknown> = {}): KObject => ({
  apiVersion,
  kind,
  metadata: {name, ...(namespace ? {namespace} : {})},
  ...rest,
})
const ns = (name: string, labels: Record<string, string> = {}) => obj('v1', 'Namespace', undefined, name, {metadata: {name, labels}})
const deployment = (namespace: string, name: string, labels: Record<string, string>) =>
  obj('apps/v1', 'Deployment', namespace, name, {spec: {replicas: 0, template: {metadata: {labels}, spec: {containers: [{name: 'c'}]}}}})
const tlsSecret = (namespace: string, name: string) =>
  obj('v1', 'Secret', namespace, name, {type: 'kubernetes.io/tls', data: {'tls.crt': 'eA==', 'tls.key': 'eA=='}})
const ksvc = (namespace: string, name: string, meta: {labels?: Record<string, string>; annotations?: Record<string, string>} = {}) =>
  obj('serving.knative.dev/v1', 'Service', namespace, name, {spec: {template: {metadata: meta, spec: {containers: [{image: 'x'}]}}}})
const istio = (rev = 'default', spec: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'sailoperator.io/v1',
  kind: 'Istio',
  metadata: {name: 'default'},
  spec: {namespace: M, ...spec},
  status: {activeRevisionName: rev},
})
const route = (name: string, service: string, host: string) =>
  obj('route.openshift.io/v1', 'Route', M, name, {
    metadata: {name, namespace: M, labels: {'serving.knative.openshift.io/ingressName': 'hello'}},
    spec: {host, to: {kind: 'Service', name: service}},
  })

/** A Service Mesh 3 cluster set up exactly as knmesh's own Service Mesh 3 planners set it up: analyze finds nothing. */
function mesh3State(): AnalyzeState {
  const rev = null
  const serving = desiredServing3(obj('operator.knative.dev/v1beta1', 'KnativeServing', 'knative-serving', 'knative-serving', {spec: {}}), rev)
  const eventing = desiredEventing3(obj('operator.knative.dev/v1beta1', 'KnativeEventing', 'knative-eventing', 'knative-eventing', {spec: {}}), rev)
  const tenant = renderTenant({
    name: 'alpha',
    namespaces: ['alpha-1'],
    meshNamespace: M,
    clusterDomain: 'cluster.local',
    serving: true,
    eventing: true,
    generation: 3,
  })
  const i = desiredIstio(istio())
  return {
    meshNamespace: M,
    generation: 3,
    mesh3: {
      istio: i,
      istios: [i],
      namespaces: new Map(
        [ns(M), ns('knative-serving'), ns(GW), ns('knative-eventing'), ns('alpha-1', {'istio-injection': 'enabled'}), ns('plain')].map((n) => [
          n.metadata.name,
          n,
        ]),
      ),
      routes: [],
    },
    smcps: [],
    smmr: null,
    memberRolls: [],
    gateways: [desiredIngressGateway(null, 'wildcard-certs', Kinds.GatewayV1), desiredLocalGateway3(null, Kinds.GatewayV1)],
    services: [desiredGatewayService(null), desiredLocalGatewayService3(null)],
    secrets: [tlsSecret(GW, 'wildcard-certs')],
    workloads: [
      desiredGatewayDeployment(null, rev),
      deployment('knative-serving', 'activator', {app: 'activator', 'app.kubernetes.io/component': 'activator'}),
      deployment('knative-serving', 'autoscaler', {app: 'autoscaler', 'app.kubernetes.io/component': 'autoscaler'}),
    ],
    configIstio: obj('v1', 'ConfigMap', 'knative-serving', 'config-istio', {data: istioGatewayConfig3()}),
    serving,
    eventing,
    kafka: null,
    serviceEntries: [],
    policies: [...defaultPolicies3(), ...tenant],
    peerAuthentications: [desiredMeshMtls({meshNamespace: M, istio: i, peerAuthentications: []}).desired!, autoscalerPermissiveItem([]).desired!],
    networkPolicies: [],
    // One service in the labeled tenant namespace, one in an unlabeled project carrying the inject label (N5: injected).
    knativeServices: [desiredAnnotated3(ksvc('alpha-1', 'hello')), desiredAnnotated3(ksvc('plain', 'labeled'))],
    revisions: [],
    kingresses: [],
    nodes: null,
  }
}

const only = (s: AnalyzeState, code: string) => analyze(s).filter((f) => f.code === code)

describe("analyze on Service Mesh 3: knmesh's own Service Mesh 3 configuration", () => {
  it('has no findings; the member-roll rule does not run on 3, the Service Mesh 3 rules do not run on 2', () => {
    expect(analyze(mesh3State())).toEqual([])
    const on3 = RULES.filter((r) => runsOn(r, 3)).map((r) => r.code)
    const on2 = RULES.filter((r) => runsOn(r, 2)).map((r) => r.code)
    expect(on3).not.toContain('KNM0304')
    expect(on3).toEqual(expect.arrayContaining(['KNM0106', 'KNM0107', 'KNM0108', 'KNM0305']))
    for (const c of ['KNM0106', 'KNM0107', 'KNM0108', 'KNM0305']) expect(on2).not.toContain(c)
  })

  it("the member roll's pendingMembers mean nothing on 3 (KNM0304 is skipped even with an SMMR in the state)", () => {
    const s = mesh3State()
    s.smmr = obj('maistra.io/v1', 'ServiceMeshMemberRoll', M, 'default', {status: {pendingMembers: ['alpha-1']}})
    expect(only(s, 'KNM0304')).toEqual([])
  })

  it('status row: ok with the number of Service Mesh 3 checks', () => {
    const row = analyzeStatusRow(analyze(mesh3State()), M, 3)
    expect(row).toMatchObject({area: 'analyze', state: 'ok'})
    expect(row.detail).toBe(`no errors or warnings (${RULES.filter((r) => runsOn(r, 3)).length} checks)`)
  })
})

describe('gateways on Service Mesh 3', () => {
  it('KNM0102: the credentialName Secret is looked up in knative-serving-ingress; missing there (and not in the mesh namespace) is KNM0102 with certs as the fix', () => {
    const s = mesh3State()
    s.secrets = []
    const f = only(s, 'KNM0102')
    expect(f).toHaveLength(1)
    expect(f[0].objects[1]).toEqual({kind: 'Secret', namespace: GW, name: 'wildcard-certs'})
    expect(f[0].fix).toBe('knmesh certs')
    expect(only(s, 'KNM0106')).toEqual([])
  })

  it('KNM0106: wildcard-certs only in the mesh namespace (N2): one finding, and not KNM0102 as well', () => {
    const s = mesh3State()
    s.secrets = [tlsSecret(M, 'wildcard-certs')]
    const f = only(s, 'KNM0106')
    expect(f).toHaveLength(1)
    expect(f[0].objects).toEqual([
      {kind: 'Gateway', namespace: 'knative-serving', name: 'knative-ingress-gateway'},
      {kind: 'Secret', namespace: M, name: 'wildcard-certs'},
      {kind: 'Secret', namespace: GW, name: 'wildcard-certs'},
    ])
    expect(f[0].message).toMatch(/Secret istio-system\/wildcard-certs exists but knative-serving-ingress\/wildcard-certs does not/)
    expect(only(s, 'KNM0102')).toEqual([])
    // Present in both: nothing.
    s.secrets.push(tlsSecret(GW, 'wildcard-certs'))
    expect(only(s, 'KNM0106')).toEqual([])
  })

  it('KNM0107: config-istio or KnativeServing spec.config.istio still naming the mesh namespace (N7), whether the 2.x Service is there or not; KNM0104 does not report it too', () => {
    const s = mesh3State()
    s.configIstio!.data = {
      'gateway.knative-serving.knative-ingress-gateway': `istio-ingressgateway.${M}.svc.cluster.local`,
      'local-gateway.knative-serving.knative-local-gateway': `knative-local-gateway.${M}.svc.cluster.local`,
    }
    s.services.push(obj('v1', 'Service', M, 'istio-ingressgateway'))
    const f = only(s, 'KNM0107')
    expect(f.map((x) => x.message)).toEqual([
      `data["gateway.knative-serving.knative-ingress-gateway"] is "istio-ingressgateway.${M}.svc.cluster.local": on Service Mesh 3 the Knative gateway's Services are in ${GW} (this one is a Service Mesh 2 leftover)`,
      `data["local-gateway.knative-serving.knative-local-gateway"] is "knative-local-gateway.${M}.svc.cluster.local": on Service Mesh 3 the Knative gateway's Services are in ${GW}, and there is no such Service`,
    ])
    expect(f[0].fix).toBe('knmesh enable-istio (after knmesh create-gateways)')
    expect(only(s, 'KNM0104')).toEqual([])
  })

  it('KNM0104: a host in knative-serving-ingress that names no Service', () => {
    const s = mesh3State()
    s.services = s.services.filter((x) => x.metadata.name !== 'knative-local-gateway')
    expect(only(s, 'KNM0104').map((f) => f.objects[1])).toEqual([
      {kind: 'Service', namespace: GW, name: 'knative-local-gateway'},
      {kind: 'Service', namespace: GW, name: 'knative-local-gateway'},
    ])
  })

  it('KNM0105: the local gateway Service of knative-serving-ingress without the port-translation label', () => {
    const s = mesh3State()
    const svc = s.services.find((x) => x.metadata.name === 'knative-local-gateway')!
    svc.metadata.labels = {}
    const f = only(s, 'KNM0105')
    expect(f).toHaveLength(1)
    expect(f[0].objects[0]).toEqual({kind: 'Service', namespace: GW, name: 'knative-local-gateway'})
  })

  it('KNM0103: the Gateway selects no pod once the gateway Deployment is gone; the fix is create-gateways', () => {
    const s = mesh3State()
    s.workloads = s.workloads.filter((w) => w.metadata.name !== 'knative-istio-ingressgateway')
    s.services = []
    const f = only(s, 'KNM0103')
    expect(f.map((x) => x.objects[0].name)).toEqual(['knative-ingress-gateway', 'knative-local-gateway'])
    expect(f[0].fix).toBe('knmesh create-gateways (the Deployment knative-serving-ingress/knative-istio-ingressgateway)')
    // No Istio: the control plane is not there yet (precheck's finding).
    s.mesh3!.istio = null
    expect(only(s, 'KNM0103')).toEqual([])
  })

  it('KNM0101: another Istio\'s namespace is another mesh; a 443 "*" Gateway elsewhere on the same pods conflicts', () => {
    const s = mesh3State()
    const wild = (namespace: string) =>
      obj('networking.istio.io/v1', 'Gateway', namespace, 'wild', {
        spec: {selector: {knative: 'ingressgateway'}, servers: [{port: {number: 443}, hosts: ['*']}]},
      })
    s.gateways.push(wild('apps'), wild('openshift-ingress'))
    s.mesh3!.istios.push({apiVersion: 'sailoperator.io/v1', kind: 'Istio', metadata: {name: 'openshift-gateway'}, spec: {namespace: 'openshift-ingress'}})
    expect(only(s, 'KNM0101').map((f) => f.objects[0])).toEqual([{kind: 'Gateway', namespace: 'apps', name: 'wild'}])
  })

  it('KNM0108: a labelled Route of the mesh namespace whose Service is gone (HostAlreadyClaimed); one whose Service is still there waits', () => {
    const s = mesh3State()
    s.mesh3!.routes = [
      route('route-stale', 'istio-ingressgateway', 'hello-alpha-1.apps.example.com'),
      route('route-waiting', 'still-here', 'other.apps.example.com'),
    ]
    s.services.push(obj('v1', 'Service', M, 'still-here'))
    const f = only(s, 'KNM0108')
    expect(f).toHaveLength(1)
    expect(f[0].objects).toEqual([{kind: 'Route', namespace: M, name: 'route-stale'}])
    expect(f[0].message).toBe(
      `host hello-alpha-1.apps.example.com targets Service ${M}/istio-ingressgateway, which does not exist: the Route of ${GW} for that host cannot be admitted (HostAlreadyClaimed)`,
    )
    expect(f[0].fix).toBe(`oc delete route route-stale -n ${M} (knmesh migrate-mesh step 8 deletes them all)`)
  })
})

describe('sidecars on Service Mesh 3 (N5, N11)', () => {
  it('KNM0305: inject annotation but no label in an unlabeled namespace: not injected; fix annotate-services (default revision)', () => {
    const s = mesh3State()
    s.knativeServices.push(ksvc('plain', 'annotated', {annotations: {'sidecar.istio.io/inject': 'true'}}))
    const f = only(s, 'KNM0305')
    expect(f).toHaveLength(1)
    expect(f[0].objects[0]).toEqual({kind: 'Service.serving.knative.dev', namespace: 'plain', name: 'annotated'})
    expect(f[0].fix).toBe('knmesh annotate-services annotated -n plain (the annotation becomes the label), or knmesh add-namespace plain')
    // Not KNM0301 as well, and not the 2.x annotation typo rule.
    expect(only(s, 'KNM0301')).toEqual([])
    expect(only(s, 'KNM0303')).toEqual([])
  })

  it('KNM0305: the same in a labeled namespace is injected; a non-default revision needs the namespace label (fix add-namespace)', () => {
    const s = mesh3State()
    s.knativeServices.push(ksvc('alpha-1', 'annotated', {annotations: {'sidecar.istio.io/inject': 'true'}}))
    expect(only(s, 'KNM0305')).toEqual([])
    const r = mesh3State()
    r.mesh3!.istio = istio('default-v1-27-latest')
    r.knativeServices = [ksvc('plain', 'annotated', {annotations: {'sidecar.istio.io/inject': 'true'}})]
    expect(only(r, 'KNM0305')[0].fix).toBe('knmesh add-namespace plain')
  })

  it('KNM0301: a tenant namespace not labeled for injection, or a label that does not inject (non-default revision)', () => {
    const s = mesh3State()
    s.mesh3!.namespaces!.set('alpha-1', ns('alpha-1'))
    s.knativeServices.push(ksvc('alpha-1', 'bare'))
    const f = only(s, 'KNM0301')
    expect(f.map((x) => x.objects[0].name)).toEqual(['bare'])
    expect(f[0].message).toMatch(/alpha-1\/bare is not injected: namespace alpha-1 is not labeled istio-injection=enabled .*belongs to a tenant/)
    expect(f[0].fix).toBe('knmesh add-namespace alpha-1')
    const r = mesh3State()
    r.mesh3!.istio = istio('canary')
    // The labeled service in the unlabeled project is no longer injected (the pod label reaches the default revision only).
    expect(only(r, 'KNM0301').map((x) => x.objects[0].name)).toEqual(['labeled'])
  })

  it('KNM0302: system workloads need the label (and istio.io/rev for a non-default revision), job-sink included; the 2.x annotation is named', () => {
    const s = mesh3State()
    s.serving = desiredServing3(obj('operator.knative.dev/v1beta1', 'KnativeServing', 'knative-serving', 'knative-serving', {spec: {}}), null)
    s.serving.spec.deployments = [
      {name: 'activator', annotations: {'sidecar.istio.io/inject': 'true'}},
      {name: 'autoscaler', labels: {'sidecar.istio.io/inject': 'true'}},
    ]
    s.eventing!.spec.workloads = s.eventing!.spec.workloads.filter((w: {name: string}) => w.name !== 'job-sink')
    const f = only(s, 'KNM0302')
    // Sorted by the first object: KnativeEventing, then KnativeServing.
    expect(f.map((x) => x.message)).toEqual([
      'spec.workloads: job-sink lacks the label sidecar.istio.io/inject: "true": it runs without a sidecar',
      'spec.deployments: activator lacks the label sidecar.istio.io/inject: "true" (activator has the 2.x annotation, which Service Mesh 3 ignores): it runs without a sidecar',
    ])
    const r = mesh3State()
    r.mesh3!.istio = istio('canary')
    expect(only(r, 'KNM0302').map((f) => f.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^spec.deployments: activator, autoscaler lack the label sidecar.istio.io\/inject: "true" and istio.io\/rev: canary/),
      ]),
    )
  })

  it('KNM0303: the inject label with a value the selectors do not match, or a near-miss label key', () => {
    const s = mesh3State()
    s.knativeServices.push(
      ksvc('plain', 'yes', {labels: {'sidecar.istio.io/inject': 'yes'}}),
      ksvc('plain', 'typo', {labels: {'sidecar.istio.io/injet': 'true'}}),
    )
    expect(only(s, 'KNM0303').map((f) => f.message)).toEqual([
      'spec.template.metadata.labels["sidecar.istio.io/injet"] is not sidecar.istio.io/inject: the injector ignores it',
      'spec.template.metadata.labels["sidecar.istio.io/inject"] is "yes": Service Mesh 3\'s injector selectors match only "true" (and "false"), so no sidecar is injected',
    ])
  })
})

describe('mTLS and authorization on Service Mesh 3', () => {
  it("KNM0401: against the mesh-wide STRICT PeerAuthentication, in an injected namespace; autoscaler-permissive is tenant-authz's own", () => {
    const s = mesh3State()
    s.peerAuthentications.push(
      obj('security.istio.io/v1', 'PeerAuthentication', 'alpha-1', 'loose', {spec: {mtls: {mode: 'PERMISSIVE'}}}),
      obj('security.istio.io/v1', 'PeerAuthentication', 'plain', 'loose', {spec: {mtls: {mode: 'PERMISSIVE'}}}),
    )
    const f = only(s, 'KNM0401')
    expect(f).toHaveLength(1)
    expect(f[0].objects).toEqual([
      {kind: 'PeerAuthentication', namespace: 'alpha-1', name: 'loose'},
      {kind: 'PeerAuthentication', namespace: M, name: 'mesh-mtls'},
    ])
    expect(f[0].message).toBe(`mtls.mode PERMISSIVE for namespace alpha-1, against the mesh-wide PeerAuthentication ${M}/mesh-mtls's STRICT mTLS`)
    // No mesh-wide STRICT: nothing to contradict.
    s.peerAuthentications = s.peerAuthentications.filter((p) => p.metadata.name !== 'mesh-mtls')
    expect(only(s, 'KNM0401')).toEqual([])
  })

  it("KNM0402: port-level exceptions checked against the Istio's excludeInboundPorts string", () => {
    const s = mesh3State()
    s.peerAuthentications.push(
      obj('security.istio.io/v1', 'PeerAuthentication', 'knative-serving', 'ports', {spec: {portLevelMtls: {8444: {mode: 'PERMISSIVE'}}}}),
    )
    // desiredIstio excludes 8444 and 8022: only 9090 is left.
    expect(only(s, 'KNM0402').map((f) => [f.message.split(':')[0], f.objects[1]])).toEqual([
      ['portLevelMtls relaxes 8444 but not 9090, and the control plane does not exclude it', {kind: 'Istio', name: 'default'}],
    ])
  })

  it('KNM0504: deny-all with the Service Mesh 3 defaults missing; KNM0501 exempts allow-traffic-to-ingress-gateway; KNM0503 compares with the Service Mesh 3 render', () => {
    const s = mesh3State()
    s.policies = s.policies.filter((p) => p.metadata.name !== 'allow-traffic-to-activator')
    expect(only(s, 'KNM0504')[0].message).toBe('deny-all-by-default denies everything in knative-serving, and allow-traffic-to-activator is missing')
    expect(only(s, 'KNM0501')).toEqual([])
    // The 2.x render of a tenant (istio-system instead of knative-serving-ingress, no job-sink) differs from the Service Mesh 3 one.
    const t = mesh3State()
    t.policies = [
      ...defaultPolicies3(),
      ...renderTenant({name: 'alpha', namespaces: ['alpha-1'], meshNamespace: M, clusterDomain: 'cluster.local', serving: true, eventing: true}),
    ]
    expect(only(t, 'KNM0503')[0].message).toMatch(
      /^tenant alpha \(alpha-1\): \d+ policies differ from the chart: .*missing knative-eventing\/allow-alpha-to-job-sink/,
    )
  })

  it('KNM0701: a Knative Service waiting for its load balancer, with the activator policy missing under deny-all', () => {
    const s = mesh3State()
    s.policies = s.policies.filter((p) => p.metadata.name !== 'allow-traffic-to-activator')
    s.knativeServices[0].status = {conditions: [{type: 'Ready', status: 'Unknown', message: 'Waiting for load balancer to be ready'}]}
    const f = only(s, 'KNM0701')
    expect(f).toHaveLength(1)
    expect(f[0].message).toMatch(/allow-traffic-to-activator missing in knative-serving/)
  })
})

describe('ServiceEntries on Service Mesh 3 (N10)', () => {
  it('KNM0201: repeated port names, with the Service Mesh 3 reason', () => {
    const s = mesh3State()
    s.serviceEntries.push(
      obj('networking.istio.io/v1', 'ServiceEntry', 'knative-eventing', 'kafka-cluster', {
        spec: {
          hosts: ['k'],
          ports: [
            {name: 'tcp-tls', number: 9093},
            {name: 'tcp-tls', number: 9096},
          ],
        },
      }),
    )
    expect(only(s, 'KNM0201')[0].message).toBe(
      'repeats port name tcp-tls: the Service Mesh 3 ServiceEntry CRD refuses it (spec.ports is a map keyed by name, numbers unique): it cannot even be updated, and istiod rejects it, its hosts stay unreachable from the mesh',
    )
  })
})
