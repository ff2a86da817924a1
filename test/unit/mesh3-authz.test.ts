import {describe, expect, it} from 'vitest'
import {actionOf, changesOf} from '../../src/change/plan.js'
import type {KObject} from '../../src/kube/types.js'
import {desiredAnnotated3, injectionBlocker, meshAnnotationFindings3, planAnnotateServices3} from '../../src/mesh/annotate3.js'
import {injectedNamespace} from '../../src/mesh/members3.js'
import {Authorizer, ksvcInjection3, predict, tenantMatrix, type MeshView} from '../../src/mesh/probe.js'
import {renderTenant} from '../../src/mesh/tenant-authz.js'
import {defaultPolicies3, planTenantAuthz3, servingReadiness, type TenantAuthz3State} from '../../src/mesh/tenant-authz3.js'

const istio = (rev = 'default'): KObject => ({
  apiVersion: 'sailoperator.io/v1',
  kind: 'Istio',
  metadata: {name: 'default'},
  spec: {namespace: 'istio-system'},
  status: {activeRevisionName: rev},
})
const ns = (name: string, labels: Record<string, string> = {}): KObject => ({apiVersion: 'v1', kind: 'Namespace', metadata: {name, labels}})
const ready = (status = 'True'): KObject => ({
  apiVersion: 'operator.knative.dev/v1beta1',
  kind: 'KnativeServing',
  metadata: {name: 'knative-serving', namespace: 'knative-serving'},
  status: {conditions: [{type: 'Ready', status}]},
})
const base = {meshNamespace: 'istio-system', clusterDomain: 'cluster.local'}

function state(over: Partial<TenantAuthz3State> = {}): TenantAuthz3State {
  return {
    meshNamespace: 'istio-system',
    policies: [],
    namespaces: new Map([['t-1', ns('t-1')]]),
    istio: istio(),
    serving: ready(),
    peerAuthentications: [],
    ...over,
  }
}
const live = (o: KObject): KObject => ({...o, metadata: {...o.metadata, resourceVersion: '5', uid: 'u'}})

