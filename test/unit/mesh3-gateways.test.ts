import {describe, expect, it} from 'vitest'
import {actionOf, changesOf} from '../../src/change/plan.js'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {
  desiredGatewayDeployment,
  desiredGatewayNamespace,
  desiredGatewayService,
  desiredLocalGateway3,
  desiredLocalGatewayService3,
  desiredSdsRole,
  desiredSdsRoleBinding,
  gatewayRevision,
  planGateways3,
  planGatewaysFor,
  type Gateways3State,
} from '../../src/mesh/gateways3.js'
import {desiredEventing3, desiredKafka3, desiredServing3, planEnableIstio3, planEnableIstioFor, type Istio3State} from '../../src/mesh/istio3.js'
import {planPrerequisites, prerequisiteFindings} from '../../src/mesh/prerequisites.js'

const istio = (spec: Record<string, unknown> = {}, rev: string | null = 'default'): KObject => ({
  apiVersion: 'sailoperator.io/v1',
  kind: 'Istio',
  metadata: {name: 'default'},
  spec: {namespace: 'istio-system', ...spec},
  ...(rev ? {status: {activeRevisionName: rev}} : {}),
})
const input = {meshNamespace: 'istio-system', secret: 'wildcard-certs'}
const gw3 = (over: Partial<Gateways3State> = {}): Gateways3State => ({
  meshNamespace: 'istio-system',
  istio: istio(),
  gatewayKind: Kinds.GatewayV1,
  namespace: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'knative-serving-ingress'}},
  deployment: null,
  role: null,
  roleBinding: null,
  ingressService: null,
  localService: null,
  ingress: null,
  local: null,
  secretExists: true,
  allGateways: [],
  ...over,
})
/** Applies a plan to its state as the API server would (desired becomes live). */
const applied = (state: Gateways3State): Gateways3State => {
  const [namespace, role, roleBinding, deployment, ingressService, localService, ingress, local] = planGateways3(state, input).items.map((i) => i.desired)
  return {...state, namespace, role, roleBinding, deployment, ingressService, localService, ingress, local}
}

