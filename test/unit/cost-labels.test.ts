import {describe, expect, it} from 'vitest'
import {actionOf} from '../../src/change/plan.js'
import {UsageError} from '../../src/errors.js'
import {auditCostLabels, costLabelChecks, parseCostLabels, planCostLabels, podLabelOwner, type CostLabelsState} from '../../src/mesh/cost-labels.js'
import type {KObject} from '../../src/kube/types.js'

const ns = (name: string, labels: Record<string, string>): KObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: {name, resourceVersion: '1', labels: {'kubernetes.io/metadata.name': name, ...labels}},
  spec: {finalizers: ['kubernetes']},
})

const ksvc = (namespace: string, name: string, templateLabels?: Record<string, string>, status?: Record<string, unknown>): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: {name, namespace, resourceVersion: '2'},
  spec: {template: {...(templateLabels ? {metadata: {labels: templateLabels, annotations: {keep: 'me'}}} : {}), spec: {containers: [{image: 'img'}]}}},
  ...(status ? {status} : {}),
})

const pod = (namespace: string, service: string, revision: string, labels: Record<string, string> = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `${revision}-deployment-x`,
    namespace,
    labels: {
      app: revision,
      'serving.knative.dev/service': service,
      'serving.knative.dev/revision': revision,
      'serving.knative.dev/configuration': service,
      'security.istio.io/tlsMode': 'istio',
      ...labels,
    },
  },
})

const state = (s: Partial<CostLabelsState>): CostLabelsState => ({namespaces: [], services: [], pods: [], missing: [], ...s})

describe('podLabelOwner', () => {
  it('knows the labels Knative, Istio and Kubernetes put on revision pods', () => {
    expect(podLabelOwner('app')).toBe('Knative')
    for (const k of ['service', 'serviceUID', 'configuration', 'configurationUID', 'configurationGeneration', 'revision', 'revisionUID'])
      expect(podLabelOwner(`serving.knative.dev/${k}`)).toBe('Knative')
    expect(podLabelOwner('security.istio.io/tlsMode')).toBe('Istio')
    expect(podLabelOwner('service.istio.io/canonical-name')).toBe('Istio')
    expect(podLabelOwner('pod-template-hash')).toBe('Kubernetes')
    expect(podLabelOwner('cost-center')).toBeUndefined()
    expect(podLabelOwner('app.kubernetes.io/name')).toBeUndefined()
  })
})

describe('auditCostLabels', () => {
  it("finds the guide's case: namespace app=my-domain, revision pods app=<revision name>, and says where costs are", () => {
    const f = auditCostLabels(
      state({
        namespaces: [ns('shop', {app: 'my-domain'})],
        services: [ksvc('shop', 'showcase')],
        pods: [pod('shop', 'showcase', 'showcase-00001'), pod('shop', 'showcase', 'showcase-00002')],
      }),
    )
    expect(f).toHaveLength(1)
    expect(f[0]).toMatchObject({
      namespace: 'shop',
      key: 'app',
      value: 'my-domain',
      setBy: 'Knative',
      severity: 'warning',
      services: [{name: 'showcase', values: ['showcase-00001', 'showcase-00002']}],
    })
    expect(f[0].message).toBe(
      'Knative sets app on the revision pods of 1 Knative Service(s), so cost queries by app=my-domain miss them; their costs are found under showcase: app=showcase-00001, app=showcase-00002',
    )
  })

  it('without pods (scaled to zero) names the latest revision from the status, else a placeholder', () => {
    const f = auditCostLabels(
      state({
        namespaces: [ns('shop', {app: 'my-domain'})],
        services: [ksvc('shop', 'a', undefined, {latestReadyRevisionName: 'a-00003'}), ksvc('shop', 'b')],
        pods: [],
      }),
    )
    expect(f[0].services).toEqual([
      {name: 'a', values: ['a-00003']},
      {name: 'b', values: ['<revision name of b>']},
    ])
  })

  it("an app label on the revision template equal to the namespace's is not missed; a different one is", () => {
    const same = auditCostLabels(state({namespaces: [ns('shop', {app: 'my-domain'})], services: [ksvc('shop', 'a', {app: 'my-domain'})]}))
    expect(same).toEqual([])
    const other = auditCostLabels(state({namespaces: [ns('shop', {app: 'my-domain'})], services: [ksvc('shop', 'a', {app: 'shop-a'})]}))
    expect(other[0].services).toEqual([{name: 'a', values: ['shop-a']}])
  })

  it('serving.knative.dev labels on a namespace are always overridden, even when the template sets them', () => {
    const f = auditCostLabels(
      state({namespaces: [ns('shop', {'serving.knative.dev/service': 'all'})], services: [ksvc('shop', 'a', {'serving.knative.dev/service': 'all'})]}),
    )
    expect(f[0]).toMatchObject({key: 'serving.knative.dev/service', setBy: 'Knative', services: [{name: 'a', values: ['a']}]})
  })

  it("Istio's security.istio.io/tlsMode on the namespace is missed too", () => {
    const f = auditCostLabels(
      state({namespaces: [ns('shop', {'security.istio.io/tlsMode': 'x'})], services: [ksvc('shop', 'a')], pods: [pod('shop', 'a', 'a-00001')]}),
    )
    expect(f[0]).toMatchObject({setBy: 'Istio', services: [{name: 'a', values: ['istio']}]})
  })

  it('a revision template that sets a namespace key to another value is a finding with a --set fix', () => {
    const f = auditCostLabels(
      state({
        namespaces: [ns('shop', {team: 'payments', owner: 'ops'})],
        services: [ksvc('shop', 'a', {team: 'checkout'}), ksvc('shop', 'b', {team: 'payments'})],
      }),
    )
    expect(f).toEqual([
      expect.objectContaining({
        key: 'team',
        value: 'payments',
        setBy: 'the revision template',
        services: [{name: 'a', values: ['checkout']}],
        fix: 'knmesh cost-labels -n shop --set team=payments',
      }),
    ])
  })

  it('labels pods inherit (no Knative Service sets them) and kubernetes.io/metadata.name are fine', () => {
    expect(
      auditCostLabels(state({namespaces: [ns('shop', {'cost-center': 'cc1'})], services: [ksvc('shop', 'a')], pods: [pod('shop', 'a', 'a-00001')]})),
    ).toEqual([])
  })

  it('a Knative-owned key on a namespace without Knative Services yet is an info finding', () => {
    const f = auditCostLabels(state({namespaces: [ns('empty', {app: 'my-domain'})]}))
    expect(f).toHaveLength(1)
    expect(f[0]).toMatchObject({severity: 'info', services: []})
    expect(f[0].message).toContain('will miss the Knative Services deployed here')
  })

  it('keeps namespaces apart', () => {
    const f = auditCostLabels(
      state({
        namespaces: [ns('a', {app: 'x'}), ns('b', {})],
        services: [ksvc('a', 's1'), ksvc('b', 's2')],
        pods: [pod('a', 's1', 's1-00001'), pod('b', 's2', 's2-00001')],
      }),
    )
    expect(f.map((x) => [x.namespace, x.services.map((s) => s.name)])).toEqual([['a', ['s1']]])
  })
})