describe('planTenantAuthz3 (service-mesh-3.md N15, N16)', () => {
  it('--defaults: every ALLOW and autoscaler-permissive before the two deny-all-by-default, all security.istio.io/v1', () => {
    const plan = planTenantAuthz3(state(), {...base, defaults: true})
    const names = plan.items.map((i) => `${i.desired!.kind}/${i.desired!.metadata.namespace}/${i.desired!.metadata.name}`)
    expect(names.slice(-2)).toEqual(['AuthorizationPolicy/knative-eventing/deny-all-by-default', 'AuthorizationPolicy/knative-serving/deny-all-by-default'])
    expect(names.filter((n) => n.includes('deny-all'))).toHaveLength(2)
    expect(names).toContain('PeerAuthentication/knative-serving/autoscaler-permissive')
    expect(names).toContain('AuthorizationPolicy/knative-serving-ingress/allow-traffic-to-ingress-gateway')
    for (const i of plan.items) expect(i.desired!.apiVersion).toBe('security.istio.io/v1')
    const act = defaultPolicies3().find((p) => p.metadata.name === 'allow-traffic-to-activator')!
    expect(act.spec.rules).toEqual([{from: [{source: {namespaces: ['knative-serving', 'knative-serving-ingress']}}]}])
  })

  it('rerun: nothing to do; a live v1beta1-era policy naming istio-system is updated in place (uid kept) with a note', () => {
    const done = planTenantAuthz3(state(), {...base, defaults: true}).items.map((i) => live(i.desired!))
    const pas = done.filter((o) => o.kind === 'PeerAuthentication')
    expect(
      changesOf(planTenantAuthz3(state({policies: done.filter((o) => o.kind !== 'PeerAuthentication'), peerAuthentications: pas}), {...base, defaults: true})),
    ).toEqual([])
    const old = live({
      ...defaultPolicies3().find((p) => p.metadata.name === 'allow-traffic-to-activator')!,
      metadata: {name: 'allow-traffic-to-activator', namespace: 'knative-serving', labels: {owner: 'x'}},
    })
    old.spec = {...old.spec, rules: [{from: [{source: {namespaces: ['knative-serving', 'istio-system']}}]}]}
    const plan = planTenantAuthz3(state({policies: [old]}), {...base, defaults: true})
    const item = plan.items.find((i) => i.live === old)!
    expect(actionOf(item)).toBe('update')
    expect(item.desired!.metadata).toMatchObject({uid: 'u', labels: {owner: 'x'}})
    expect(plan.notes.map((n) => n.text).join('\n')).toContain('no longer names istio-system')
  })

  it('a tenant: 11 policies with job-sink and knative-serving-ingress; a namespace without the injection label is warned about, --add-to-mesh labels it', () => {
    const plan = planTenantAuthz3(state(), {...base, tenant: 't', add: ['t-1']})
    const aps = plan.items.filter((i) => i.desired?.kind === 'AuthorizationPolicy')
    expect(aps).toHaveLength(11)
    expect(aps.map((i) => i.desired!.metadata.name)).toContain('allow-t-to-job-sink')
    expect(plan.notes.some((n) => n.level === 'warning' && n.text.includes('t-1 is not labeled istio-injection=enabled'))).toBe(true)
    const withMesh = planTenantAuthz3(state(), {...base, tenant: 't', add: ['t-1'], addToMesh: true})
    const nsItem = withMesh.items.find((i) => i.desired?.kind === 'Namespace')!
    expect(nsItem.desired!.metadata.labels).toEqual({'istio-injection': 'enabled'})
    const labeled = planTenantAuthz3(state({namespaces: new Map([['t-1', ns('t-1', {'istio-injection': 'enabled'})]])}), {...base, tenant: 't', add: ['t-1']})
    expect(labeled.notes.filter((n) => n.level === 'warning')).toEqual([])
  })

  it('refuses writes into knative-serving until KnativeServing is Ready; deleting is not held back', () => {
    expect(() => planTenantAuthz3(state({serving: null}), {...base, defaults: true})).toThrow(
      /KnativeServing knative-serving\/knative-serving is not Ready \(absent\)/,
    )
    expect(() => planTenantAuthz3(state({serving: ready('False')}), {...base, tenant: 't', add: ['t-1']})).toThrow(/Ready=False/)
    const policies = renderTenant({name: 't', namespaces: ['t-1'], ...base, serving: true, eventing: true, generation: 3}).map(live)
    expect(changesOf(planTenantAuthz3(state({serving: null, policies}), {...base, tenant: 't', delete: true}))).toHaveLength(11)
    // Nothing to write: no refusal either.
    expect(changesOf(planTenantAuthz3(state({serving: ready('False'), policies}), {...base, tenant: 't'}))).toEqual([])
  })

  it('servingReadiness names the state', () => {
    expect(servingReadiness(ready())).toBe('True')
    expect(servingReadiness({...ready(), status: {}})).toBe('no Ready condition yet')
  })
})

describe('annotate-services on Service Mesh 3 (N5, N11)', () => {
  const svc = (ns: string, template: Record<string, unknown>): KObject => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {name: 's', namespace: ns, resourceVersion: '1'},
    spec: {template: {metadata: template, spec: {}}},
  })

  it('label instead of annotation, rewriteAppHTTPProbers, passthrough; everything else kept', () => {
    const live = svc('a', {annotations: {'sidecar.istio.io/inject': 'true', keep: 'me'}, labels: {team: 'x'}})
    const d = desiredAnnotated3(live)
    expect(d.spec.template.metadata).toEqual({
      labels: {team: 'x', 'sidecar.istio.io/inject': 'true'},
      annotations: {keep: 'me', 'sidecar.istio.io/rewriteAppHTTPProbers': 'true'},
    })
    expect(d.metadata.annotations).toEqual({'serving.knative.openshift.io/enablePassthrough': 'true'})
    expect(meshAnnotationFindings3(d)).toEqual([])
    expect(meshAnnotationFindings3(live)).toHaveLength(4)
  })

  it('says when the label alone does not inject: injection turned off in the namespace, another revision', () => {
    expect(injectionBlocker(ns('a'), istio())).toBeNull()
    expect(injectionBlocker(ns('a', {'istio-injection': 'disabled'}), istio())).toContain('istio-injection=disabled')
    expect(injectionBlocker(ns('a'), istio('default-v1-27-latest'))).toContain('label the namespace istio.io/rev=default-v1-27-latest')
    expect(injectionBlocker(ns('a', {'istio.io/rev': 'default-v1-27-latest'}), istio('default-v1-27-latest'))).toBeNull()
    const plan = planAnnotateServices3(
      {services: [svc('a', {})], istio: istio(), namespaces: new Map([['a', ns('a', {'istio-injection': 'disabled'})]]), missing: []},
      {meshNamespace: 'istio-system', namespaces: ['a']},
    )
    expect(plan.notes.some((n) => n.level === 'warning' && n.text.includes('a/s: not injected even with the label'))).toBe(true)
  })
})

