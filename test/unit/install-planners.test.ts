import {describe, expect, it} from 'vitest'
import {actionOf, changesOf} from '../../src/change/plan.js'
import type {KObject} from '../../src/kube/types.js'
import {desiredIngressGateway, desiredLocalGateway, desiredLocalGatewayService, planGateways, type GatewaysState} from '../../src/mesh/gateways.js'
import {bootstrapHosts, desiredEventing, desiredKafka, desiredServiceEntry, desiredServing, DEFAULT_KAFKA_PORTS, planEnableIstio} from '../../src/mesh/istio.js'
import {prerequisiteFindings, planPrerequisites} from '../../src/mesh/prerequisites.js'
import {desiredSmcp, planConfigureMesh, smcpFindings} from '../../src/mesh/smcp.js'
import {
  EVENTING_WORKLOADS,
  INGRESS_GATEWAY_SPEC,
  KAFKA_WORKLOADS,
  LOCAL_GATEWAY_SERVICE,
  LOCAL_GATEWAY_SPEC,
  SIDECAR,
  SMCP_SPEC,
  serviceEntrySpec,
  servingSpec,
} from '../support/guide-chapter1.js'

const ANN = SIDECAR
const smcp = (name: string, spec: Record<string, unknown> = {profiles: ['default']}): KObject => ({
  apiVersion: 'maistra.io/v2',
  kind: 'ServiceMeshControlPlane',
  metadata: {name, namespace: 'istio-system', resourceVersion: '3'},
  spec,
})

describe('configure-mesh planner (guide 1.4.2 step 1, 1.5 step 3)', () => {
  it('creates the guide\'s SMCP "basic" with --create', () => {
    const plan = planConfigureMesh({smcps: []}, {meshNamespace: 'istio-system', create: true})
    expect(plan.items[0].live).toBeNull()
    expect(plan.items[0].desired).toEqual({
      apiVersion: 'maistra.io/v2',
      kind: 'ServiceMeshControlPlane',
      metadata: {name: 'basic', namespace: 'istio-system'},
      spec: SMCP_SPEC,
    })
  })

  it('merges into an existing SMCP keeping other ports, labels and fields', () => {
    const live = smcp('prod', {
      version: 'v2.5',
      profiles: ['small'],
      security: {dataPlane: {automtls: true}, controlPlane: {mtls: true}},
      gateways: {ingress: {service: {metadata: {labels: {team: 'net'}}, type: 'ClusterIP'}}},
      proxy: {networking: {trafficControl: {inbound: {excludedPorts: [15090, 8444], includedPorts: ['*']}}}},
    })
    const d = desiredSmcp(live, 'istio-system')
    expect(d.spec.version).toBe('v2.5')
    expect(d.spec.profiles).toEqual(['small'])
    expect(d.spec.security).toEqual({dataPlane: {automtls: true, mtls: true}, controlPlane: {mtls: true}})
    expect(d.spec.gateways.ingress.service).toEqual({metadata: {labels: {team: 'net', knative: 'ingressgateway'}}, type: 'ClusterIP'})
    expect(d.spec.proxy.networking.trafficControl.inbound).toEqual({excludedPorts: [15090, 8444, 8022], includedPorts: ['*']})
    expect(live.spec.proxy.networking.trafficControl.inbound.excludedPorts).toEqual([15090, 8444]) // not mutated
    expect(smcpFindings(live)).toHaveLength(4)
    expect(smcpFindings(d)).toEqual([])
    expect(actionOf({live: d, desired: desiredSmcp(d, 'istio-system')})).toBe('unchanged')
  })

  it('refuses without an SMCP and without --create, and with several SMCPs and no --name', () => {
    expect(() => planConfigureMesh({smcps: []}, {meshNamespace: 'istio-system'})).toThrow(/no ServiceMeshControlPlane in istio-system; pass --create/)
    expect(() => planConfigureMesh({smcps: [smcp('a'), smcp('b')]}, {meshNamespace: 'istio-system'})).toThrow(
      /2 ServiceMeshControlPlanes in istio-system \(a, b\); choose one with --name/,
    )
    expect(planConfigureMesh({smcps: [smcp('a'), smcp('b')]}, {meshNamespace: 'istio-system', name: 'b'}).items[0].live?.metadata.name).toBe('b')
    expect(() => planConfigureMesh({smcps: [smcp('a')]}, {meshNamespace: 'istio-system', name: 'c'})).toThrow(
      /no ServiceMeshControlPlane c in istio-system \(there is a\)/,
    )
  })
})

