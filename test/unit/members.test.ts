import {describe, expect, it} from 'vitest'
import {actionOf} from '../../src/change/plan.js'
import {desiredMemberRoll, kourierPolicy, planMembers} from '../../src/mesh/members.js'
import type {KObject} from '../../src/kube/types.js'

const live = (members: unknown, extra: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'maistra.io/v1',
  kind: 'ServiceMeshMemberRoll',
  metadata: {name: 'default', namespace: 'istio-system', resourceVersion: '7', labels: {owner: 'ops'}},
  spec: {members, ...extra},
})

describe('member roll planner', () => {
  it("creates the guide's member roll when none exists, knative namespaces first", () => {
    const smmr = desiredMemberRoll(null, 'istio-system', ['team-bravo-1'], [])
    expect(smmr).toEqual({
      apiVersion: 'maistra.io/v1',
      kind: 'ServiceMeshMemberRoll',
      metadata: {name: 'default', namespace: 'istio-system'},
      spec: {members: ['knative-serving', 'knative-eventing', 'team-bravo-1']},
    })
  })

  it('keeps existing members, their order, labels and unknown fields', () => {
    const before = live(['zeta', 'knative-serving'], {memberSelectors: [{matchLabels: {mesh: 'yes'}}]})
    const after = desiredMemberRoll(before, 'istio-system', ['alpha', 'zeta'], [])
    expect(after.spec.members).toEqual(['zeta', 'knative-serving', 'knative-eventing', 'alpha'])
    expect(after.spec.memberSelectors).toEqual([{matchLabels: {mesh: 'yes'}}])
    expect(after.metadata.labels).toEqual({owner: 'ops'})
    expect(before.spec.members).toEqual(['zeta', 'knative-serving']) // the live object is not mutated
  })

  it('is unchanged when everything is already a member', () => {
    const before = live(['knative-serving', 'knative-eventing', 'a'])
    expect(actionOf({live: before, desired: desiredMemberRoll(before, 'istio-system', ['a'], [])})).toBe('unchanged')
  })

  it('removes members but never the knative namespaces', () => {
    const after = desiredMemberRoll(live(['knative-serving', 'knative-eventing', 'a', 'b']), 'istio-system', [], ['a'])
    expect(after.spec.members).toEqual(['knative-serving', 'knative-eventing', 'b'])
  })

  it('tolerates a member roll with no spec or a null members list', () => {
    const bare: KObject = {apiVersion: 'maistra.io/v1', kind: 'ServiceMeshMemberRoll', metadata: {name: 'default', namespace: 'x'}}
    expect(desiredMemberRoll(bare, 'x', ['a'], []).spec.members).toEqual(['knative-serving', 'knative-eventing', 'a'])
    expect(desiredMemberRoll(live(null), 'x', [], []).spec.members).toEqual(['knative-serving', 'knative-eventing'])
  })

  it('warns about namespaces that do not exist, and fails on them with strict', () => {
    const state = {smmr: null, namespaces: new Set(['knative-serving', 'knative-eventing'])}
    const plan = planMembers(state, {meshNamespace: 'istio-system', add: ['ghost']})
    expect(plan.notes.some((n) => n.level === 'warning' && n.text.includes('ghost'))).toBe(true)
    expect(() => planMembers(state, {meshNamespace: 'istio-system', add: ['ghost'], strict: true})).toThrow(/ghost.*does not exist/)
  })

  it('renders the guide 1.6 NetworkPolicy exactly', () => {
    expect(kourierPolicy(null, 'my-app')).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {name: 'allow-from-serving-system-namespace', namespace: 'my-app'},
      spec: {
        ingress: [{from: [{namespaceSelector: {matchLabels: {'knative.openshift.io/part-of': 'openshift-serverless'}}}]}],
        podSelector: {},
        policyTypes: ['Ingress'],
      },
    })
  })

  it('plans the NetworkPolicy per added namespace with --kourier and deletes it on remove', () => {
    const np = kourierPolicy(null, 'old')
    np.metadata.resourceVersion = '3'
    const state = {smmr: live(['knative-serving', 'knative-eventing', 'old']), namespaces: null, policies: new Map([['old', np]])}
    const plan = planMembers(state, {meshNamespace: 'istio-system', remove: ['old'], kourier: true})
    expect(plan.items.map(actionOf)).toEqual(['update', 'delete'])
  })
})