describe('parseCostLabels', () => {
  it('parses key=value pairs, with prefixes and empty values', () => {
    expect(parseCostLabels(['cost-center=my-domain', 'example.com/team=a_b.c', 'empty='])).toEqual({
      'cost-center': 'my-domain',
      'example.com/team': 'a_b.c',
      empty: '',
    })
  })

  it('refuses keys Knative, Istio or Kubernetes set on revision pods', () => {
    expect(() => parseCostLabels(['app=my-domain'])).toThrow('app is set on Knative revision pods by Knative (app=<revision name>)')
    expect(() => parseCostLabels(['serving.knative.dev/service=x'])).toThrow(UsageError)
    expect(() => parseCostLabels(['serving.knative.dev/anything=x'])).toThrow(UsageError)
    expect(() => parseCostLabels(['security.istio.io/tlsMode=x'])).toThrow('by Istio')
    expect(() => parseCostLabels(['kubernetes.io/metadata.name=x'])).toThrow('reserved for Kubernetes')
  })

  it('refuses malformed labels in one line', () => {
    for (const bad of ['novalue', '=x', 'bad key=x', 'k=-x', `k=${'a'.repeat(64)}`, `${'a'.repeat(64)}=x`, 'UPPER.Prefix/k=x', '/k=x']) {
      expect(() => parseCostLabels([bad]), bad).toThrow(UsageError)
    }
    expect(() => parseCostLabels(['a=1', 'a=2'])).toThrow('--set a given twice with different values')
  })
})

describe('planCostLabels', () => {
  it('labels the namespace and the revision templates, keeping other labels and fields', () => {
    const s = state({namespaces: [ns('shop', {team: 't'})], services: [ksvc('shop', 'a', {team: 'checkout'}), ksvc('shop', 'b')]})
    const plan = planCostLabels(s, {labels: {'cost-center': 'cc1'}})
    expect(plan.items.map(actionOf)).toEqual(['update', 'update', 'update'])
    expect(plan.items[0].desired!.metadata.labels).toEqual({'kubernetes.io/metadata.name': 'shop', team: 't', 'cost-center': 'cc1'})
    expect(plan.items[0].desired!.spec).toEqual({finalizers: ['kubernetes']})
    expect(plan.items[1].desired!.spec.template.metadata).toEqual({labels: {team: 'checkout', 'cost-center': 'cc1'}, annotations: {keep: 'me'}})
    expect(plan.items[2].desired!.spec.template).toEqual({metadata: {labels: {'cost-center': 'cc1'}}, spec: {containers: [{image: 'img'}]}})
    expect(plan.notes[0].text).toBe('2 Knative Service(s) roll out a new revision whose pods carry the label: shop/a, shop/b')
  })

  it('is unchanged on a second run and then says nothing about rollouts', () => {
    const first = planCostLabels(state({namespaces: [ns('shop', {})], services: [ksvc('shop', 'a')]}), {labels: {cc: '1'}})
    const again = planCostLabels(
      state({
        namespaces: first.items.filter((i) => i.desired!.kind === 'Namespace').map((i) => i.desired!),
        services: first.items.filter((i) => i.desired!.kind === 'Service').map((i) => i.desired!),
      }),
      {labels: {cc: '1'}},
    )
    expect(again.items.map(actionOf)).toEqual(['unchanged', 'unchanged'])
    expect(again.notes).toEqual([])
  })

  it('refuses namespaces that do not exist, or skips them with a warning (--all-members)', () => {
    expect(() => planCostLabels(state({missing: ['nope']}), {labels: {cc: '1'}})).toThrow('namespace nope not found')
    const plan = planCostLabels(state({namespaces: [ns('a', {})], missing: ['b', 'c']}), {labels: {cc: '1'}, skipMissing: true})
    expect(plan.items).toHaveLength(1)
    expect(plan.notes).toEqual([{level: 'warning', text: 'namespaces b, c not found: skipped'}])
  })
})

