import {describe, expect, it} from 'vitest'
import type {KObject} from '../../src/kube/types.js'
import {Authorizer, expectedStatus, predict, tenantMatrix, type MeshView} from '../../src/mesh/probe.js'
import {defaultPolicies, renderTenant} from '../../src/mesh/tenant-authz.js'

const base = {meshNamespace: 'istio-system', clusterDomain: 'cluster.local', serving: true, eventing: true}
const strict: KObject = {
  apiVersion: 'security.istio.io/v1beta1',
  kind: 'PeerAuthentication',
  metadata: {name: 'default', namespace: 'istio-system'},
  spec: {mtls: {mode: 'STRICT'}},
}
const roll = (members: string[]): KObject => ({
  apiVersion: 'maistra.io/v1',
  kind: 'ServiceMeshMemberRoll',
  metadata: {name: 'default', namespace: 'istio-system'},
  spec: {members},
})

/** Guide 2.4: two tenants with one namespace each, all members, the policies of 2.3. */
function guideView(): MeshView {
  return {
    policies: [
      ...defaultPolicies('istio-system'),
      ...renderTenant({name: 'team-alpha', namespaces: ['team-alpha-1'], ...base}),
      ...renderTenant({name: 'team-bravo', namespaces: ['team-bravo-1'], ...base}),
    ],
    peerAuthentications: [strict],
    smmr: roll(['knative-serving', 'knative-eventing', 'team-alpha-1', 'team-bravo-1']),
    meshNamespace: 'istio-system',
  }
}

const probe = (view: MeshView, from: string, to: string, external: boolean) => predict(new Authorizer(view), {from, to, service: 'test-webapp', external})

describe('guide 2.4: the four expectations', () => {
  it('team-alpha-1 → team-alpha-1 by cluster-local name: 200', () => {
    const p = probe(guideView(), 'team-alpha-1', 'team-alpha-1', false)
    expect(p.verdict).toBe('allow')
    expect(expectedStatus(p)).toBe('200')
    expect(p.url).toBe('http://test-webapp.team-alpha-1:80')
    const viaActivator = p.paths.find((x) => x.name === 'via activator')!
    expect(viaActivator.hops[0].decision).toMatchObject({by: 'ALLOW', policy: {namespace: 'knative-serving', name: 'allow-team-alpha-to-activator'}, rule: 0})
    expect(viaActivator.hops[1].decision.policy).toEqual({namespace: 'team-alpha-1', name: 'allow-from-knative-and-istio'})
  })

  it('team-alpha-1 → team-alpha-1 by external URL: 200', () => {
    const p = probe(guideView(), 'team-alpha-1', 'team-alpha-1', true)
    expect(p.verdict).toBe('allow')
    expect(expectedStatus(p)).toBe('200')
    expect(p.paths[0].hops[1].decision.policy).toEqual({namespace: 'knative-serving', name: 'allow-traffic-to-activator'})
  })

  it('team-alpha-1 → team-bravo-1 by cluster-local name: 403, denied at the activator by deny-all-by-default and at the pod', () => {
    const p = probe(guideView(), 'team-alpha-1', 'team-bravo-1', false)
    expect(p.verdict).toBe('deny')
    expect(expectedStatus(p)).toBe('403')
    expect(p.reason).toContain('knative-serving/activator')
    expect(p.reason).toContain('knative-serving/deny-all-by-default')
    const direct = p.paths.find((x) => x.name === 'direct to the pod')!
    expect(direct.verdict).toBe('deny')
    expect(direct.hops[0].decision.reason).toMatch(/no rule of the ALLOW policies applying matches/)
  })

  it('team-alpha-1 → team-bravo-1 by external URL: 200 (through the gateway in istio-system)', () => {
    const p = probe(guideView(), 'team-alpha-1', 'team-bravo-1', true)
    expect(p.verdict).toBe('allow')
    expect(expectedStatus(p)).toBe('200')
  })
})