const gwState = (over: Partial<GatewaysState> = {}): GatewaysState => ({
  ingress: null,
  local: null,
  service: null,
  secretExists: true,
  allGateways: [],
  memberRolls: [],
  ...over,
})

describe('create-gateways planner (guide 1.4.2 steps 4-5)', () => {
  it("creates exactly the guide's two Gateways and Service", () => {
    const plan = planGateways(gwState(), {meshNamespace: 'istio-system', secret: 'wildcard-certs'})
    expect(plan.items.map((i) => i.desired)).toEqual([
      {
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'Gateway',
        metadata: {name: 'knative-ingress-gateway', namespace: 'knative-serving'},
        spec: INGRESS_GATEWAY_SPEC,
      },
      {
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'Gateway',
        metadata: {name: 'knative-local-gateway', namespace: 'knative-serving'},
        spec: LOCAL_GATEWAY_SPEC,
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {name: 'knative-local-gateway', namespace: 'istio-system', labels: LOCAL_GATEWAY_SERVICE.labels},
        spec: LOCAL_GATEWAY_SERVICE.spec,
      },
    ])
    expect(plan.notes).toEqual([])
  })

  it('merges into existing objects: other servers, tls fields, labels and ports are kept; HTTP 8081 becomes HTTPS ISTIO_MUTUAL', () => {
    const ingress: KObject = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: {name: 'knative-ingress-gateway', namespace: 'knative-serving', labels: {a: 'b'}},
      spec: {
        selector: {istio: 'ingressgateway'},
        servers: [
          {port: {number: 80, name: 'http', protocol: 'HTTP'}, hosts: ['*']},
          {port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'SIMPLE', credentialName: 'old', minProtocolVersion: 'TLSV1_2'}},
        ],
      },
    }
    const d = desiredIngressGateway(ingress, 'wildcard-certs')
    expect(d.metadata.labels).toEqual({a: 'b'})
    expect(d.spec.servers).toEqual([
      ingress.spec.servers[0],
      {
        port: {number: 443, name: 'https', protocol: 'HTTPS'},
        hosts: ['*'],
        tls: {mode: 'SIMPLE', credentialName: 'wildcard-certs', minProtocolVersion: 'TLSV1_2'},
      },
    ])
    const local: KObject = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: {name: 'knative-local-gateway', namespace: 'knative-serving'},
      spec: {selector: {knative: 'ingressgateway'}, servers: [{port: {number: 8081, name: 'http', protocol: 'HTTP'}, hosts: ['*']}]},
    }
    expect(desiredLocalGateway(local).spec.servers).toEqual([
      {port: {number: 8081, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'ISTIO_MUTUAL'}},
    ])
    const svc: KObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {name: 'knative-local-gateway', namespace: 'istio-system', labels: {app: 'x'}},
      spec: {
        type: 'ClusterIP',
        clusterIP: '10.0.0.7',
        selector: {istio: 'ingressgateway'},
        ports: [
          {name: 'http2', port: 80, targetPort: 8081, protocol: 'TCP'},
          {name: 'extra', port: 81, protocol: 'TCP'},
        ],
      },
    }
    const ds = desiredLocalGatewayService(svc, 'istio-system')
    expect(actionOf({live: svc, desired: ds})).toBe('update') // only the label
    expect(ds.metadata.labels).toEqual({app: 'x', 'experimental.istio.io/disable-gateway-port-translation': 'true'})
    expect(ds.spec).toEqual(svc.spec)
  })

  it('refuses when another Gateway binds 443 with host "*" unless --force; warns about a missing Secret', () => {
    const other: KObject = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: {name: 'wild', namespace: 'apps'},
      spec: {servers: [{port: {number: 443}, hosts: ['*']}]},
    }
    expect(() => planGateways(gwState({allGateways: [other]}), {meshNamespace: 'istio-system', secret: 's'})).toThrow(
      /Gateway apps\/wild already binds port 443 with host "\*".*--force/,
    )
    const plan = planGateways(gwState({allGateways: [other], secretExists: false}), {meshNamespace: 'istio-system', secret: 's', force: true})
    expect(plan.notes.map((n) => n.text)).toEqual([
      expect.stringContaining('going on because of --force'),
      'Secret istio-system/s does not exist: the ingress gateway cannot serve TLS until it does (knmesh certs)',
    ])
    // Nothing to write (the gateways are in place): no refusal, only the warning.
    const [g1, g2, svc] = plan.items.map((i) => i.desired)
    const inPlace = planGateways(gwState({ingress: g1, local: g2, service: svc, allGateways: [other]}), {meshNamespace: 'istio-system', secret: 's'})
    expect(changesOf(inPlace)).toEqual([])
    expect(inPlace.notes.map((n) => n.text)).toEqual(['Gateway apps/wild also binds port 443 with host "*" (see knmesh precheck)'])
  })
})

