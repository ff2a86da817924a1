import {describe, expect, it} from 'vitest'
import {changesOf} from '../../src/change/plan.js'
import type {KObject} from '../../src/kube/types.js'
import {desiredAnnotated, meshAnnotationFindings, planAnnotateServices, PASSTHROUGH_ANNOTATION} from '../../src/mesh/annotate.js'
import {allowsMonitoring, metricsFindings, MONITORING_POLICY, monitoringPolicy, planEnableMetrics} from '../../src/mesh/metrics.js'
import {desiredSmcp, ensureExcludedPorts, missingExcludedPorts} from '../../src/mesh/smcp.js'

const ksvc = (ns: string, name: string, extra: Partial<KObject> = {}): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: {name, namespace: ns, resourceVersion: '1', annotations: {team: 'web'}},
  spec: {template: {metadata: {annotations: {'autoscaling.knative.dev/min-scale': '1'}}, spec: {containers: [{image: 'quay.io/x/hello'}]}}},
  ...extra,
})

describe('annotate-services planner (guide 1.4.4)', () => {
  it("adds exactly the guide's three annotations and keeps the others", () => {
    const d = desiredAnnotated(ksvc('a', 'hello'))
    expect(d.metadata.annotations).toEqual({team: 'web', [PASSTHROUGH_ANNOTATION]: 'true'})
    expect(d.spec.template.metadata.annotations).toEqual({
      'autoscaling.knative.dev/min-scale': '1',
      'sidecar.istio.io/inject': 'true',
      'sidecar.istio.io/rewriteAppHTTPProbers': 'true',
    })
    expect(d.spec.template.spec).toEqual({containers: [{image: 'quay.io/x/hello'}]})
    expect(meshAnnotationFindings(d)).toEqual([])
  })

  it('creates the template metadata when a service has none, and fixes a "false"', () => {
    const bare = ksvc('a', 'b', {spec: {template: {spec: {containers: [{image: 'x'}]}}}})
    bare.metadata.annotations = {'sidecar.istio.io/inject': 'false'}
    const f = meshAnnotationFindings(bare)
    expect(f).toHaveLength(3)
    expect(desiredAnnotated(bare).spec.template.metadata.annotations['sidecar.istio.io/inject']).toBe('true')
  })

  it('says which services roll out a revision and which are outside the mesh; nothing on a second run', () => {
    const plan = planAnnotateServices(
      {services: [ksvc('a', 'one'), ksvc('b', 'two')], members: ['a'], missing: []},
      {meshNamespace: 'istio-system', namespaces: ['a', 'b']},
    )
    expect(changesOf(plan)).toHaveLength(2)
    const text = plan.notes.map((n) => `${n.level}: ${n.text}`).join('\n')
    expect(text).toContain('info: 2 Knative Service(s) will roll out a new revision')
    expect(text).toMatch(/warning: 1 service\(s\) in namespace\(s\) that are not mesh members of istio-system \(b\): b\/two/)
    const done = planAnnotateServices(
      {services: plan.items.map((i) => i.desired!), members: ['a', 'b'], missing: []},
      {meshNamespace: 'istio-system', namespaces: ['a', 'b']},
    )
    expect(changesOf(done)).toEqual([])
    expect(done.notes).toEqual([])
  })
})

const serving = (spec: object = {}): KObject => ({
  apiVersion: 'operator.knative.dev/v1beta1',
  kind: 'KnativeServing',
  metadata: {name: 'knative-serving', namespace: 'knative-serving'},
  spec,
})
const smcp = (spec: object = {}): KObject => ({
  apiVersion: 'maistra.io/v2',
  kind: 'ServiceMeshControlPlane',
  metadata: {name: 'basic', namespace: 'istio-system'},
  spec,
})
const np = (name: string, spec: object): KObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: {name, namespace: 'knative-serving'},
  spec,
})

