import {describe, expect, it} from 'vitest'
import {actionOf, type Plan} from '../../src/change/plan.js'
import {UsageError} from '../../src/errors.js'
import type {KObject} from '../../src/kube/types.js'
import {
  chooseIstioVersion,
  describeItem,
  indexObjects,
  planMigration,
  planStep,
  StepBlockedError,
  stepPending,
  uniquePortNames,
  type Mesh3Planners,
  type MigrationState,
} from '../../src/mesh/migrate.js'

const obj = (apiVersion: string, kind: string, name: string, namespace?: string, rest: Record<string, unknown> = {}): KObject => ({
  apiVersion,
  kind,
  metadata: {name, ...(namespace ? {namespace} : {}), resourceVersion: '1', ...((rest.metadata as object) ?? {})},
  ...Object.fromEntries(Object.entries(rest).filter(([k]) => k !== 'metadata')),
})
const ns = (name: string, labels: Record<string, string> = {}) => obj('v1', 'Namespace', name, undefined, {metadata: {labels}})
const ready = {conditions: [{type: 'Ready', status: 'True'}], activeRevisionName: 'default'}
const VERSIONS = ['v1.27-latest', 'v1.27.9', 'v1.26-latest', 'v1.26.8', 'v1.24-latest']

/** A Serverless install on Service Mesh 2.5 (MultiTenant), the Service Mesh 3 operator installed, no Istio yet. */
function mesh2(extra: KObject[] = []): KObject[] {
  return [
    obj('maistra.io/v2', 'ServiceMeshControlPlane', 'basic', 'istio-system', {
      spec: {
        version: 'v2.5',
        profiles: ['default'],
        security: {dataPlane: {mtls: true}},
        techPreview: {meshConfig: {defaultConfig: {terminationDrainDuration: '40s'}}},
        proxy: {networking: {trafficControl: {inbound: {excludedPorts: [9090, 8444]}}}},
        gateways: {ingress: {service: {metadata: {labels: {knative: 'ingressgateway'}}}}},
        addons: {kiali: {enabled: true, name: 'kiali'}},
        userField: 'kept',
      },
    }),
    obj('maistra.io/v1', 'ServiceMeshMemberRoll', 'default', 'istio-system', {spec: {members: ['knative-serving', 'knative-eventing', 'team-a']}}),
    obj('maistra.io/v1', 'ServiceMeshMember', 'default', 'team-b', {spec: {controlPlaneRef: {name: 'basic', namespace: 'istio-system'}}}),
    ns('istio-system'),
    ns('knative-serving', {'knative.openshift.io/part-of': 'openshift-serverless'}),
    ns('knative-eventing'),
    ns('team-a', {team: 'a'}),
    ns('team-b'),
    obj('operator.knative.dev/v1beta1', 'KnativeServing', 'knative-serving', 'knative-serving', {
      spec: {config: {istio: {'gateway.knative-serving.knative-ingress-gateway': 'istio-ingressgateway.istio-system.svc.cluster.local'}}},
    }),
    obj('networking.istio.io/v1alpha3', 'Gateway', 'knative-ingress-gateway', 'knative-serving', {
      spec: {servers: [{port: {number: 443}, tls: {mode: 'SIMPLE', credentialName: 'my-certs'}}]},
    }),
    obj('v1', 'Secret', 'my-certs', 'istio-system', {type: 'kubernetes.io/tls', data: {'tls.crt': 'Q0VSVA==', 'tls.key': 'S0VZ'}}),
    obj('v1', 'Service', 'knative-local-gateway', 'istio-system'),
    ...extra,
  ]
}

function state(objects: KObject[], over: Partial<MigrationState> = {}): MigrationState {
  return {meshNamespace: 'istio-system', maistraServed: true, sailServed: true, istioVersions: VERSIONS, objects: indexObjects(objects), ...over}
}

/** Stand-ins for the other verbs' Service Mesh 3 planners (wired by src/mesh/migrate-planners.ts): empty plans that say so. */
const stub = (what: string): Plan => ({items: [], notes: [{level: 'warning', text: `${what}: stub planner`}]})
const STUB_PLANNERS: Mesh3Planners = {
  gateways: () => stub('gateways'),
  istio: () => stub('istio'),
  services: () => stub('services'),
  policies: () => stub('policies'),
}
const input = {planners: STUB_PLANNERS}
const desiredOf = (plan: Plan, kind: string, name: string) =>
  plan.items.find((i) => (i.desired ?? i.live)!.kind === kind && (i.desired ?? i.live)!.metadata.name === name)