describe('create-gateways on Service Mesh 3 (reference row 6, N6)', () => {
  it("creates the docs' objects: Namespace when missing, Role, RoleBinding, Deployment, two Services, two v1 Gateways (local: 8081 HTTP)", () => {
    const plan = planGateways3(gw3({namespace: null}), input)
    expect(plan.items.map((i) => [actionOf(i), i.desired?.apiVersion, i.desired?.kind, i.desired?.metadata.namespace, i.desired?.metadata.name])).toEqual([
      ['create', 'v1', 'Namespace', undefined, 'knative-serving-ingress'],
      ['create', 'rbac.authorization.k8s.io/v1', 'Role', 'knative-serving-ingress', 'istio-ingressgateway-sds'],
      ['create', 'rbac.authorization.k8s.io/v1', 'RoleBinding', 'knative-serving-ingress', 'istio-ingressgateway-sds'],
      ['create', 'apps/v1', 'Deployment', 'knative-serving-ingress', 'knative-istio-ingressgateway'],
      ['create', 'v1', 'Service', 'knative-serving-ingress', 'knative-istio-ingressgateway'],
      ['create', 'v1', 'Service', 'knative-serving-ingress', 'knative-local-gateway'],
      ['create', 'networking.istio.io/v1', 'Gateway', 'knative-serving', 'knative-ingress-gateway'],
      ['create', 'networking.istio.io/v1', 'Gateway', 'knative-serving', 'knative-local-gateway'],
    ])
    const [, role, binding, deploy, svc, local, ingressGw, localGw] = plan.items.map((i) => i.desired!)
    expect(role.rules).toEqual([{apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list']}])
    expect([binding.roleRef, binding.subjects]).toEqual([
      {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'istio-ingressgateway-sds'},
      [{kind: 'ServiceAccount', name: 'default'}],
    ])
    expect(deploy.spec).toEqual({
      selector: {matchLabels: {knative: 'ingressgateway'}},
      template: {
        metadata: {annotations: {'inject.istio.io/templates': 'gateway'}, labels: {knative: 'ingressgateway', 'sidecar.istio.io/inject': 'true'}},
        spec: {containers: [{name: 'istio-proxy', image: 'auto'}]},
      },
    })
    expect(svc.spec).toEqual({
      type: 'ClusterIP',
      selector: {knative: 'ingressgateway'},
      ports: [
        {name: 'http2', port: 80, targetPort: 8080},
        {name: 'https', port: 443, targetPort: 8443},
      ],
    })
    expect(local.metadata.labels).toEqual({'experimental.istio.io/disable-gateway-port-translation': 'true'})
    expect(local.spec).toEqual({type: 'ClusterIP', selector: {knative: 'ingressgateway'}, ports: [{name: 'http2', port: 80, targetPort: 8081}]})
    expect(ingressGw.spec).toEqual({
      selector: {knative: 'ingressgateway'},
      servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'SIMPLE', credentialName: 'wildcard-certs'}}],
    })
    expect(localGw.spec).toEqual({selector: {knative: 'ingressgateway'}, servers: [{port: {number: 8081, name: 'http', protocol: 'HTTP'}, hosts: ['*']}]})
    expect(plan.notes).toEqual([])
  })

  it('is idempotent: the plan applied plans nothing; the existing Namespace is left as it is', () => {
    const state = applied(gw3())
    expect(changesOf(planGateways3(state, input))).toEqual([])
    expect(actionOf(planGateways3(gw3(), input).items[0])).toBe('unchanged')
  })

  it('v1alpha3 Gateways where v1 is not served', () => {
    const plan = planGateways3(gw3({gatewayKind: Kinds.Gateway}), input)
    expect(plan.items.slice(-2).map((i) => i.desired?.apiVersion)).toEqual(['networking.istio.io/v1alpha3', 'networking.istio.io/v1alpha3'])
  })

  it('a non-default revision puts istio.io/rev on the gateway pods (a stale value is replaced, with a note); RevisionBased without a revision yet: exit 4', () => {
    expect(gatewayRevision(istio())).toBeNull()
    expect(gatewayRevision(istio({}, 'default-v1-27-latest'))).toBe('default-v1-27-latest')
    const notes: {level: string; text: string}[] = []
    const live = desiredGatewayDeployment(null, 'old-rev')
    const d = desiredGatewayDeployment(live, 'default-v1-27-latest', notes as never)
    expect(d.spec.template.metadata.labels).toEqual({knative: 'ingressgateway', 'sidecar.istio.io/inject': 'true', 'istio.io/rev': 'default-v1-27-latest'})
    expect(notes[0].text).toContain('pod label istio.io/rev old-rev becomes default-v1-27-latest')
    // On the default revision a user's istio.io/rev is left alone (it may name a revision tag).
    expect(desiredGatewayDeployment(live, null).spec.template.metadata.labels['istio.io/rev']).toBe('old-rev')
    expect(() => planGateways3(gw3({istio: istio({updateStrategy: {type: 'RevisionBased'}}, null)}), input)).toThrow(/reports no status.activeRevisionName yet/)
    expect(() => planGateways3(gw3({istio: null}), input)).toThrow('there is no Istio (sailoperator.io/v1) with spec.namespace istio-system')
  })

  it('keeps user fields: replicas, labels, other containers, a pinned proxy image, other rules/verbs/subjects, other ports; restores what the gateway needs', () => {
    const deploy: KObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {name: 'knative-istio-ingressgateway', namespace: 'knative-serving-ingress', labels: {team: 'net'}},
      spec: {
        replicas: 3,
        selector: {matchLabels: {app: 'gw'}},
        template: {
          metadata: {labels: {app: 'gw', 'sidecar.istio.io/inject': 'false'}},
          spec: {
            containers: [
              {name: 'istio-proxy', image: 'quay.io/x/proxy:1'},
              {name: 'shipper', image: 's'},
            ],
          },
        },
      },
    }
    const d = desiredGatewayDeployment(deploy, null)
    expect(d.spec.selector).toEqual({matchLabels: {app: 'gw'}}) // immutable: kept
    expect(d.spec.template.metadata.labels).toEqual({app: 'gw', knative: 'ingressgateway', 'sidecar.istio.io/inject': 'true'})
    expect(d.spec.template.spec.containers).toEqual([
      {name: 'istio-proxy', image: 'quay.io/x/proxy:1'},
      {name: 'shipper', image: 's'},
    ])
    expect(d.spec.replicas).toBe(3)
    expect(deploy.spec.template.metadata.labels['sidecar.istio.io/inject']).toBe('false') // live not mutated

    const role: KObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: {name: 'istio-ingressgateway-sds', namespace: 'knative-serving-ingress'},
      rules: [{apiGroups: [''], resources: ['secrets'], verbs: ['list', 'create']}],
    }
    expect(desiredSdsRole(role).rules).toEqual([{apiGroups: [''], resources: ['secrets'], verbs: ['list', 'create', 'get', 'watch']}])
    const named = {...role, rules: [{apiGroups: [''], resources: ['secrets'], resourceNames: ['x'], verbs: ['get']}]}
    expect(desiredSdsRole(named).rules).toHaveLength(2) // a rule limited to some names does not count
    expect(desiredSdsRole({...role, rules: [{apiGroups: [''], resources: ['secrets'], verbs: ['*']}]}).rules).toEqual([
      {apiGroups: [''], resources: ['secrets'], verbs: ['*']},
    ])

    const binding: KObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: {name: 'istio-ingressgateway-sds', namespace: 'knative-serving-ingress'},
      roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'istio-ingressgateway-sds'},
      subjects: [{kind: 'ServiceAccount', name: 'default', namespace: 'knative-serving-ingress'}],
    }
    expect(actionOf({live: binding, desired: desiredSdsRoleBinding(binding)})).toBe('unchanged')
    expect(desiredSdsRoleBinding({...binding, subjects: [{kind: 'User', name: 'u'}]}).subjects).toEqual([
      {kind: 'User', name: 'u'},
      {kind: 'ServiceAccount', name: 'default'},
    ])
    expect(() => desiredSdsRoleBinding({...binding, roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view'}})).toThrow(
      /binds ClusterRole view, not Role istio-ingressgateway-sds, and its roleRef cannot change/,
    )

    const svc: KObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {name: 'knative-istio-ingressgateway', namespace: 'knative-serving-ingress', labels: {team: 'net'}},
      spec: {
        type: 'ClusterIP',
        clusterIP: '10.0.0.1',
        selector: {app: 'gw'},
        ports: [
          {name: 'web', port: 80, targetPort: 80, protocol: 'TCP'},
          {name: 'status-port', port: 15021},
        ],
      },
    }
    expect(desiredGatewayService(svc).spec).toEqual({
      type: 'ClusterIP',
      clusterIP: '10.0.0.1',
      selector: {knative: 'ingressgateway'},
      // Port 80 named otherwise is renamed http2 (the route controller targets that name); others kept.
      ports: [
        {name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP'},
        {name: 'status-port', port: 15021},
        {name: 'https', port: 443, targetPort: 8443},
      ],
    })
    const local = desiredLocalGatewayService3({...svc, metadata: {...svc.metadata, name: 'knative-local-gateway'}})
    expect(local.metadata.labels).toEqual({team: 'net', 'experimental.istio.io/disable-gateway-port-translation': 'true'})
  })

  it('a 2.x local Gateway (8081 HTTPS ISTIO_MUTUAL) becomes plain HTTP in place, with a note; other servers kept', () => {
    const live: KObject = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: {name: 'knative-local-gateway', namespace: 'knative-serving'},
      spec: {
        selector: {istio: 'ingressgateway'},
        servers: [
          {port: {number: 8081, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'ISTIO_MUTUAL'}},
          {port: {number: 9000, name: 'x', protocol: 'HTTP'}, hosts: ['a.example.com']},
        ],
      },
    }
    const notes: {level: 'info' | 'warning'; text: string}[] = []
    const d = desiredLocalGateway3(live, Kinds.GatewayV1, notes)
    expect(d.spec).toEqual({
      selector: {knative: 'ingressgateway'},
      servers: [
        {port: {number: 8081, name: 'http', protocol: 'HTTP'}, hosts: ['*']},
        {port: {number: 9000, name: 'x', protocol: 'HTTP'}, hosts: ['a.example.com']},
      ],
    })
    expect(notes).toEqual([
      {level: 'info', text: 'Gateway knative-serving/knative-local-gateway: port 8081 is plain HTTP on Service Mesh 3; its tls (ISTIO_MUTUAL) is removed'},
    ])
  })

  it("discoverySelectors: the Namespace gets the first selector's labels (created or existing); an expression-only selector is a warning", () => {
    const sel = istio({values: {meshConfig: {discoverySelectors: [{matchLabels: {'istio-discovery': 'enabled'}}]}}})
    expect(desiredGatewayNamespace(null, sel).metadata).toEqual({name: 'knative-serving-ingress', labels: {'istio-discovery': 'enabled'}})
    expect(
      desiredGatewayNamespace({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'knative-serving-ingress', labels: {a: 'b'}}}, sel).metadata.labels,
    ).toEqual({a: 'b', 'istio-discovery': 'enabled'})
    const notes: {level: 'info' | 'warning'; text: string}[] = []
    desiredGatewayNamespace(null, istio({values: {meshConfig: {discoverySelectors: [{matchExpressions: [{key: 'x', operator: 'Exists'}]}]}}}), notes)
    expect(notes[0].level).toBe('warning')
  })

  it('missing Secret: a warning naming knative-serving-ingress; another Gateway on 443 "*": refused (exit 4), with --force a warning', () => {
    expect(planGateways3(gw3({secretExists: false}), input).notes).toEqual([
      {
        level: 'warning',
        text: 'Secret knative-serving-ingress/wildcard-certs does not exist: the ingress gateway cannot serve TLS until it does (knmesh certs)',
      },
    ])
    const other: KObject = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: {name: 'wild', namespace: 'apps'},
      spec: {servers: [{port: {number: 443}, hosts: ['*']}]},
    }
    expect(() => planGateways3(gw3({allGateways: [other]}), input)).toThrow(/Gateway apps\/wild already binds port 443 with host "\*".*--force/)
    expect(planGateways3(gw3({allGateways: [other]}), {...input, force: true}).notes[0].text).toContain('going on because of --force')
  })

  it('planGatewaysFor dispatches on the generation', () => {
    expect(planGatewaysFor({generation: 3, ...gw3()}, input).items).toHaveLength(8)
    expect(
      planGatewaysFor({generation: 2, ingress: null, local: null, service: null, secretExists: true, allGateways: [], memberRolls: []}, input).items.map(
        (i) => i.desired?.metadata.namespace,
      ),
    ).toEqual(['knative-serving', 'knative-serving', 'istio-system'])
  })
})