describe('request paths and the mesh', () => {
  it('without tenant policies (deny-all only) even same-namespace calls are denied', () => {
    const v = guideView()
    v.policies = defaultPolicies('istio-system')
    const p = probe(v, 'team-alpha-1', 'team-alpha-1', false)
    // The direct path has no policies in team-alpha-1: only the activator denies → mixed.
    expect(p.verdict).toBe('mixed')
    expect(p.paths.map((x) => x.verdict)).toEqual(['deny', 'allow'])
  })

  it('a caller outside the mesh is refused by STRICT mTLS (connection reset)', () => {
    const v = guideView()
    v.smmr = roll(['knative-serving', 'knative-eventing', 'team-bravo-1'])
    const p = probe(v, 'team-alpha-1', 'team-bravo-1', false)
    expect(p.verdict).toBe('deny')
    expect(p.paths[0].status).toBe('000')
    expect(p.reason).toContain('requires mTLS')
  })

  it('a PERMISSIVE caller without a sidecar has no identity: namespace rules do not match (403)', () => {
    const v = guideView()
    v.peerAuthentications = []
    v.smmr = roll(['knative-serving', 'knative-eventing', 'team-bravo-1'])
    const p = probe(v, 'team-alpha-1', 'team-alpha-1', false)
    expect(p.paths[0].hops[0].mtls).toContain('plaintext')
    expect(p.paths[0].verdict).toBe('deny')
  })

  it("knative-serving outside the member roll: the activator has no sidecar, only the pod's policies hold", () => {
    const v = guideView()
    v.smmr = roll(['knative-eventing', 'team-alpha-1', 'team-bravo-1'])
    const p = probe(v, 'team-alpha-1', 'team-bravo-1', false)
    expect(p.paths[0].hops[0].mtls).toBe('none (no sidecar at the destination)')
    expect(p.paths[0].hops[0].decision.verdict).toBe('allow')
    // The activator (no sidecar: plaintext, no identity) is then refused by STRICT mTLS at the pod.
    expect(p.paths[0].hops[1].decision.reason).toContain('requires mTLS')
  })

  it('a DENY policy in the root namespace applies mesh-wide and is named', () => {
    const v = guideView()
    v.policies = [
      ...v.policies,
      {
        apiVersion: 'security.istio.io/v1beta1',
        kind: 'AuthorizationPolicy',
        metadata: {name: 'block-alpha', namespace: 'istio-system'},
        spec: {action: 'DENY', rules: [{from: [{source: {namespaces: ['team-alpha-1']}}]}]},
      },
    ]
    const p = probe(v, 'team-alpha-1', 'team-alpha-1', false)
    expect(p.verdict).toBe('deny')
    expect(p.reason).toContain('istio-system/block-alpha')
  })
})

describe('probe --matrix', () => {
  it("the guide's two tenants: same tenant allowed, cross-tenant denied, no violations", () => {
    const m = tenantMatrix(guideView())
    expect(m.namespaces).toEqual(['team-alpha-1', 'team-bravo-1'])
    expect(m.cells.map((c) => `${c.from}>${c.to}:${c.verdict}`)).toEqual([
      'team-alpha-1>team-alpha-1:allow',
      'team-alpha-1>team-bravo-1:deny',
      'team-bravo-1>team-alpha-1:deny',
      'team-bravo-1>team-bravo-1:allow',
    ])
    expect(m.violations).toEqual([])
  })

  it("finds a leak: a hand-made policy letting bravo into alpha's activator hosts", () => {
    const v = guideView()
    v.policies.push({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      metadata: {name: 'leak', namespace: 'team-alpha-1'},
      spec: {rules: [{from: [{source: {namespaces: ['team-bravo-1']}}]}]},
    })
    v.policies.push({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      metadata: {name: 'leak', namespace: 'knative-serving'},
      spec: {selector: {matchLabels: {app: 'activator'}}, rules: [{from: [{source: {namespaces: ['team-bravo-1']}}]}]},
    })
    const m = tenantMatrix(v)
    expect(m.violations.map((c) => `${c.from}>${c.to}`)).toEqual(['team-bravo-1>team-alpha-1'])
  })

  it('100 tenants × 2 namespaces: every one of the 40,000 pairs comes out as isolation expects', () => {
    const policies = [...defaultPolicies('istio-system')]
    const members = ['knative-serving', 'knative-eventing']
    for (let i = 0; i < 100; i++) {
      const ns = [`t${i}-a`, `t${i}-b`]
      members.push(...ns)
      policies.push(...renderTenant({name: `t${i}`, namespaces: ns, ...base}))
    }
    const view: MeshView = {policies, peerAuthentications: [strict], smmr: roll(members), meshNamespace: 'istio-system'}
    const m = tenantMatrix(view)
    expect(m.cells).toHaveLength(200 * 200)
    expect(m.violations).toEqual([])
    expect(m.cells.filter((c) => c.verdict === 'allow')).toHaveLength(100 * 4)
    // Its speed is measured by `npm run bench:matrix`, not asserted here.
  }, 60_000)
})

describe('mTLS from the control plane', () => {
  const noPeerAuth = (meshMtls: boolean): MeshView => ({...guideView(), peerAuthentications: [], meshMtls})

  it('with SMCP security.dataPlane.mtls and no PeerAuthentication, the mesh default is STRICT: a caller outside the mesh is reset', () => {
    const strictView = noPeerAuth(true)
    const members = probe(strictView, 'team-alpha-1', 'team-alpha-1', false)
    expect(members.paths[0].hops[0].mtls).toBe('mTLS STRICT (SMCP security.dataPlane.mtls)')
    const outside = probe(strictView, 'not-a-member', 'team-bravo-1', false)
    expect(outside.verdict).toBe('deny')
    expect(outside.paths.some((p) => p.hops.some((h) => h.mtls.startsWith('plaintext refused: STRICT (SMCP')))).toBe(true)
  })

  it('without it (and no PeerAuthentication) the default stays PERMISSIVE', () => {
    const permissive = probe(noPeerAuth(false), 'team-alpha-1', 'team-alpha-1', false)
    expect(permissive.paths[0].hops[0].mtls).toBe('mTLS PERMISSIVE (default)')
  })
})