const ks = (spec: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'operator.knative.dev/v1beta1',
  kind: 'KnativeServing',
  metadata: {name: 'knative-serving', namespace: 'knative-serving'},
  spec,
})

describe('enable-istio planner (guide 1.4.3)', () => {
  it("gives KnativeServing exactly the guide's fields", () => {
    expect(desiredServing(ks(), 'istio-system').spec).toEqual(servingSpec())
    expect(desiredServing(ks(), 'my-mesh').spec).toEqual(servingSpec('my-mesh'))
  })

  it("creates the guide's KnativeServing when there is none", () => {
    const plan = planEnableIstio({serving: null, eventing: null, kafka: null, serviceEntry: null}, {meshNamespace: 'istio-system', eventing: true})
    expect(plan.items).toEqual([
      {
        live: null,
        desired: {
          apiVersion: 'operator.knative.dev/v1beta1',
          kind: 'KnativeServing',
          metadata: {name: 'knative-serving', namespace: 'knative-serving'},
          spec: servingSpec(),
        },
      },
    ])
    expect(plan.notes.map((n) => n.text)).toContain('KnativeServing knative-serving/knative-serving does not exist: it will be created with Istio enabled')
  })

  it('merges deployments by name and keeps other config, entries and fields', () => {
    const live = ks({
      high: {x: 1},
      ingress: {kourier: {enabled: false}},
      deployments: [
        {name: 'activator', replicas: 3, annotations: {keep: 'me'}},
        {name: 'webhook', labels: {a: 'b'}},
      ],
      config: {network: {'domain-template': '{{.Name}}'}, istio: {other: 'x'}},
    })
    const d = desiredServing(live, 'istio-system')
    expect(d.spec.deployments).toEqual([
      {name: 'activator', replicas: 3, annotations: {keep: 'me', ...ANN}},
      {name: 'webhook', labels: {a: 'b'}},
      {name: 'autoscaler', annotations: ANN},
    ])
    expect(d.spec.ingress).toEqual({kourier: {enabled: false}, istio: {enabled: true}})
    expect(d.spec.config.network).toEqual({'domain-template': '{{.Name}}'})
    expect(d.spec.config.istio.other).toBe('x')
    expect(d.spec.high).toEqual({x: 1})
    expect(actionOf({live: d, desired: desiredServing(d, 'istio-system')})).toBe('unchanged')
  })

  it("configures KnativeEventing's feature and four workloads; KnativeKafka's seven", () => {
    const ke: KObject = {
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeEventing',
      metadata: {name: 'knative-eventing', namespace: 'knative-eventing'},
      spec: {config: {features: {'kreference-group': 'enabled'}}},
    }
    const de = desiredEventing(ke)
    expect(de.spec.config.features).toEqual({'kreference-group': 'enabled', istio: 'enabled'})
    expect(de.spec.workloads).toEqual(EVENTING_WORKLOADS.map((name) => ({name, annotations: ANN})))
    const kk: KObject = {
      apiVersion: 'operator.serverless.openshift.io/v1alpha1',
      kind: 'KnativeKafka',
      metadata: {name: 'knative-kafka', namespace: 'knative-eventing'},
      spec: {channel: {enabled: true}, source: {enabled: true}},
    }
    expect(desiredKafka(kk).spec.workloads).toEqual(KAFKA_WORKLOADS.map((name) => ({name, annotations: ANN})))
  })

  it("writes the ServiceEntry with the bootstrap hosts without ports and the guide's ports", () => {
    expect(bootstrapHosts(['my-cluster-kafka-bootstrap.kafka:9092,b.kafka:9093', ' my-cluster-kafka-bootstrap.kafka:9094', '[fd00::1]:9092', 'plain'])).toEqual(
      ['my-cluster-kafka-bootstrap.kafka', 'b.kafka', 'fd00::1', 'plain'],
    )
    const se = desiredServiceEntry(null, ['my-cluster-kafka-bootstrap.kafka'], DEFAULT_KAFKA_PORTS)
    expect(se).toEqual({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'ServiceEntry',
      metadata: {name: 'kafka-cluster', namespace: 'knative-eventing'},
      spec: serviceEntrySpec(['my-cluster-kafka-bootstrap.kafka']),
    })
  })

  it('takes the bootstrap servers from the KnativeKafka; skips Eventing with --no-eventing', () => {
    const kk: KObject = {
      apiVersion: 'operator.serverless.openshift.io/v1alpha1',
      kind: 'KnativeKafka',
      metadata: {name: 'knative-kafka', namespace: 'knative-eventing'},
      spec: {channel: {enabled: true, bootstrapServers: 'k.kafka:9092'}, broker: {enabled: true, defaultConfig: {bootstrapServers: 'k.kafka:9093'}}},
    }
    const ke: KObject = {
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeEventing',
      metadata: {name: 'knative-eventing', namespace: 'knative-eventing'},
      spec: {},
    }
    const plan = planEnableIstio({serving: ks(), eventing: ke, kafka: kk, serviceEntry: null}, {meshNamespace: 'istio-system', eventing: false})
    expect(plan.items.map((i) => i.desired!.kind)).toEqual(['KnativeServing', 'KnativeKafka', 'ServiceEntry'])
    expect(plan.items[2].desired!.spec.hosts).toEqual(['k.kafka'])
    const noKafka = planEnableIstio(
      {serving: ks(), eventing: null, kafka: null, serviceEntry: null},
      {meshNamespace: 'istio-system', eventing: true, kafkaBootstrap: ['x.kafka:9092'], kafkaPorts: [{number: 9092, name: 'tcp-plain', protocol: 'TCP'}]},
    )
    expect(noKafka.items.map((i) => i.desired!.kind)).toEqual(['KnativeServing', 'ServiceEntry'])
    expect(noKafka.items[1].desired!.spec.ports).toEqual([{number: 9092, name: 'tcp-plain', protocol: 'TCP'}])
    expect(noKafka.notes.some((n) => n.level === 'warning' && n.text.includes('no KnativeKafka'))).toBe(true)
  })

  it("a KnativeServing on Kourier (which takes precedence when enabled): Kourier off, an explicit Kourier class becomes Istio's, each said; the rest kept", () => {
    const live: KObject = {
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeServing',
      metadata: {name: 'knative-serving', namespace: 'knative-serving'},
      spec: {
        ingress: {kourier: {enabled: true, 'service-type': 'ClusterIP'}},
        config: {network: {'ingress-class': 'kourier.ingress.networking.knative.dev', 'domain-template': '{{.Name}}'}},
      },
    }
    const plan = planEnableIstio({serving: live, eventing: null, kafka: null, serviceEntry: null}, {meshNamespace: 'istio-system', eventing: false})
    const ks = plan.items[0].desired!
    expect(ks.spec.ingress).toEqual({kourier: {enabled: false, 'service-type': 'ClusterIP'}, istio: {enabled: true}})
    expect(ks.spec.config.network).toEqual({'ingress-class': 'istio.ingress.networking.knative.dev', 'domain-template': '{{.Name}}'})
    expect(plan.notes.filter((n) => n.level === 'warning').map((n) => n.text)).toEqual([
      'KnativeServing enables Kourier, which takes precedence over Istio: spec.ingress.kourier.enabled is set to false (Knative Services then go through the mesh gateways)',
      'KnativeServing spec.config.network "ingress-class" names Kourier: it is set to istio.ingress.networking.knative.dev',
    ])
    // Run again on its own result: nothing left to say or change.
    const again = planEnableIstio({serving: ks, eventing: null, kafka: null, serviceEntry: null}, {meshNamespace: 'istio-system', eventing: false})
    expect(changesOf(again)).toEqual([])
    expect(again.notes.filter((n) => n.level === 'warning')).toEqual([])
  })
})

