import {describe, expect, it} from 'vitest'
import {planAnnotateServices} from '../../src/mesh/annotate.js'
import {ingressMode} from '../../src/mesh/ingress-mode.js'
import {pendingMembers, planMembers} from '../../src/mesh/members.js'
import {kourierChecks, type PrecheckState} from '../../src/mesh/precheck.js'
import type {KObject} from '../../src/kube/types.js'

const ks = (spec: Record<string, unknown>): KObject => ({
  apiVersion: 'operator.knative.dev/v1beta1',
  kind: 'KnativeServing',
  metadata: {name: 'knative-serving', namespace: 'knative-serving'},
  spec,
})
const roll = (members: string[], status?: Record<string, unknown>): KObject => ({
  apiVersion: 'maistra.io/v1',
  kind: 'ServiceMeshMemberRoll',
  metadata: {name: 'default', namespace: 'istio-system'},
  spec: {members},
  ...(status ? {status} : {}),
})
const ns = (name: string, labels: Record<string, string> = {}): KObject => ({apiVersion: 'v1', kind: 'Namespace', metadata: {name, labels}})

describe('ingress mode, as the Serverless Operator 1.32 decides it (pkg/serving/ingress.go)', () => {
  it('Kourier wins when enabled, Istio alone is Istio, all disabled is Kourier, nothing set is the default Kourier', () => {
    expect(ingressMode(ks({ingress: {kourier: {enabled: true}, istio: {enabled: true}}}))).toBe('kourier')
    expect(ingressMode(ks({ingress: {istio: {enabled: true}}}))).toBe('istio')
    expect(ingressMode(ks({ingress: {istio: {enabled: false}}}))).toBe('kourier')
    expect(ingressMode(ks({}))).toBe('kourier-default')
    expect(ingressMode(ks({ingress: {kourier: {enabled: true}}, config: {network: {'ingress-class': 'istio.ingress.networking.knative.dev'}}}))).toBe('istio')
    expect(ingressMode(null)).toBeNull()
  })
})

describe('add-namespace --kourier (guide 1.6)', () => {
  it('adds only the given namespace, labels knative-serving and knative-serving-ingress, warns about system members', () => {
    const plan = planMembers(
      {
        smmr: roll(['knative-eventing']),
        namespaces: new Set(['app', 'knative-serving', 'knative-serving-ingress']),
        policies: new Map([['app', null]]),
        systemNamespaces: new Map([
          ['knative-serving', ns('knative-serving', {'knative.openshift.io/part-of': 'openshift-serverless'})],
          ['knative-serving-ingress', ns('knative-serving-ingress', {keep: 'me'})],
        ]),
      },
      {meshNamespace: 'istio-system', add: ['app'], kourier: true},
    )
    expect(plan.items[0].desired?.spec.members).toEqual(['knative-eventing', 'app'])
    const labelled = plan.items.filter((i) => i.desired?.kind === 'Namespace')
    expect(labelled.map((i) => i.desired!.metadata.labels)).toEqual([{keep: 'me', 'knative.openshift.io/part-of': 'openshift-serverless'}])
    expect(plan.notes.map((n) => n.text).join('\n')).toContain('with Kourier (guide 1.6) knative-eventing must stay outside the mesh')
  })
})

describe('precheck: Kourier checks', () => {
  const base = (over: Partial<PrecheckState>): PrecheckState => ({
    meshNamespace: 'istio-system',
    served: {smcp: true, smmr: true, gateway: true, knativeServing: true, knativeEventing: true, knativeKafka: true},
    smcps: [],
    memberRolls: [roll(['knative-serving', 'knative-serving-ingress', 'app'])],
    gateways: [],
    ingressService: null,
    ...over,
  })
  it('fails on system members and a missing part-of label with chosen Kourier; nothing with Istio', () => {
    const checks = kourierChecks(
      base({
        serving: ks({ingress: {kourier: {enabled: true}}}),
        servingNamespaces: new Map([
          ['knative-serving', ns('knative-serving')],
          ['knative-serving-ingress', null],
        ]),
      }),
    )
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['kourier/system-members', 'failure'],
      ['kourier/part-of-label', 'failure'],
    ])
    expect(checks[0].fix).toBe('knmesh remove-namespace knative-serving knative-serving-ingress --kourier (Kourier, 1.6)')
    expect(checks[1].fix).toBe('knmesh add-namespace app --kourier (adds the label)')
    expect(kourierChecks(base({serving: ks({ingress: {istio: {enabled: true}}})}))).toEqual([])
  })

  it('with nothing chosen yet (no spec.ingress: between guide 1.4.2 and 1.4.3) system members are a warning whose first fix is enable-istio', () => {
    const [members] = kourierChecks(base({serving: ks({}), servingNamespaces: new Map()}))
    expect(members.status).toBe('warning')
    expect(members.detail).toContain('enabling Istio (1.4.3) settles it')
    expect(members.fix).toBe(
      'knmesh enable-istio (Istio, 1.4.3); or, to stay on Kourier, knmesh remove-namespace knative-serving knative-serving-ingress --kourier (1.6)',
    )
  })
})

describe('pending members', () => {
  it('are those in status.pendingMembers or missing from configuredMembers; none while no status is reported', () => {
    expect(pendingMembers(roll(['a', 'b', 'c'], {configuredMembers: ['a', 'b'], pendingMembers: ['b']}))).toEqual(['b', 'c'])
    expect(pendingMembers(roll(['a']))).toEqual([])
    expect(pendingMembers(roll(['a'], {configuredMembers: ['a']}))).toEqual([])
  })

  it('annotate-services names the services of pending namespaces', () => {
    const svc = (namespace: string): KObject => ({apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: {name: 'web', namespace}, spec: {}})
    const plan = planAnnotateServices(
      {services: [svc('a'), svc('b')], members: ['a', 'b'], pending: ['b'], missing: []},
      {meshNamespace: 'istio-system', namespaces: ['a', 'b']},
    )
    const w = plan.notes.filter((n) => n.level === 'warning').map((n) => n.text)
    expect(w).toEqual([
      'namespace b is in the member roll but not configured yet by the Service Mesh Operator (status.pendingMembers / configuredMembers): no sidecars are injected there yet; b/web gets sidecars only once it has, and pods started before need a new revision or restart',
    ])
  })
})
