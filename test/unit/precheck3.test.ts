import {describe, expect, it} from 'vitest'
import type {KObject} from '../../src/kube/types.js'
import {precheckChecks, type PrecheckState} from '../../src/mesh/precheck.js'
import type {Precheck3State} from '../../src/mesh/precheck3.js'

const ready = (status = 'True', reason?: string) => ({conditions: [{type: 'Ready', status, ...(reason ? {reason} : {})}]})
const istio = (
  name: string,
  namespace: string,
  version = 'v1.27-latest',
  status: Record<string, unknown> = {...ready(), activeRevisionName: name},
): KObject => ({
  apiVersion: 'sailoperator.io/v1',
  kind: 'Istio',
  metadata: {name},
  spec: {namespace, version},
  status,
})
const cni = (status = ready()): KObject => ({
  apiVersion: 'sailoperator.io/v1',
  kind: 'IstioCNI',
  metadata: {name: 'default'},
  spec: {namespace: 'istio-cni'},
  status,
})
const gw = (namespace: string, name: string): KObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'Gateway',
  metadata: {name, namespace},
  spec: {servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*']}]},
})

function state(m3: Partial<Precheck3State> = {}, over: Partial<PrecheckState> = {}): PrecheckState {
  const def = istio('default', 'istio-system')
  const istios = m3.facts?.istios ?? [def]
  return {
    meshNamespace: 'istio-system',
    served: {smcp: false, smmr: false, istio: true, istioCni: true, gateway: true, knativeServing: true, knativeEventing: false, knativeKafka: false},
    smcps: null,
    memberRolls: null,
    gateways: [],
    ingressService: null,
    generation: 3,
    mesh3: {
      facts: {meshNamespace: 'istio-system', smcps: null, istios},
      istio: def,
      istioCni: cni(),
      istioVersions: ['v1.27-latest', 'v1.27.9', 'v1.26-latest', 'v1.26.8'],
      ingressNamespace: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'knative-serving-ingress'}},
      gatewayService: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {name: 'knative-istio-ingressgateway', namespace: 'knative-serving-ingress'},
        spec: {type: 'ClusterIP'},
      },
      ...m3,
    },
    ...over,
  }
}
const byId = (s: PrecheckState) => Object.fromEntries(precheckChecks(s).map((c) => [c.id, c]))

describe('precheck on Service Mesh 3', () => {
  it('a healthy Sail mesh: the Sail CRD rows instead of maistra.io, Istio/IstioCNI Ready, the version in the served enum', () => {
    const checks = precheckChecks(state())
    expect(checks.map((c) => c.id)).toEqual([
      'crd/istios.sailoperator.io',
      'crd/istiocnis.sailoperator.io',
      'crd/gateways.networking.istio.io',
      'crd/knativeservings.operator.knative.dev',
      'crd/knativeeventings.operator.knative.dev',
      'crd/knativekafkas.operator.serverless.openshift.io',
      'istio',
      'istio-version/default',
      'istiocni',
      'ingress-namespace',
      'ingressgateway-service',
      'gateway-conflict',
    ])
    expect(checks.filter((c) => c.status === 'failure')).toEqual([])
    const c = byId(state())
    expect(c.istio.detail).toBe('Istio default (spec.namespace istio-system, revision default) is Ready')
    expect(c['istio-version/default'].detail).toBe('default: v1.27-latest (the operator installs v1.27-latest, v1.26-latest and 2 pinned versions)')
  })

  it('failures: Istio not Ready (its reason), a version the operator does not install, no IstioCNI, a NodePort gateway Service', () => {
    const c = byId(
      state({
        istio: istio('default', 'istio-system', 'v1.24.3', {
          conditions: [{type: 'Ready', status: 'False', reason: 'IstiodNotReady', message: 'istiod is not ready'}],
        }),
        istioCni: null,
        gatewayService: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {name: 'knative-istio-ingressgateway', namespace: 'knative-serving-ingress'},
          spec: {type: 'NodePort'},
        },
      }),
    )
    expect(c.istio).toMatchObject({status: 'failure', detail: 'Istio default is not Ready (IstiodNotReady: istiod is not ready)'})
    expect(c['istio-version/default']).toMatchObject({status: 'failure', fix: 'set spec.version of Istio default to one of v1.27-latest, v1.26-latest'})
    expect(c.istiocni).toMatchObject({status: 'failure', fix: 'create IstioCNI default with spec.namespace istio-cni (Service Mesh 3 docs)'})
    expect(c['ingressgateway-service'].status).toBe('failure')
  })

  it('no Istio for the mesh namespace: how to create one; the gateway rows before create-gateways are warnings', () => {
    const c = byId(state({istio: null, facts: {meshNamespace: 'istio-system', smcps: null, istios: []}, ingressNamespace: null, gatewayService: null}))
    expect(c.istio.status).toBe('failure')
    expect(c.istio.detail).toContain('create an IstioCNI "default" and an Istio with spec.namespace istio-system')
    expect(c['ingress-namespace']).toMatchObject({status: 'warning', fix: 'knmesh create-gateways (creates it)'})
    expect(c['ingressgateway-service']).toMatchObject({status: 'warning', fix: 'knmesh create-gateways'})
  })

  it('Sail CRDs not served: a failure naming the Service Mesh 3 operator', () => {
    const c = byId(
      state(
        {},
        {served: {smcp: false, smmr: false, istio: false, istioCni: false, gateway: true, knativeServing: true, knativeEventing: false, knativeKafka: false}},
      ),
    )
    expect(c['crd/istios.sailoperator.io']).toMatchObject({
      status: 'failure',
      fix: 'install the Red Hat OpenShift Service Mesh 3 Operator (servicemeshoperator3)',
    })
  })

  it('a 443/"*" Gateway in another Istio\'s namespace (openshift-gateway included) is a warning, elsewhere a failure', () => {
    const other = istio('openshift-gateway', 'openshift-ingress')
    const c = byId(
      state(
        {facts: {meshNamespace: 'istio-system', smcps: null, istios: [istio('default', 'istio-system'), other]}},
        {gateways: [gw('openshift-ingress', 'gw'), gw('team-a', 'wild')]},
      ),
    )
    expect(c['gateway-conflict/openshift-ingress/gw'].status).toBe('warning')
    expect(c['gateway-conflict/openshift-ingress/gw'].detail).toContain("OpenShift's Gateway API Istio")
    expect(c['gateway-conflict/team-a/wild'].status).toBe('failure')
  })
})
