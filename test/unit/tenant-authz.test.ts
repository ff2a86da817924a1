import {describe, expect, it} from 'vitest'
import {actionOf, changesOf} from '../../src/change/plan.js'
import type {KObject} from '../../src/kube/types.js'
import {
  defaultPolicies,
  planTenantAuthz,
  renderTenant,
  TENANT_LABEL,
  tenantsOf,
  type TenantAuthzInput,
  type TenantAuthzState,
} from '../../src/mesh/tenant-authz.js'

const base = {meshNamespace: 'istio-system', clusterDomain: 'cluster.local'}
const smmr = (members: string[]): KObject => ({
  apiVersion: 'maistra.io/v1',
  kind: 'ServiceMeshMemberRoll',
  metadata: {name: 'default', namespace: 'istio-system'},
  spec: {members},
})
const NS = new Set(['team-alpha-1', 'team-alpha-2', 'team-alpha-3', 'team-bravo-1', 'team-bravo-2', 'knative-serving', 'knative-eventing', 'istio-system'])

/** Applies a plan to an in-memory "cluster" so the next plan sees its result. */
function apply(state: TenantAuthzState, input: TenantAuthzInput): TenantAuthzState {
  const plan = planTenantAuthz(state, input)
  const key = (o: KObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`
  const objs = new Map(state.policies.map((p) => [key(p), p]))
  let roll = state.smmr
  for (const c of changesOf(plan)) {
    const o = (c.desired ?? c.live)!
    if (o.kind === 'ServiceMeshMemberRoll') roll = c.desired
    else if (c.desired) objs.set(key(o), {...structuredClone(c.desired), metadata: {...c.desired.metadata, resourceVersion: '1'}})
    else objs.delete(key(o))
  }
  return {policies: [...objs.values()], smmr: roll, namespaces: state.namespaces}
}

const empty = (): TenantAuthzState => ({
  policies: [],
  smmr: smmr(['knative-serving', 'knative-eventing', 'team-alpha-1', 'team-alpha-2', 'team-alpha-3', 'team-bravo-1', 'team-bravo-2']),
  namespaces: NS,
})
const names = (s: TenantAuthzState, tenant: string) =>
  s.policies
    .filter((p) => p.metadata.labels?.[TENANT_LABEL] === tenant)
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
    .sort()

describe('renderTenant (chart 1.32 values)', () => {
  const objs = renderTenant({name: 'team-alpha', namespaces: ['team-alpha-1', 'team-alpha-2'], ...base, serving: true, eventing: true})
  const get = (ns: string, name: string) => objs.find((o) => o.metadata.namespace === ns && o.metadata.name === name)!

  it('renders the reference set: 2 per namespace + activator + 5 receivers + 2 replies', () => {
    expect(objs.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'knative-eventing/allow-team-alpha-kafka-broker-reply',
      'knative-eventing/allow-team-alpha-mt-channel-based-broker-reply',
      'knative-eventing/allow-team-alpha-to-broker-ingress',
      'knative-eventing/allow-team-alpha-to-ekb',
      'knative-eventing/allow-team-alpha-to-ekc',
      'knative-eventing/allow-team-alpha-to-eks',
      'knative-eventing/allow-team-alpha-to-imc',
      'knative-serving/allow-team-alpha-to-activator',
      'team-alpha-1/allow-from-knative-and-istio',
      'team-alpha-1/allow-wait-for-drain',
      'team-alpha-2/allow-from-knative-and-istio',
      'team-alpha-2/allow-wait-for-drain',
    ])
    for (const o of objs) {
      expect(o.apiVersion).toBe('security.istio.io/v1beta1')
      expect(o.spec.action).toBe('ALLOW')
      expect(o.metadata.labels).toEqual({'app.kubernetes.io/managed-by': 'knmesh', [TENANT_LABEL]: 'team-alpha'})
    }
  })

  it('allow-from-knative-and-istio: tenant namespaces + knative-serving + mesh namespace; knative-eventing with Kn-Namespace', () => {
    expect(get('team-alpha-2', 'allow-from-knative-and-istio').spec).toEqual({
      action: 'ALLOW',
      rules: [
        {from: [{source: {namespaces: ['team-alpha-1', 'team-alpha-2', 'knative-serving', 'istio-system']}}]},
        {from: [{source: {namespaces: ['knative-eventing']}}], when: [{key: 'request.headers[Kn-Namespace]', values: ['team-alpha-1', 'team-alpha-2']}]},
      ],
    })
  })

  it('allow-wait-for-drain: port 8022', () => {
    expect(get('team-alpha-1', 'allow-wait-for-drain').spec).toEqual({action: 'ALLOW', rules: [{to: [{operation: {ports: ['8022']}}]}]})
  })

  it('activator: tenant namespaces to the tenant hosts; senders with Kn-Namespace', () => {
    const hosts = [
      '*.team-alpha-1',
      '*.team-alpha-1.svc',
      '*.team-alpha-1.svc.cluster.local',
      '*.team-alpha-2',
      '*.team-alpha-2.svc',
      '*.team-alpha-2.svc.cluster.local',
    ]
    const spec = get('knative-serving', 'allow-team-alpha-to-activator').spec
    expect(spec.selector).toEqual({matchLabels: {'app.kubernetes.io/component': 'activator'}})
    expect(spec.rules[0]).toEqual({from: [{source: {namespaces: ['team-alpha-1', 'team-alpha-2']}}], to: [{operation: {hosts}}]})
    expect(spec.rules[1].from[0].source.principals).toEqual([
      'cluster.local/ns/knative-eventing/sa/pingsource-mt-adapter',
      'cluster.local/ns/knative-eventing/sa/imc-dispatcher',
      'cluster.local/ns/knative-eventing/sa/mt-broker-filter',
      'cluster.local/ns/knative-eventing/sa/knative-kafka-source-data-plane',
      'cluster.local/ns/knative-eventing/sa/knative-kafka-broker-data-plane',
      'cluster.local/ns/knative-eventing/sa/knative-kafka-channel-data-plane',
    ])
    expect(spec.rules[1].to[0].operation.hosts).toEqual(hosts)
    expect(spec.rules[1].when).toEqual([{key: 'request.headers[Kn-Namespace]', values: ['team-alpha-1', 'team-alpha-2']}])
  })

  it('eventing receivers: three rules (tenant → paths or hosts; senders → hosts; senders → paths) with their selectors', () => {
    const sel = (n: string) => get('knative-eventing', n).spec.selector.matchLabels['app.kubernetes.io/component']
    expect(['imc', 'ekb', 'ekc', 'eks', 'broker-ingress'].map((s) => sel(`allow-team-alpha-to-${s}`))).toEqual([
      'imc-dispatcher',
      'kafka-broker-receiver',
      'kafka-channel-receiver',
      'kafka-sink-receiver',
      'broker-ingress',
    ])
    const r = get('knative-eventing', 'allow-team-alpha-to-imc').spec.rules
    expect(r).toHaveLength(3)
    expect(r[0].from).toEqual([{source: {namespaces: ['team-alpha-1', 'team-alpha-2']}}])
    expect(r[0].to[0].operation.paths).toEqual(['/team-alpha-1/*', '/team-alpha-2/*'])
    expect(r[0].to[1].operation.hosts[0]).toBe('*.team-alpha-1')
    expect(r[2].to[0].operation.paths).toEqual(['/team-alpha-1/*', '/team-alpha-2/*'])
    expect(r[2].when[0].values).toEqual(['team-alpha-1', 'team-alpha-2'])
    expect(sel('allow-team-alpha-kafka-broker-reply')).toBe('kafka-broker-receiver')
    expect(get('knative-eventing', 'allow-team-alpha-kafka-broker-reply').spec.rules[0].from[0].source.principals).toEqual([
      'cluster.local/ns/knative-eventing/sa/knative-kafka-broker-data-plane',
    ])
    expect(get('knative-eventing', 'allow-team-alpha-mt-channel-based-broker-reply').spec.rules[0].from[0].source.principals).toEqual([
      'cluster.local/ns/knative-eventing/sa/imc-dispatcher',
      'cluster.local/ns/knative-eventing/sa/mt-broker-filter',
      'cluster.local/ns/knative-eventing/sa/knative-kafka-channel-data-plane',
    ])
  })

  it('--no-eventing drops eventing objects and rules; --no-serving drops wait-for-drain and the serving rules; custom domain and mesh namespace', () => {
    const noEv = renderTenant({name: 't', namespaces: ['a'], ...base, serving: true, eventing: false})
    expect(noEv.map((o) => o.metadata.name).sort()).toEqual(['allow-from-knative-and-istio', 'allow-t-to-activator', 'allow-wait-for-drain'])
    expect(noEv.find((o) => o.metadata.name === 'allow-t-to-activator')!.spec.rules).toHaveLength(1)
    const noSv = renderTenant({name: 't', namespaces: ['a'], meshNamespace: 'my-mesh', clusterDomain: 'corp.example', serving: false, eventing: true})
    expect(noSv.some((o) => o.metadata.name === 'allow-wait-for-drain')).toBe(false)
    expect(noSv.find((o) => o.metadata.name === 'allow-from-knative-and-istio')!.spec.rules).toEqual([
      {from: [{source: {namespaces: ['knative-eventing']}}], when: [{key: 'request.headers[Kn-Namespace]', values: ['a']}]},
    ])
    const act = noSv.find((o) => o.metadata.name === 'allow-t-to-activator')!
    expect(act.spec.rules).toHaveLength(1)
    expect(act.spec.rules[0].to[0].operation.hosts).toEqual(['*.a', '*.a.svc', '*.a.svc.corp.example'])
    const sv = renderTenant({name: 't', namespaces: ['a'], meshNamespace: 'my-mesh', clusterDomain: 'cluster.local', serving: true, eventing: false})
    expect(sv[0].spec.rules[0].from[0].source.namespaces).toEqual(['a', 'knative-serving', 'my-mesh'])
  })
})

describe('defaultPolicies (guide 2.3 step 2)', () => {
  it("is the guide's eleven objects, deny-all first", () => {
    const d = defaultPolicies('istio-system')
    expect(d.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'knative-eventing/deny-all-by-default',
      'knative-serving/deny-all-by-default',
      'knative-eventing/allow-mt-channel-based-broker-ingress-to-imc-dispatcher',
      'knative-eventing/allow-mt-channel-based-broker-ingress-to-kafka-channel',
      'knative-eventing/allow-kafka-channel-to-mt-channel-based-broker-filter',
      'knative-eventing/allow-imc-to-mt-channel-based-broker-filter',
      'knative-eventing/allow-probe-kafka-broker-receiver',
      'knative-eventing/allow-probe-kafka-sink-receiver',
      'knative-eventing/allow-probe-kafka-channel-receiver',
      'knative-serving/allow-traffic-to-activator',
      'knative-serving/allow-traffic-to-autoscaler',
    ])
    expect(d[0].spec).toEqual({})
    expect(d[0].metadata.labels).toBeUndefined()
    expect(d[9].spec).toEqual({
      selector: {matchLabels: {app: 'activator'}},
      action: 'ALLOW',
      rules: [{from: [{source: {namespaces: ['knative-serving', 'istio-system']}}]}],
    })
    expect(d[6].spec.rules[0]).toEqual({
      from: [{source: {namespaces: ['knative-eventing'], principals: ['cluster.local/ns/knative-eventing/sa/kafka-controller']}}],
      to: [{operation: {methods: ['GET']}}],
    })
  })
})

describe('planTenantAuthz', () => {
  it('creates a tenant, then does nothing on a second run', () => {
    const s = apply(empty(), {...base, tenant: 'team-alpha', add: ['team-alpha-1', 'team-alpha-2']})
    expect(names(s, 'team-alpha')).toHaveLength(12)
    expect(changesOf(planTenantAuthz(s, {...base, tenant: 'team-alpha', add: ['team-alpha-1', 'team-alpha-2']}))).toHaveLength(0)
    expect(changesOf(planTenantAuthz(s, {...base, tenant: 'team-alpha'}))).toHaveLength(0)
  })

  it('adding a namespace updates every list of every policy and creates its per-namespace objects', () => {
    let s = apply(empty(), {...base, tenant: 'team-alpha', add: ['team-alpha-1']})
    const plan = planTenantAuthz(s, {...base, tenant: 'team-alpha', add: ['team-alpha-2']})
    const acts = plan.items.map((i) => `${actionOf(i)} ${(i.desired ?? i.live)!.metadata.namespace}/${(i.desired ?? i.live)!.metadata.name}`)
    expect(acts.filter((a) => a.startsWith('create')).sort()).toEqual([
      'create team-alpha-2/allow-from-knative-and-istio',
      'create team-alpha-2/allow-wait-for-drain',
    ])
    expect(acts.filter((a) => a.startsWith('update'))).toHaveLength(9) // every policy with a namespace list
    s = apply(s, {...base, tenant: 'team-alpha', add: ['team-alpha-2']})
    const act = s.policies.find((p) => p.metadata.name === 'allow-team-alpha-to-activator')!
    expect(act.spec.rules[0].from[0].source.namespaces).toEqual(['team-alpha-1', 'team-alpha-2'])
    const own1 = s.policies.find((p) => p.metadata.namespace === 'team-alpha-1' && p.metadata.name === 'allow-from-knative-and-istio')!
    expect(own1.spec.rules[0].from[0].source.namespaces).toEqual(['team-alpha-1', 'team-alpha-2', 'knative-serving', 'istio-system'])
    expect(tenantsOf(s.policies)[0].namespaces).toEqual(['team-alpha-1', 'team-alpha-2'])
  })

  it('removing a namespace removes it everywhere and deletes its per-namespace objects', () => {
    let s = apply(empty(), {...base, tenant: 'team-alpha', add: ['team-alpha-1', 'team-alpha-2', 'team-alpha-3']})
    s = apply(s, {...base, tenant: 'team-alpha', remove: ['team-alpha-2']})
    expect(names(s, 'team-alpha').filter((n) => n.startsWith('team-alpha-2/'))).toEqual([])
    const text = JSON.stringify(s.policies)
    expect(text).not.toContain('team-alpha-2')
    expect(tenantsOf(s.policies)[0].namespaces).toEqual(['team-alpha-1', 'team-alpha-3'])
  })

  it('refuses to remove the last namespace (an empty list would match any source)', () => {
    const s = apply(empty(), {...base, tenant: 'team-alpha', add: ['team-alpha-1']})
    expect(() => planTenantAuthz(s, {...base, tenant: 'team-alpha', remove: ['team-alpha-1']})).toThrow(/--delete team-alpha/)
  })

  it('a namespace belongs to one tenant only: refuses, naming the other tenant', () => {
    const s = apply(empty(), {...base, tenant: 'team-alpha', add: ['team-alpha-1']})
    expect(() => planTenantAuthz(s, {...base, tenant: 'team-bravo', add: ['team-bravo-1', 'team-alpha-1']})).toThrow(
      /team-alpha-1 already belongs to tenant team-alpha/,
    )
  })

  it("--delete removes the tenant's objects and nothing else", () => {
    let s = apply(empty(), {...base, tenant: 'team-alpha', add: ['team-alpha-1'], defaults: true})
    s = apply(s, {...base, tenant: 'team-bravo', add: ['team-bravo-1']})
    const before = s.policies.length
    s = apply(s, {...base, tenant: 'team-alpha', delete: true})
    expect(names(s, 'team-alpha')).toEqual([])
    expect(names(s, 'team-bravo')).toHaveLength(10)
    expect(s.policies.length).toBe(before - 10)
    expect(s.policies.filter((p) => p.metadata.name === 'deny-all-by-default')).toHaveLength(2)
  })

  it('keeps fields it does not own, adopts unlabelled objects of the same name', () => {
    const live: KObject = {
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      metadata: {
        name: 'allow-from-knative-and-istio',
        namespace: 'team-alpha-1',
        resourceVersion: '3',
        labels: {'helm.sh/chart': 'x'},
        annotations: {note: 'keep'},
      },
      spec: {action: 'ALLOW', rules: []},
    }
    const plan = planTenantAuthz({...empty(), policies: [live]}, {...base, tenant: 'team-alpha', add: ['team-alpha-1']})
    const item = plan.items.find((i) => i.live === live)!
    expect(item.desired!.metadata.labels).toEqual({'helm.sh/chart': 'x', 'app.kubernetes.io/managed-by': 'knmesh', [TENANT_LABEL]: 'team-alpha'})
    expect(item.desired!.metadata.annotations).toEqual({note: 'keep'})
    expect(plan.notes.map((n) => n.text).join('\n')).toContain('adopting')
  })

  it('inherits --no-eventing from the tenant when not given again', () => {
    let s = apply(empty(), {...base, tenant: 't', add: ['team-alpha-1'], eventing: false})
    s = apply(s, {...base, tenant: 't', add: ['team-alpha-2']})
    expect(names(s, 't').some((n) => n.startsWith('knative-eventing/'))).toBe(false)
  })

  it('a run cut short after the first per-namespace policies: the same command creates the rest and updates nothing (eventing is read from their rules too)', () => {
    const input = {...base, tenant: 'team-alpha', add: ['team-alpha-1', 'team-alpha-2']}
    const whole = apply(empty(), input)
    const partial = {...whole, policies: whole.policies.filter((p) => p.metadata.name === 'allow-from-knative-and-istio')}
    expect(partial.policies.map((p) => p.metadata.namespace).sort()).toEqual(['team-alpha-1', 'team-alpha-2'])
    expect(tenantsOf(partial.policies)[0]).toMatchObject({serving: true, eventing: true})
    const rest = changesOf(planTenantAuthz(partial, input))
    expect(rest.map((c) => c.action)).toEqual(Array(10).fill('create'))
    expect(names(apply(partial, input), 'team-alpha')).toEqual(names(whole, 'team-alpha'))
  })

  it('names non-member namespaces and the command to run, or adds them with --add-to-mesh (the member-roll planner)', () => {
    const st = {...empty(), smmr: smmr(['knative-serving', 'knative-eventing'])}
    const plan = planTenantAuthz(st, {...base, tenant: 'team-alpha', add: ['team-alpha-1']})
    expect(plan.notes.map((n) => n.text).join('\n')).toContain('knmesh add-namespace team-alpha-1')
    const withMesh = planTenantAuthz(st, {...base, tenant: 'team-alpha', add: ['team-alpha-1'], addToMesh: true})
    const roll = withMesh.items.find((i) => i.desired?.kind === 'ServiceMeshMemberRoll')!
    expect(roll.desired!.spec.members).toEqual(['knative-serving', 'knative-eventing', 'team-alpha-1'])
  })

  it('refuses a missing namespace, and --no-serving with --no-eventing', () => {
    expect(() => planTenantAuthz(empty(), {...base, tenant: 't', add: ['nope']})).toThrow(/nope does not exist/)
    expect(() => planTenantAuthz(empty(), {...base, tenant: 't', add: ['team-alpha-1'], serving: false, eventing: false})).toThrow(/no rule/)
  })

  it("defaults: installs the guide's policies, idempotent, keeps deny-all as spec: {}", () => {
    let s = apply(empty(), {...base, defaults: true})
    expect(s.policies).toHaveLength(11)
    expect(changesOf(planTenantAuthz(s, {...base, defaults: true}))).toHaveLength(0)
    const tampered = s.policies.map((p) =>
      p.metadata.name === 'deny-all-by-default' && p.metadata.namespace === 'knative-serving' ? {...p, spec: {rules: [{}]}} : p,
    )
    s = apply({...s, policies: tampered}, {...base, defaults: true})
    expect(s.policies.find((p) => p.metadata.name === 'deny-all-by-default' && p.metadata.namespace === 'knative-serving')!.spec).toEqual({})
  })
})

describe('YAML output', () => {
  it('has no anchors or aliases (no arrays shared between rules)', async () => {
    const {toYaml} = await import('../../src/ui/diff.js')
    for (const o of renderTenant({name: 't', namespaces: ['a', 'b'], ...base, serving: true, eventing: true})) expect(toYaml(o)).not.toMatch(/[&*][a-z]+\d/)
  })
})

describe('tenants found again after a per-namespace policy was deleted by hand', () => {
  it('keeps the namespace (from the activator and Kn-Namespace lists) so the planner re-creates the missing policy', () => {
    const objs = renderTenant({name: 'team-bravo', namespaces: ['team-bravo-1', 'team-bravo-2'], ...base, serving: true, eventing: true})
    const damaged = objs.filter((o) => !(o.metadata.name === 'allow-from-knative-and-istio' && o.metadata.namespace === 'team-bravo-2'))
    expect(tenantsOf(damaged)[0].namespaces).toEqual(['team-bravo-1', 'team-bravo-2'])
    const onlyActivator = objs.filter((o) => o.metadata.namespace === 'knative-serving')
    expect(tenantsOf(onlyActivator)[0].namespaces).toEqual(['team-bravo-1', 'team-bravo-2'])
    const plan = planTenantAuthz({policies: damaged, smmr: null, namespaces: null}, {tenant: 'team-bravo', ...base})
    expect(changesOf(plan).map((c) => `${c.action} ${c.desired?.metadata.namespace}/${c.desired?.metadata.name}`)).toEqual([
      'create team-bravo-2/allow-from-knative-and-istio',
    ])
  })
})

describe('tenant-authz: a tenant name that is a typo of an existing one', () => {
  it('--delete or --remove-namespace of a close name with no policies is exit 6 naming the tenant meant; an unrelated name deletes nothing and lists the tenants', () => {
    const s = apply(empty(), {...base, tenant: 'team-alpha', add: ['team-alpha-1']})
    expect(() => planTenantAuthz(s, {...base, tenant: 'team-alhpa', delete: true})).toThrow(
      'tenant team-alhpa has no policies (did you mean "team-alpha"?): nothing was changed',
    )
    try {
      planTenantAuthz(s, {...base, tenant: 'team-alhpa', remove: ['team-alpha-1']})
      expect.unreachable()
    } catch (error) {
      expect((error as {exitCode?: number}).exitCode).toBe(6)
    }
    const other = planTenantAuthz(s, {...base, tenant: 'finance', delete: true})
    expect(other.items).toEqual([])
    expect(other.notes.map((n) => n.text)).toEqual(['tenant finance has no policies: nothing to delete (tenants: team-alpha)'])
  })
})