describe('enable-istio prerequisites', () => {
  const smmr = (members: string[]): KObject => ({
    apiVersion: 'maistra.io/v1',
    kind: 'ServiceMeshMemberRoll',
    metadata: {name: 'default', namespace: 'istio-system'},
    spec: {members},
  })
  const input = {meshNamespace: 'istio-system', secret: 'wildcard-certs'}

  it('finds what configure-mesh, create-gateways and add-namespace would still do, and plans them with their own planners', () => {
    const state = {mesh: {smcps: [smcp('basic')]}, gateways: gwState(), members: {smmr: smmr([]), namespaces: null}}
    const findings = prerequisiteFindings(state, input)
    expect(findings.map((f) => [f.verb, f.offerable])).toEqual([
      ['configure-mesh', true],
      ['create-gateways', true],
      ['add-namespace', true],
    ])
    expect(findings[0].why).toContain('security.dataPlane.mtls is not true')
    const plan = planPrerequisites(state, input, ['add-namespace', 'configure-mesh'])
    expect(plan.items.map((i) => i.desired!.kind)).toEqual(['ServiceMeshControlPlane', 'ServiceMeshMemberRoll'])
    expect(plan.items[1].desired!.spec.members).toEqual(['knative-serving', 'knative-eventing'])
  })

  it('finds nothing when the mesh side is done, and cannot offer configure-mesh without an SMCP', () => {
    const done = planPrerequisites({mesh: {smcps: [smcp('basic')]}, gateways: gwState(), members: {smmr: smmr([]), namespaces: null}}, input, [
      'configure-mesh',
      'create-gateways',
      'add-namespace',
    ])
    const [m, g1, g2, s, r] = done.items.map((i) => i.desired!)
    const state = {mesh: {smcps: [m]}, gateways: gwState({ingress: g1, local: g2, service: s}), members: {smmr: r, namespaces: null}}
    expect(changesOf(planPrerequisites(state, input, ['configure-mesh', 'create-gateways', 'add-namespace']))).toEqual([])
    expect(prerequiteVerbs(prerequisiteFindings(state, input))).toEqual([])
    const none = prerequisiteFindings({...state, mesh: {smcps: []}}, input)
    expect(none).toEqual([{verb: 'configure-mesh', offerable: false, why: expect.stringContaining('pass --create'), command: 'knmesh configure-mesh'}])
  })
})