describe('probe on Service Mesh 3 (N5, N17)', () => {
  const tenants = ['alpha', 'bravo'].flatMap((t) => renderTenant({name: t, namespaces: [`${t}-1`], ...base, serving: true, eventing: false, generation: 3}))
  const view = (port = 8081, labels: Record<string, string> = {'istio-injection': 'enabled'}): MeshView => ({
    policies: [...defaultPolicies3(), ...tenants],
    peerAuthentications: [
      {
        apiVersion: 'security.istio.io/v1',
        kind: 'PeerAuthentication',
        metadata: {name: 'mesh-mtls', namespace: 'istio-system'},
        spec: {mtls: {mode: 'STRICT'}},
      },
    ],
    smmr: null,
    meshNamespace: 'istio-system',
    mesh3: {
      istio: istio(),
      namespaces: new Map([
        ['alpha-1', ns('alpha-1', labels)],
        ['bravo-1', ns('bravo-1', labels)],
        ['plain', ns('plain')],
      ]),
      localGatewayPort: port,
    },
  })

  it('injection from namespace labels: same tenant allowed, cross-tenant denied, the matrix isolated', () => {
    const az = new Authorizer(view())
    expect(predict(az, {from: 'alpha-1', to: 'alpha-1', service: 'w', external: false}).verdict).toBe('allow')
    const cross = predict(az, {from: 'alpha-1', to: 'bravo-1', service: 'w', external: false})
    expect(cross.verdict).toBe('deny')
    expect(cross.paths[1].hops[0].mtls).toBe('mTLS STRICT (istio-system/mesh-mtls)')
    expect(tenantMatrix(view()).violations).toEqual([])
    expect(injectedNamespace(ns('x', {'istio.io/rev': 'default'}), istio())).toBe(true)
  })

  it('external: through knative-serving-ingress, admitted by allow-traffic-to-ingress-gateway on 8443', () => {
    const p = predict(new Authorizer(view()), {from: 'alpha-1', to: 'bravo-1', service: 'w', external: true})
    expect(p.paths[0].hops[0]).toMatchObject({
      to: 'knative-serving-ingress/knative-istio-ingressgateway',
      decision: {verdict: 'allow', policy: {name: 'allow-traffic-to-ingress-gateway'}},
    })
    expect(p.verdict).toBe('allow')
  })

  it('a caller without a sidecar goes through the local gateway: denied on the docs port 8081, allowed on 8080', () => {
    const docs = predict(new Authorizer(view(8081)), {from: 'plain', to: 'alpha-1', service: 'w', external: false})
    expect(docs.paths.map((p) => p.name)).toEqual([
      'via knative-local-gateway.knative-serving-ingress.svc.cluster.local and activator',
      'via knative-local-gateway.knative-serving-ingress.svc.cluster.local, direct to the pod',
    ])
    expect(docs.verdict).toBe('deny')
    expect(docs.paths[0].hops[0].mtls).toBe('plain HTTP into the gateway: no peer identity')
    expect(predict(new Authorizer(view(8080)), {from: 'plain', to: 'alpha-1', service: 'w', external: false}).verdict).toBe('allow')
  })

  it('ksvcInjection3: the annotation alone injects nothing in an unlabeled namespace; the label does (default revision)', () => {
    const k = (template: Record<string, unknown>): KObject => ({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {name: 'w', namespace: 'plain'},
      spec: {template: {metadata: template}},
    })
    const annotated = ksvcInjection3(k({annotations: {'sidecar.istio.io/inject': 'true'}}), ns('plain'), istio())
    expect(annotated.injected).toBe(false)
    expect(annotated.reason).toContain('it has only the annotation sidecar.istio.io/inject, which Service Mesh 3 ignores')
    expect(ksvcInjection3(k({labels: {'sidecar.istio.io/inject': 'true'}}), ns('plain'), istio())).toEqual({injected: true})
    expect(ksvcInjection3(k({labels: {'sidecar.istio.io/inject': 'true'}}), ns('plain'), istio('rev-2')).injected).toBe(false)
    expect(ksvcInjection3(k({}), ns('plain', {'istio-injection': 'enabled'}), istio())).toEqual({injected: true})
    const p = predict(new Authorizer(view()), {from: 'alpha-1', to: 'plain', service: 'w', external: false, targetInjection: annotated})
    expect(p.paths[1].hops[0].decision.reason).toContain('which Service Mesh 3 ignores')
  })
})