const INJECT = {'sidecar.istio.io/inject': 'true'}
const REWRITE = {'sidecar.istio.io/rewriteAppHTTPProbers': 'true'}
const DISABLE = {'serverless.openshift.io/disable-istio-net-policies-generation': 'true'}
const ks = (spec: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'operator.knative.dev/v1beta1',
  kind: 'KnativeServing',
  metadata: {name: 'knative-serving', namespace: 'knative-serving'},
  spec,
})
const ist3 = (over: Partial<Istio3State> = {}): Istio3State => ({
  serving: ks(),
  eventing: null,
  kafka: null,
  serviceEntry: null,
  istio: istio(),
  serviceEntryKind: Kinds.ServiceEntryV1,
  ...over,
})

describe('enable-istio on Service Mesh 3 (reference rows 7-10, N7-N10)', () => {
  it('KnativeServing: the disable annotation, labels on spec.deployments, config.istio naming knative-serving-ingress', () => {
    const d = desiredServing3(ks({ingress: {kourier: {enabled: true}}}), null)
    expect(d.metadata.annotations).toEqual(DISABLE)
    expect(d.spec).toEqual({
      ingress: {kourier: {enabled: false}, istio: {enabled: true}},
      deployments: ['activator', 'autoscaler'].map((name) => ({name, labels: INJECT, annotations: REWRITE})),
      config: {
        istio: {
          'gateway.knative-serving.knative-ingress-gateway': 'knative-istio-ingressgateway.knative-serving-ingress.svc.cluster.local',
          'local-gateway.knative-serving.knative-local-gateway': 'knative-local-gateway.knative-serving-ingress.svc.cluster.local',
        },
      },
    })
    expect(desiredServing3(d, null)).toEqual(d)
  })

  it('the 2.x inject annotation becomes the label, same value, in deployments[] and workloads[], with a note per entry; a label already there wins', () => {
    const notes: {level: 'info' | 'warning'; text: string}[] = []
    const d = desiredServing3(
      ks({
        deployments: [{name: 'activator', annotations: {'sidecar.istio.io/inject': 'true', ...REWRITE}}],
        workloads: [
          {name: 'webhook', annotations: {'sidecar.istio.io/inject': 'false'}},
          {name: 'controller', labels: {'sidecar.istio.io/inject': 'false'}, annotations: {'sidecar.istio.io/inject': 'true'}},
        ],
      }),
      null,
      notes,
    )
    expect(d.spec.deployments[0]).toEqual({name: 'activator', annotations: REWRITE, labels: INJECT})
    expect(d.spec.workloads).toEqual([
      {name: 'webhook', labels: {'sidecar.istio.io/inject': 'false'}},
      {name: 'controller', labels: {'sidecar.istio.io/inject': 'false'}},
    ])
    expect(notes.map((n) => n.text)).toEqual([
      'KnativeServing spec.deployments activator: the annotation sidecar.istio.io/inject: "true" is ignored by Service Mesh 3; it becomes the label sidecar.istio.io/inject: "true"',
      'KnativeServing spec.workloads webhook: the annotation sidecar.istio.io/inject: "false" is ignored by Service Mesh 3; it becomes the label sidecar.istio.io/inject: "false"',
      'KnativeServing spec.workloads controller: the annotation sidecar.istio.io/inject: "true" is ignored by Service Mesh 3; it becomes the label sidecar.istio.io/inject: "false"',
    ])
  })

  it('a non-default revision adds istio.io/rev to the injected workloads', () => {
    const rev = 'default-v1-27-latest'
    expect(desiredServing3(null, rev).spec.deployments[0].labels).toEqual({...INJECT, 'istio.io/rev': rev})
    const ke: KObject = {
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeEventing',
      metadata: {name: 'knative-eventing', namespace: 'knative-eventing'},
      spec: {},
    }
    expect(desiredEventing3(ke, rev).spec.workloads.every((w: {labels: Record<string, string>}) => w.labels['istio.io/rev'] === rev)).toBe(true)
  })

  it('KnativeEventing: annotation, features.istio, five workloads with job-sink; KnativeKafka: seven workloads; user fields kept', () => {
    const ke: KObject = {
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeEventing',
      metadata: {name: 'knative-eventing', namespace: 'knative-eventing', annotations: {a: 'b'}},
      spec: {config: {features: {x: 'y'}}, workloads: [{name: 'imc-dispatcher', replicas: 2}]},
    }
    const e = desiredEventing3(ke, null)
    expect(e.metadata.annotations).toEqual({a: 'b', ...DISABLE})
    expect(e.spec.config).toEqual({features: {x: 'y', istio: 'enabled'}})
    expect(e.spec.workloads.map((w: {name: string}) => w.name)).toEqual([
      'imc-dispatcher',
      'pingsource-mt-adapter',
      'mt-broker-ingress',
      'mt-broker-filter',
      'job-sink',
    ])
    expect(e.spec.workloads[0]).toEqual({name: 'imc-dispatcher', replicas: 2, labels: INJECT, annotations: REWRITE})
    const kk: KObject = {
      apiVersion: 'operator.serverless.openshift.io/v1alpha1',
      kind: 'KnativeKafka',
      metadata: {name: 'knative-kafka', namespace: 'knative-eventing'},
      spec: {},
    }
    const k = desiredKafka3(kk, null)
    expect(k.metadata.annotations).toBeUndefined()
    expect(k.spec.workloads).toHaveLength(7)
    expect(
      k.spec.workloads.every((w: {labels: unknown; annotations: unknown}) => JSON.stringify([w.labels, w.annotations]) === JSON.stringify([INJECT, REWRITE])),
    ).toBe(true)
  })

  it('the ServiceEntry is v1 when served, with unique port names; no Istio: exit 4', () => {
    const kk: KObject = {
      apiVersion: 'operator.serverless.openshift.io/v1alpha1',
      kind: 'KnativeKafka',
      metadata: {name: 'knative-kafka', namespace: 'knative-eventing'},
      spec: {channel: {bootstrapServers: 'k.kafka:9092'}},
    }
    const plan = planEnableIstio3(ist3({kafka: kk}), {meshNamespace: 'istio-system', eventing: true})
    const se = plan.items.at(-1)!.desired!
    expect(se.apiVersion).toBe('networking.istio.io/v1')
    const names = se.spec.ports.map((p: {name: string}) => p.name)
    expect(new Set(names).size).toBe(names.length)
    expect(() => planEnableIstio3(ist3({istio: null}), {meshNamespace: 'istio-system', eventing: true})).toThrow('there is no Istio')
    expect(
      planEnableIstioFor({generation: 2, serving: ks(), eventing: null, kafka: null, serviceEntry: null}, {meshNamespace: 'istio-system', eventing: true})
        .items[0].desired?.spec.deployments[0].annotations,
    ).toEqual({...INJECT, ...REWRITE})
    const again = planEnableIstio3(ist3({serving: plan.items[0].desired, kafka: plan.items[1].desired, serviceEntry: se}), {
      meshNamespace: 'istio-system',
      eventing: true,
    })
    expect(changesOf(again)).toEqual([])
  })
})