describe('enable-istio prerequisites and a conflicting Gateway', () => {
  const input = {meshNamespace: 'istio-system', secret: 'wildcard-certs'}
  const wild: KObject = {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'Gateway',
    metadata: {name: 'wild', namespace: 'apps'},
    spec: {servers: [{port: {number: 443}, hosts: ['*']}]},
  }
  const members = {
    smmr: {
      apiVersion: 'maistra.io/v1',
      kind: 'ServiceMeshMemberRoll',
      metadata: {name: 'default', namespace: 'istio-system'},
      spec: {members: ['knative-serving', 'knative-eventing']},
    },
    namespaces: null,
  }
  const mesh = {smcps: [desiredSmcp(smcp('basic'), 'istio-system')]}

  it('cannot offer create-gateways while the gateways are missing', () => {
    const f = prerequisiteFindings({mesh, members, gateways: gwState({allGateways: [wild]})}, input)
    expect(f).toEqual([
      {verb: 'create-gateways', offerable: false, why: expect.stringContaining('apps/wild already binds port 443'), command: 'knmesh create-gateways'},
    ])
  })

  it('says nothing once the gateways are in place', () => {
    const [g1, g2, s] = planGateways(gwState(), {meshNamespace: 'istio-system', secret: 'wildcard-certs'}).items.map((i) => i.desired)
    expect(prerequisiteFindings({mesh, members, gateways: gwState({ingress: g1, local: g2, service: s, allGateways: [wild, g1!, g2!]})}, input)).toEqual([])
  })
})

function prerequiteVerbs(f: {verb: string}[]): string[] {
  return f.map((x) => x.verb)
}