describe('costLabelChecks (for status)', () => {
  it('turns warnings into checks with their fix and leaves info findings out', () => {
    const findings = auditCostLabels(
      state({
        namespaces: [ns('shop', {app: 'my-domain'}), ns('empty', {app: 'x'})],
        services: [ksvc('shop', 'a', undefined, {latestReadyRevisionName: 'a-00001'})],
      }),
    )
    const checks = costLabelChecks(findings)
    expect(checks).toEqual([
      {
        id: 'cost-labels/shop/app',
        status: 'warning',
        detail: expect.stringContaining('shop: Knative sets app on the revision pods of 1 Knative Service(s)'),
        fix: 'knmesh cost-labels -n shop --set cost-center=my-domain',
      }, // issue 18 item 8: a runnable fix (was "<another key>")
    ])
    expect(costLabelChecks([])).toEqual([{id: 'cost-labels', status: 'ok', detail: 'Knative revision pods carry every namespace label'}])
  })
})

describe('a fix the audit prints makes its own check pass (issue 18 item 8)', () => {
  it('app=my-domain is resolved once cost-center=my-domain is on the namespace and on every revision template', () => {
    const before = auditCostLabels(
      state({namespaces: [ns('shop', {app: 'my-domain'})], services: [ksvc('shop', 'a', undefined, {latestReadyRevisionName: 'a-00001'})]}),
    )
    expect(before.map((f) => [f.severity, f.fix])).toEqual([['warning', 'knmesh cost-labels -n shop --set cost-center=my-domain']])
    // What the fix does: the label on the namespace and on the revision template.
    const after = auditCostLabels(
      state({
        namespaces: [ns('shop', {app: 'my-domain', 'cost-center': 'my-domain'})],
        services: [ksvc('shop', 'a', {'cost-center': 'my-domain'}, {latestReadyRevisionName: 'a-00002'})],
      }),
    )
    expect(after.map((f) => [f.key, f.severity, f.fix])).toEqual([['app', 'info', '']])
    expect(after[0].message).toContain('query by cost-center=my-domain instead')
    expect(costLabelChecks(after)).toEqual([{id: 'cost-labels', status: 'ok', detail: 'Knative revision pods carry every namespace label'}])
    // Not resolved while a revision template sets that key to another value (its pods are missed under it too).
    const other = auditCostLabels(
      state({
        namespaces: [ns('shop', {app: 'my-domain', 'cost-center': 'my-domain'})],
        services: [ksvc('shop', 'a', {'cost-center': 'x'}, {latestReadyRevisionName: 'a-00001'})],
      }),
    )
    expect(
      other
        .filter((f) => f.severity === 'warning')
        .map((f) => f.key)
        .sort(),
    ).toEqual(['app', 'cost-center'])
  })
  it('suggests a key the namespace does not use yet', () => {
    const f = auditCostLabels(
      state({
        namespaces: [ns('shop', {app: 'my-domain', 'cost-center': 'cc-7'})],
        services: [ksvc('shop', 'a', undefined, {latestReadyRevisionName: 'a-00001'})],
      }),
    )
    expect(f.find((x) => x.key === 'app')?.fix).toBe('knmesh cost-labels -n shop --set cost-domain=my-domain')
  })
})

describe('who sets app', () => {
  it('names the revision template when the services set app themselves, Knative when it writes the revision name', () => {
    const mk = (services: KObject[]) => auditCostLabels(state({namespaces: [ns('shop', {app: 'my-domain'})], services}))[0].setBy
    expect(mk([ksvc('shop', 'a', {app: 'shop-a'})])).toBe('the revision template')
    expect(mk([ksvc('shop', 'a')])).toBe('Knative')
    expect(mk([ksvc('shop', 'a', {app: 'shop-a'}), ksvc('shop', 'b')])).toBe('Knative and the revision template')
  })
})