describe('enable-istio prerequisites on Service Mesh 3', () => {
  it('configure-mesh (the Istio) and create-gateways (knative-serving-ingress) are offered; add-namespace never', () => {
    const state = {generation: 3 as const, mesh3: {meshNamespace: 'istio-system', istio: istio(), peerAuthentications: []}, gateways3: gw3()}
    const f = prerequisiteFindings(state, input)
    expect(f.map((x) => [x.verb, x.offerable])).toEqual([
      ['configure-mesh', true],
      ['create-gateways', true],
    ])
    expect(f[0].why).toBe(
      'Istio default: terminationDrainDuration is not set (at least 35s needed); spec.values.global.proxy.excludeInboundPorts lacks 8444, 8022; no mesh-wide PeerAuthentication in istio-system (mTLS is not STRICT)',
    )
    expect(f[1].why).toMatch(
      /^missing or different: Role istio-ingressgateway-sds, RoleBinding istio-ingressgateway-sds, Deployment knative-istio-ingressgateway/,
    )
    const plan = planPrerequisites(state, input, ['configure-mesh', 'create-gateways', 'add-namespace'])
    expect(changesOf(plan).map((c) => c.desired?.kind)).toEqual([
      'Istio',
      'PeerAuthentication',
      'Role',
      'RoleBinding',
      'Deployment',
      'Service',
      'Service',
      'Gateway',
      'Gateway',
    ])
    const none = prerequisiteFindings({...state, gateways3: gw3({istio: null}), mesh3: {...state.mesh3, istio: null}}, input)
    expect(none.map((x) => [x.verb, x.offerable])).toEqual([
      ['configure-mesh', false],
      ['create-gateways', false],
    ])
  })
})
