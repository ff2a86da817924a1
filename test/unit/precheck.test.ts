import {describe, expect, it} from 'vitest'
import {gatewayConflicts, meshVersionOf, parseMeshVersion, precheckChecks, type PrecheckState} from '../../src/mesh/precheck.js'
import type {KObject} from '../../src/kube/types.js'

const gw = (namespace: string, name: string, servers: unknown[]): KObject => ({
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'Gateway',
  metadata: {name, namespace},
  spec: {selector: {istio: 'ingressgateway'}, servers},
})
const https443 = (hosts: string[]) => ({port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts})
const smcp = (spec: Record<string, unknown>, status?: Record<string, unknown>): KObject => ({
  apiVersion: 'maistra.io/v2',
  kind: 'ServiceMeshControlPlane',
  metadata: {name: 'basic', namespace: 'istio-system'},
  spec,
  ...(status ? {status} : {}),
})

function state(over: Partial<PrecheckState> = {}): PrecheckState {
  return {
    meshNamespace: 'istio-system',
    served: {smcp: true, smmr: true, istio: false, istioCni: false, gateway: true, knativeServing: true, knativeEventing: true, knativeKafka: true},
    smcps: [smcp({version: 'v2.5'})],
    memberRolls: [],
    gateways: [],
    ingressService: {apiVersion: 'v1', kind: 'Service', metadata: {name: 'istio-ingressgateway', namespace: 'istio-system'}, spec: {type: 'ClusterIP'}},
    ...over,
  }
}

const byId = (s: PrecheckState) => Object.fromEntries(precheckChecks(s).map((c) => [c.id, c]))

describe('precheck: gateway conflicts (guide 1.4.1 step 1)', () => {
  it('names every Gateway that binds 443 with host "*", except knative-serving\'s own', () => {
    const conflicts = gatewayConflicts(
      [
        gw('knative-serving', 'knative-ingress-gateway', [https443(['*'])]),
        gw('apps', 'wild', [https443(['*'])]),
        gw('apps', 'wild-ns', [{port: {number: 8443}, hosts: ['*']}, https443(['*/*'])]),
        gw('apps', 'named-host', [https443(['shop.example.com'])]),
        gw('apps', 'port-80', [{port: {number: 80}, hosts: ['*']}]),
      ],
      [],
      'istio-system',
    )
    expect(conflicts).toEqual([
      {namespace: 'apps', name: 'wild'},
      {namespace: 'apps', name: 'wild-ns'},
    ])
  })

  it("marks Gateways in another mesh's namespaces (members or control plane) as such", () => {
    const other: KObject = {
      apiVersion: 'maistra.io/v1',
      kind: 'ServiceMeshMemberRoll',
      metadata: {name: 'default', namespace: 'other-mesh'},
      spec: {members: ['shop']},
    }
    const mine: KObject = {
      apiVersion: 'maistra.io/v1',
      kind: 'ServiceMeshMemberRoll',
      metadata: {name: 'default', namespace: 'istio-system'},
      spec: {members: ['apps']},
    }
    const conflicts = gatewayConflicts(
      [gw('shop', 'a', [https443(['*'])]), gw('other-mesh', 'b', [https443(['*'])]), gw('apps', 'c', [https443(['*'])])],
      [other, mine],
      'istio-system',
    )
    expect(conflicts).toEqual([
      {namespace: 'apps', name: 'c'},
      {namespace: 'other-mesh', name: 'b', otherMesh: 'other-mesh'},
      {namespace: 'shop', name: 'a', otherMesh: 'other-mesh'},
    ])
    const checks = byId(state({gateways: [gw('shop', 'a', [https443(['*'])])], memberRolls: [other]}))
    expect(checks['gateway-conflict/shop/a'].status).toBe('warning')
    expect(checks['gateway-conflict'].status).toBe('ok')
  })

  it('reports a conflict as a failure with the fix', () => {
    const checks = byId(state({gateways: [gw('apps', 'wild', [https443(['*'])])]}))
    expect(checks['gateway-conflict/apps/wild']).toMatchObject({status: 'failure', fix: expect.stringContaining('remove that Gateway')})
    expect(checks['gateway-conflict']).toBeUndefined()
  })
})

describe('precheck: the ingress gateway Service (guide 1.4.1 step 2)', () => {
  for (const type of ['NodePort', 'LoadBalancer']) {
    it(`fails when istio-ingressgateway is ${type}`, () => {
      const svc = {...state().ingressService!, spec: {type}}
      expect(byId(state({ingressService: svc}))['ingressgateway-service']).toMatchObject({
        status: 'failure',
        detail: expect.stringContaining(`exposed as ${type}: unsupported`),
      })
    })
  }
  it('is ok for ClusterIP and a warning when absent', () => {
    expect(byId(state())['ingressgateway-service'].status).toBe('ok')
    expect(byId(state({ingressService: null}))['ingressgateway-service'].status).toBe('warning')
  })
})

describe('precheck: prerequisites', () => {
  it('fails for a required CRD that is not served, warns for an optional one', () => {
    const s = state({served: {smcp: false, smmr: true, gateway: true, knativeServing: true, knativeEventing: true, knativeKafka: false}, smcps: null})
    const checks = byId(s)
    expect(checks['crd/servicemeshcontrolplanes.maistra.io']).toMatchObject({status: 'failure', fix: 'install the Red Hat OpenShift Service Mesh Operator'})
    expect(checks['crd/knativekafkas.operator.serverless.openshift.io'].status).toBe('warning')
    expect(checks.smcp).toBeUndefined()
  })

  it('fails without an SMCP and names the verb that creates it', () => {
    expect(byId(state({smcps: []})).smcp).toMatchObject({status: 'failure', fix: 'knmesh configure-mesh --create --mesh-namespace istio-system'})
  })

  it('checks the Service Mesh version is at least 2.2', () => {
    expect(byId(state({smcps: [smcp({version: 'v2.1'})]}))['mesh-version/basic'].status).toBe('failure')
    expect(byId(state({smcps: [smcp({version: 'v2.2'})]}))['mesh-version/basic'].status).toBe('ok')
    expect(byId(state({smcps: [smcp({}, {chartVersion: '2.4.3'})]}))['mesh-version/basic'].status).toBe('ok')
    expect(byId(state({smcps: [smcp({})]}))['mesh-version/basic'].status).toBe('warning')
    expect(parseMeshVersion('v3.0')).toEqual([3, 0])
    expect(parseMeshVersion('latest')).toBeUndefined()
    expect(meshVersionOf(smcp({version: 'v2.10'})).version).toEqual([2, 10])
  })

  it('is all ok on a fresh, correct cluster', () => {
    expect(precheckChecks(state()).filter((c) => c.status !== 'ok')).toEqual([])
  })
})