/** The objects after step 4 (Istio/IstioCNI Ready, as the Sail operator reports them). */
function installed(extra: KObject[] = []): KObject[] {
  return mesh2([
    obj('sailoperator.io/v1', 'Istio', 'default', undefined, {spec: {namespace: 'istio-system', version: 'v1.27-latest'}, status: ready}),
    obj('sailoperator.io/v1', 'IstioCNI', 'default', undefined, {spec: {namespace: 'istio-cni'}, status: ready}),
    ...extra,
  ])
}

describe('migrate-mesh planner', () => {
  it('--istio-version is checked against the served enum (exit 2); default: the newest vX.Y-latest', () => {
    expect(chooseIstioVersion(VERSIONS)).toBe('v1.27-latest')
    expect(chooseIstioVersion(['v1.24-latest', 'v1.26-latest', 'v1.26.8'])).toBe('v1.26-latest')
    expect(chooseIstioVersion(['v1.26.1', 'v1.26.10', 'v1.24.6'])).toBe('v1.26.10')
    expect(chooseIstioVersion(VERSIONS, 'v1.26-latest')).toBe('v1.26-latest')
    expect(() => chooseIstioVersion(VERSIONS, 'v9.9')).toThrow(UsageError)
    expect(chooseIstioVersion(null)).toBeNull()
    expect(() => planMigration(state(mesh2()), {...input, istioVersion: 'v1.99-latest'})).toThrow(
      '--istio-version v1.99-latest is not one this Service Mesh 3 operator installs',
    )
  })

  it('repeated port names become unique (the first keeps its name), other ports untouched', () => {
    expect(
      uniquePortNames([
        {name: 'tcp', number: 9092},
        {name: 'tls', number: 9093},
        {name: 'tls', number: 9094},
        {name: 'tls-9094', number: 9095},
        {name: 'tls', number: 9094},
      ]),
    ).toEqual([
      {name: 'tcp', number: 9092},
      {name: 'tls', number: 9093},
      {name: 'tls-9094-2', number: 9094},
      {name: 'tls-9094', number: 9095},
      {name: 'tls-9094-3', number: 9094},
    ])
  })

  it('the read-only plan of a 2.x cluster: every step planned on the state the earlier ones leave', () => {
    const steps = planMigration(state(mesh2()), input)
    expect(steps.map((s) => s.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    // 1: warnings only
    expect(steps[0].changes).toEqual([])
    expect(steps[0].plan.notes.some((n) => n.level === 'warning' && n.text.includes('ServiceMeshControlPlane basic is v2.5'))).toBe(true)
    // 2: SMCP fields and the annotation
    expect(steps[1].changes).toEqual([
      'update ServiceMeshControlPlane istio-system/basic (spec.addons.grafana.enabled=false; spec.addons.kiali.enabled=false; spec.addons.prometheus.enabled=false; spec.security.manageNetworkPolicy=false; spec.tracing.type=None)',
      'update KnativeServing knative-serving/knative-serving (annotations serverless.openshift.io/disable-istio-net-policies-generation=true)',
    ])
    // 4: what the SMCP maps to
    expect(steps[3].changes).toEqual([
      'create Namespace istio-cni',
      'create Namespace knative-serving-ingress',
      'create IstioCNI default',
      'create Istio default',
      'create PeerAuthentication istio-system/mesh-mtls',
    ])
    const istio = desiredOf(steps[3].plan, 'Istio', 'default')!.desired!
    expect(istio.spec).toEqual({
      namespace: 'istio-system',
      version: 'v1.27-latest',
      updateStrategy: {type: 'InPlace'},
      values: {
        meshConfig: {defaultConfig: {terminationDrainDuration: '40s'}, discoverySelectors: [{matchLabels: {'istio-discovery': 'istio-system'}}]},
        global: {proxy: {excludeInboundPorts: '9090,8444,8022'}},
      },
    })
    // 5: the Secret the Gateway names is copied (type and data), never printed
    expect(steps[4].changes).toEqual(['create Secret knative-serving-ingress/my-certs'])
    const secret = desiredOf(steps[4].plan, 'Secret', 'my-certs')!.desired!
    expect(secret).toMatchObject({type: 'kubernetes.io/tls', data: {'tls.crt': 'Q0VSVA==', 'tls.key': 'S0VZ'}})
    expect(steps[4].plan.notes.map((n) => n.text)).toContain('runs once Istio default and IstioCNI default are Ready (created in step 4)')
    // 6: labels on the former members (SMMR and SMM), knative namespaces without injection
    expect(steps[5].changes).toEqual([
      'update Namespace team-a (labels istio-discovery=istio-system, istio-injection=enabled, maistra.io/ignore-namespace=true)',
      'update Namespace team-b (labels istio-discovery=istio-system, istio-injection=enabled, maistra.io/ignore-namespace=true)',
      'update Namespace knative-serving (labels istio-discovery=istio-system, maistra.io/ignore-namespace=true)',
      'update Namespace knative-eventing (labels istio-discovery=istio-system, maistra.io/ignore-namespace=true)',
      'update Namespace knative-serving-ingress (labels istio-discovery=istio-system)',
      'update Namespace istio-system (labels istio-discovery=istio-system)',
    ])
    expect(desiredOf(steps[5].plan, 'Namespace', 'team-a')!.desired!.metadata.labels).toMatchObject({team: 'a'})
    // 7: the two injected planners' plans (here stubs) are the step's
    expect(steps[6].plan.notes.filter((n) => n.text.includes('stub planner'))).toHaveLength(2)
    // 8 and 11 wait for the new gateway and config.istio
    expect(steps[7].blocked?.reason).toContain('Service knative-serving-ingress/knative-istio-ingressgateway does not exist')
    expect(steps[10].blocked?.reason).toContain('spec.config.istio still sends')
  })

  it('the wired planners are called with the state of their step', () => {
    const seen: string[] = []
    const planners: Mesh3Planners = {
      gateways: (s) => (
        seen.push(`gateways:${s.objects.size}`),
        {items: [{live: null, desired: obj('v1', 'Service', 'knative-istio-ingressgateway', 'knative-serving-ingress')}], notes: []}
      ),
      istio: (s) => {
        seen.push('istio')
        const ks = [...s.objects.values()].find((o) => o.kind === 'KnativeServing')!
        const d = structuredClone(ks)
        d.spec.config.istio = {
          'gateway.knative-serving.knative-ingress-gateway': 'knative-istio-ingressgateway.knative-serving-ingress.svc.cluster.local',
          'local-gateway.knative-serving.knative-local-gateway': 'knative-local-gateway.knative-serving-ingress.svc.cluster.local',
        }
        return {items: [{live: ks, desired: d}], notes: []}
      },
      services: () => (seen.push('services'), {items: [], notes: []}),
      policies: () => (seen.push('policies'), {items: [], notes: []}),
    }
    const steps = planMigration(state(mesh2()), {planners})
    expect(seen.map((x) => x.split(':')[0])).toEqual(['gateways', 'istio', 'services', 'policies'])
    // With the gateway and config.istio planned, 8 and 11 are planned too: the SMCP goes last.
    expect(steps[7].changes).toEqual([
      'update ServiceMeshControlPlane istio-system/basic (spec.gateways.enabled=false; spec.gateways.openshiftRoute.enabled=false)',
    ])
    expect(steps[10].changes).toEqual([
      'delete ServiceMeshMember team-b/default',
      'delete ServiceMeshMemberRoll istio-system/default',
      'delete ServiceMeshControlPlane istio-system/basic',
      'delete Service istio-system/knative-local-gateway',
    ])
    expect(steps[10].plan.notes.some((n) => n.text.startsWith('Secret istio-system/my-certs is kept'))).toBe(true)
  })

  it('blocked: no Service Mesh 3 operator, several SMCPs, nothing to migrate', () => {
    expect(planMigration(state(mesh2(), {sailServed: false}), input)[0].blocked?.reason).toContain('the Service Mesh 3 operator is not installed')
    const two = mesh2([obj('maistra.io/v2', 'ServiceMeshControlPlane', 'other', 'istio-system', {spec: {}})])
    expect(planMigration(state(two), input)[0].blocked?.reason).toContain('there are 2 ServiceMeshControlPlanes in istio-system')
    expect(planMigration(state([ns('istio-system')]), input)[0].blocked?.reason).toContain('nothing to migrate')
  })

  it('--apply: steps after 4 wait for the Istio and IstioCNI to be Ready (exit-4 StepBlockedError, wait)', () => {
    const notReady = mesh2([
      obj('sailoperator.io/v1', 'Istio', 'default', undefined, {spec: {namespace: 'istio-system', version: 'v1.27-latest'}}),
      obj('sailoperator.io/v1', 'IstioCNI', 'default', undefined, {spec: {}}),
    ])
    const s = state(notReady)
    expect(stepPending(4, s)).toBe(
      'Istio default and IstioCNI default are not Ready yet (the Service Mesh 3 operator installs them: oc get istio,istiocni): wait until the operator reports Ready',
    )
    let err: unknown
    try {
      planStep(5, s, input)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(StepBlockedError)
    expect((err as StepBlockedError).wait).toBe(true)
    expect((err as StepBlockedError).exitCode).toBe(4)
    expect(stepPending(4, state(installed()))).toBeNull()
  })

  it('step 2 is not done while the SMCP lacks a field (a CRD older than 2.6 drops manageNetworkPolicy)', () => {
    const objects = mesh2()
    const smcp = objects[0]
    smcp.spec.security.manageNetworkPolicy = false
    smcp.spec.addons = {prometheus: {enabled: false}, kiali: {enabled: false}, grafana: {enabled: false}}
    smcp.spec.tracing = {type: 'None'}
    expect(stepPending(2, state(objects))).toBeNull()
    delete smcp.spec.security.manageNetworkPolicy
    expect(stepPending(2, state(objects))).toBe(
      "ServiceMeshControlPlane basic did not keep spec.security.manageNetworkPolicy=false (the API server dropped it: the Service Mesh 2 operator's CRD is older than 2.6): upgrade the Service Mesh 2 operator and the control plane to 2.6",
    )
  })

  it('an existing Istio is merged into (version, user fields kept), not created again', () => {
    const live = obj('sailoperator.io/v1', 'Istio', 'default', undefined, {
      spec: {namespace: 'istio-system', version: 'v1.24-latest', values: {meshConfig: {accessLogFile: '/dev/stdout'}}},
      status: ready,
    })
    const plan = planStep(4, state(mesh2([live, ns('istio-cni'), obj('sailoperator.io/v1', 'IstioCNI', 'default', undefined, {spec: {}})])), input)
    const d = desiredOf(plan, 'Istio', 'default')!
    expect(d.live).toBe(live)
    expect(d.desired!.spec.version).toBe('v1.24-latest')
    expect(d.desired!.spec.values.meshConfig.accessLogFile).toBe('/dev/stdout')
    expect(d.desired!.spec.values.global.proxy.excludeInboundPorts).toBe('8444,8022')
    expect(plan.notes.some((n) => n.level === 'warning' && n.text.includes('no discoverySelectors'))).toBe(true)
    expect(desiredOf(plan, 'IstioCNI', 'default')).toBeUndefined()
  })

  it('step 4 ignores the PeerAuthentication Maistra owns (it goes with the SMCP)', () => {
    const maistra = obj('security.istio.io/v1', 'PeerAuthentication', 'default', 'istio-system', {
      metadata: {labels: {'maistra.io/owner': 'istio-system'}},
      spec: {mtls: {mode: 'STRICT'}},
    })
    const plan = planStep(4, state(mesh2([maistra])), input)
    expect(plan.items.filter((i) => i.desired?.kind === 'PeerAuthentication').map((i) => [i.live, i.desired!.metadata.name])).toEqual([[null, 'mesh-mtls']])
  })

  it('step 8: the SMCP gateways off, stale Routes deleted, Routes whose Service still exists wait', () => {
    const route = (name: string, to: string) =>
      obj('route.openshift.io/v1', 'Route', name, 'istio-system', {
        metadata: {labels: {'serving.knative.openshift.io/ingressName': 'hello'}},
        spec: {to: {kind: 'Service', name: to}},
      })
    const objects = installed([
      obj('v1', 'Service', 'knative-istio-ingressgateway', 'knative-serving-ingress'),
      obj('v1', 'Service', 'still-here', 'istio-system'),
      route('route-gone', 'istio-ingressgateway'),
      route('route-wait', 'still-here'),
    ])
    const ks = objects.find((o) => o.kind === 'KnativeServing')!
    ks.spec.config.istio = {
      'gateway.knative-serving.knative-ingress-gateway': 'knative-istio-ingressgateway.knative-serving-ingress.svc.cluster.local',
      'local-gateway.knative-serving.knative-local-gateway': 'knative-local-gateway.knative-serving-ingress.svc.cluster.local',
    }
    const s = state(objects)
    const plan = planStep(8, s, input)
    expect(plan.items.map(describeItem)).toEqual([
      'update ServiceMeshControlPlane istio-system/basic (spec.gateways.enabled=false; spec.gateways.openshiftRoute.enabled=false)',
      'delete Route istio-system/route-gone',
    ])
    const smcp = plan.items[0].desired!
    expect(smcp.spec.userField).toBe('kept')
    expect(smcp.spec.gateways.ingress.service.metadata.labels).toEqual({knative: 'ingressgateway'})
    expect(stepPending(8, s)).toContain('1 Route in istio-system still target Service istio-system/still-here')
    // Step 11 waits for them too (the SMCP's gateways are still on in this state: that is said first).
    expect(() => planStep(11, s, input)).toThrow('still runs its gateways')
  })

  it('step 3: a ServiceEntry with repeated port names is fixed, other fields kept; a port-less one is a warning', () => {
    const se = obj('networking.istio.io/v1alpha3', 'ServiceEntry', 'kafka-cluster', 'knative-eventing', {
      spec: {
        hosts: ['k'],
        exportTo: ['.'],
        ports: [
          {name: 'tcp-tls', number: 9093, protocol: 'TCP'},
          {name: 'tcp-tls', number: 9094, protocol: 'TCP'},
        ],
      },
    })
    const empty = obj('networking.istio.io/v1alpha3', 'ServiceEntry', 'empty', 'team-a', {spec: {hosts: ['x']}})
    const plan = planStep(3, state(mesh2([se, empty])), input)
    expect(plan.items).toHaveLength(1)
    expect(plan.items[0].desired!.spec).toEqual({
      hosts: ['k'],
      exportTo: ['.'],
      ports: [
        {name: 'tcp-tls', number: 9093, protocol: 'TCP'},
        {name: 'tcp-tls-9094', number: 9094, protocol: 'TCP'},
      ],
    })
    expect(plan.notes.map((n) => n.text)).toEqual([
      "ServiceEntry team-a/empty has no ports: the Service Mesh 3 operator's install fails on it; add its ports or delete it",
    ])
  })

  it('a Secret line never shows its data; a changed Secret says which keys', () => {
    const live = obj('v1', 'Secret', 's', 'n', {data: {a: 'T0xE'}})
    const d = structuredClone(live)
    d.data.a = 'TkVX'
    expect(describeItem({live, desired: d})).toBe('update Secret n/s (data.a)')
  })

  it('idempotent: on the state every step leaves, the plan has nothing left to do', () => {
    const planners: Mesh3Planners = {...STUB_PLANNERS}
    let s = state(installed([obj('v1', 'Service', 'knative-istio-ingressgateway', 'knative-serving-ingress')]))
    const ks = [...s.objects.values()].find((o) => o.kind === 'KnativeServing')!
    ks.spec.config.istio = {
      'gateway.knative-serving.knative-ingress-gateway': 'knative-istio-ingressgateway.knative-serving-ingress.svc.cluster.local',
      'local-gateway.knative-serving.knative-local-gateway': 'knative-local-gateway.knative-serving-ingress.svc.cluster.local',
    }
    for (let n = 1; n <= 11; n++) {
      const plan = planStep(n, s, {planners})
      const objects = new Map(s.objects)
      for (const i of plan.items) {
        if (i.desired)
          objects.set(
            `${i.desired.apiVersion.includes('/') ? i.desired.apiVersion.split('/')[0] : ''}/${i.desired.kind}/${i.desired.metadata.namespace ?? ''}/${i.desired.metadata.name}`,
            {...i.desired, status: ready},
          )
        else if (i.live)
          objects.delete(
            `${i.live.apiVersion.includes('/') ? i.live.apiVersion.split('/')[0] : ''}/${i.live.kind}/${i.live.metadata.namespace ?? ''}/${i.live.metadata.name}`,
          )
      }
      s = {...s, objects}
    }
    const again = planMigration(s, {planners})
    expect(again.filter((x) => x.blocked || x.plan.items.some((i) => actionOf(i) !== 'unchanged')).map((x) => x.n)).toEqual([])
  })
})