describe('enable-metrics planner (guide 1.5)', () => {
  it('plans the three steps exactly as the guide shows them', () => {
    const plan = planEnableMetrics(
      {serving: serving({config: {istio: {a: 'b'}}}), policies: [], smcps: [smcp({proxy: {networking: {trafficControl: {inbound: {excludedPorts: [9000]}}}}})]},
      {meshNamespace: 'istio-system'},
    )
    const [ks, pol, cp] = plan.items.map((i) => i.desired!)
    expect(ks.spec.config).toEqual({istio: {a: 'b'}, observability: {'metrics.backend-destination': 'prometheus'}})
    expect(pol).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {name: MONITORING_POLICY, namespace: 'knative-serving'},
      spec: {ingress: [{from: [{namespaceSelector: {matchLabels: {name: 'openshift-monitoring'}}}]}], podSelector: {}},
    })
    expect(cp.spec.proxy.networking.trafficControl.inbound.excludedPorts).toEqual([9000, 8444])
  })

  it('leaves the policy alone when an equivalent one exists, and is a no-op once done', () => {
    const other = np('allow-monitoring', {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{from: [{namespaceSelector: {matchLabels: {name: 'openshift-monitoring'}}}]}],
    })
    const plan = planEnableMetrics({serving: serving(), policies: [other], smcps: [smcp()]}, {meshNamespace: 'istio-system'})
    expect(plan.items.map((i) => i.desired!.kind)).toEqual(['KnativeServing', 'ServiceMeshControlPlane'])
    expect(plan.notes[0].text).toContain('allow-monitoring already lets openshift-monitoring in')
    const state = {serving: plan.items[0].desired!, policies: [other], smcps: [plan.items[1].desired!]}
    expect(changesOf(planEnableMetrics(state, {meshNamespace: 'istio-system'}))).toEqual([])
    expect(metricsFindings(state, {meshNamespace: 'istio-system'})).toEqual([])
  })

  it('knows what is not equivalent', () => {
    const rule = (peer: object, extra: object = {}) => np('p', {podSelector: {}, ingress: [{from: [peer], ...extra}]})
    expect(allowsMonitoring(rule({namespaceSelector: {matchLabels: {name: 'openshift-monitoring'}}}))).toBe(true)
    expect(allowsMonitoring(rule({namespaceSelector: {}}))).toBe(true)
    expect(allowsMonitoring(np('p', {podSelector: {}, ingress: [{}]}))).toBe(true)
    expect(allowsMonitoring(rule({namespaceSelector: {matchLabels: {name: 'other'}}}))).toBe(false)
    expect(allowsMonitoring(rule({namespaceSelector: {matchLabels: {name: 'openshift-monitoring'}}, podSelector: {matchLabels: {app: 'prom'}}}))).toBe(false)
    expect(allowsMonitoring(rule({namespaceSelector: {matchLabels: {name: 'openshift-monitoring'}}}, {ports: [{port: 9090}]}))).toBe(false)
    expect(allowsMonitoring(np('p', {podSelector: {matchLabels: {app: 'x'}}, ingress: [{}]}))).toBe(false)
    expect(allowsMonitoring(np('p', {podSelector: {}, policyTypes: ['Egress'], ingress: [{}]}))).toBe(false)
  })

  it('repairs a named policy that drifted, keeping its labels', () => {
    const drifted = np(MONITORING_POLICY, {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {name: 'nope'}}}]}]})
    drifted.metadata.labels = {owner: 'me'}
    const d = monitoringPolicy(drifted)
    expect(d.metadata.labels).toEqual({owner: 'me'})
    expect(d.spec.ingress[0].from[0].namespaceSelector.matchLabels).toEqual({name: 'openshift-monitoring'})
  })

  it('refuses clearly without KnativeServing or a single control plane', () => {
    expect(() => planEnableMetrics({serving: null, policies: [], smcps: [smcp()]}, {meshNamespace: 'istio-system'})).toThrow(/no KnativeServing/)
    expect(() => planEnableMetrics({serving: serving(), policies: [], smcps: []}, {meshNamespace: 'istio-system'})).toThrow(/configure-mesh --create/)
    const two = [smcp(), {...smcp(), metadata: {name: 'other', namespace: 'istio-system'}}]
    expect(() => planEnableMetrics({serving: serving(), policies: [], smcps: two}, {meshNamespace: 'istio-system'})).toThrow(/choose one with --name/)
    expect(
      planEnableMetrics({serving: serving(), policies: [], smcps: two}, {meshNamespace: 'istio-system', smcpName: 'other'}).items[2].live!.metadata.name,
    ).toBe('other')
  })
})

describe('excluded ports: one helper for configure-mesh and enable-metrics', () => {
  it('adds only what is missing, string ports count', () => {
    const s = smcp({proxy: {networking: {trafficControl: {inbound: {excludedPorts: ['8444', 15090]}}}}})
    expect(missingExcludedPorts(s, [8444, 8022])).toEqual([8022])
    expect(ensureExcludedPorts(s, [8444]).spec.proxy.networking.trafficControl.inbound.excludedPorts).toEqual(['8444', 15090])
    expect(desiredSmcp(smcp(), 'istio-system').spec.proxy.networking.trafficControl.inbound.excludedPorts).toEqual([8444, 8022])
  })
})
