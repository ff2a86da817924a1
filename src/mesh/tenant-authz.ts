import {Kinds} from '../kube/kinds.js'
import {isDeepStrictEqual} from 'node:util'
import {newObject, setLabels} from '../change/edit.js'
import {info, warning, type Note, type Plan, type PlanItem} from '../change/plan.js'
import {KnmeshError, MissingError, UsageError} from '../errors.js'
import {closest} from './names.js'
import type {KObject, Json} from '../kube/types.js'
import {KNATIVE_EVENTING, KNATIVE_SERVING, MANAGED_BY, meshFlag, KNATIVE_SERVING_INGRESS} from './constants.js'
import type {MeshGeneration} from './generation.js'
import {members, planMembers} from './members.js'

/**
 * Guide 2.3: the AuthorizationPolicy set that isolates tenants, equal field for
 * field to what the knative-istio-authz Helm chart 1.32.0 renders for the same
 * values (chart repository openshift-knative/knative-istio-authz-chart, branch
 * release-1.32; golden file test/fixtures/golden/authz-chart/), plus the
 * cluster-wide policies of step 2 (verbatim from the guide). The only addition
 * is the two labels of tenantLabels(), by which knmesh finds a tenant again.
 * Pure: live objects in, desired objects and plans out.
 */

export const AP_KIND = 'AuthorizationPolicy'
/** The label that records a tenant on each of its objects. */
export const TENANT_LABEL = 'knmesh.openshift.io/tenant'
export const PER_NAMESPACE_POLICY = 'allow-from-knative-and-istio'
export const DRAIN_POLICY = 'allow-wait-for-drain'
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local'

/** Service accounts of knative-eventing that send events on behalf of tenants (chart values). */
export const EVENTING_SENDERS = [
  'pingsource-mt-adapter',
  'imc-dispatcher',
  'mt-broker-filter',
  'knative-kafka-source-data-plane',
  'knative-kafka-broker-data-plane',
  'knative-kafka-channel-data-plane',
]

/** Eventing receivers: policy short name → app.kubernetes.io/component (chart values, in chart order). */
export const EVENTING_RECEIVERS: [string, string][] = [
  ['imc', 'imc-dispatcher'],
  ['ekb', 'kafka-broker-receiver'],
  ['ekc', 'kafka-channel-receiver'],
  ['eks', 'kafka-sink-receiver'],
  ['broker-ingress', 'broker-ingress'],
]

export interface TenantValues {
  name: string
  /** In order: the order of every list in every policy. */
  namespaces: string[]
  meshNamespace: string
  clusterDomain: string
  serving: boolean
  eventing: boolean
  /**
   * 3: the Service Mesh 3 render (service-mesh-3.md N16): security.istio.io/v1, knative-serving-ingress instead of
   * the mesh namespace in allow-from-knative-and-istio, and allow-NAME-to-job-sink. Absent or 2: the chart 1.32 render.
   */
  generation?: MeshGeneration
}

/** Service Mesh 3: the namespace of the Knative ingress gateways (their pods are the source of gateway traffic). */
export {KNATIVE_SERVING_INGRESS}
/** Service Mesh 3's extra eventing receiver (chart e187271, SO mesh_v3_resources tenant renders). */
export const JOB_SINK_RECEIVER: [string, string] = ['job-sink', 'job-sink']

export const principal = (sa: string, ns = KNATIVE_EVENTING) => `cluster.local/ns/${ns}/sa/${sa}`

function hostsOf(namespaces: string[], domain: string): string[] {
  return namespaces.flatMap((ns) => [`*.${ns}`, `*.${ns}.svc`, `*.${ns}.svc.${domain}`])
}

const pathsOf = (namespaces: string[]) => namespaces.map((ns) => `/${ns}/*`)
const knNamespace = (namespaces: string[]) => [{key: 'request.headers[Kn-Namespace]', values: [...namespaces]}]
const senders = () => ({source: {namespaces: [KNATIVE_EVENTING], principals: EVENTING_SENDERS.map((sa) => principal(sa))}})
const component = (c: string) => ({matchLabels: {'app.kubernetes.io/component': c}})

/** The labels every tenant object carries. */
export function tenantLabels(tenant: string): Record<string, string> {
  return {...MANAGED_BY, [TENANT_LABEL]: tenant}
}

function apPolicy(name: string, namespace: string, spec: Record<string, unknown>, labels?: Record<string, string>, generation?: MeshGeneration): KObject {
  const obj = newObject(generation === 3 ? Kinds.AuthorizationPolicyV1 : Kinds.AuthorizationPolicy, name, namespace, {spec})
  if (labels) obj.metadata.labels = {...labels}
  return obj
}

/** The tenant's policies, as the chart renders them (its templates' order), labelled with the tenant. */
export function renderTenant(v: TenantValues): KObject[] {
  const N = v.namespaces
  const labels = tenantLabels(v.name)
  const hosts = hostsOf(N, v.clusterDomain)
  const out: KObject[] = []
  const g = v.generation
  const policy = (name: string, namespace: string, spec: Record<string, unknown>, l?: Record<string, string>) => apPolicy(name, namespace, spec, l, g)
  // Where gateway traffic comes from: the mesh namespace's gateways (2), knative-serving-ingress's (3).
  const gatewayNs = g === 3 ? KNATIVE_SERVING_INGRESS : v.meshNamespace
  // allow-from-knative-and-istio: each namespace of the tenant.
  for (const ns of N) {
    const rules: unknown[] = []
    if (v.serving) rules.push({from: [{source: {namespaces: [...N, KNATIVE_SERVING, gatewayNs]}}]})
    if (v.eventing) rules.push({from: [{source: {namespaces: [KNATIVE_EVENTING]}}], when: knNamespace(N)})
    out.push(policy(PER_NAMESPACE_POLICY, ns, {action: 'ALLOW', rules}, labels))
  }
  // allow-<name>-to-activator in knative-serving.
  const activatorRules: unknown[] = []
  if (v.serving) activatorRules.push({from: [{source: {namespaces: [...N]}}], to: [{operation: {hosts}}]})
  if (v.eventing) activatorRules.push({from: [senders()], to: [{operation: {hosts}}], when: knNamespace(N)})
  out.push(policy(`allow-${v.name}-to-activator`, KNATIVE_SERVING, {action: 'ALLOW', selector: component('activator'), rules: activatorRules}, labels))
  if (v.eventing) {
    for (const [short, comp] of g === 3 ? [...EVENTING_RECEIVERS, JOB_SINK_RECEIVER] : EVENTING_RECEIVERS) {
      const rules = [
        {from: [{source: {namespaces: [...N]}}], to: [{operation: {paths: pathsOf(N)}}, {operation: {hosts}}]},
        {from: [senders()], to: [{operation: {hosts}}], when: knNamespace(N)},
        {from: [senders()], to: [{operation: {paths: pathsOf(N)}}], when: knNamespace(N)},
      ]
      out.push(policy(`allow-${v.name}-to-${short}`, KNATIVE_EVENTING, {action: 'ALLOW', selector: component(comp), rules}, labels))
    }
    out.push(
      policy(
        `allow-${v.name}-kafka-broker-reply`,
        KNATIVE_EVENTING,
        {
          action: 'ALLOW',
          selector: component('kafka-broker-receiver'),
          rules: [
            {
              from: [{source: {namespaces: [KNATIVE_EVENTING], principals: [principal('knative-kafka-broker-data-plane')]}}],
              to: [{operation: {paths: pathsOf(N)}}],
              when: knNamespace(N),
            },
          ],
        },
        labels,
      ),
    )
    out.push(
      policy(
        `allow-${v.name}-mt-channel-based-broker-reply`,
        KNATIVE_EVENTING,
        {
          action: 'ALLOW',
          selector: component('broker-ingress'),
          rules: [
            {
              from: [
                {
                  source: {
                    namespaces: [KNATIVE_EVENTING],
                    principals: ['imc-dispatcher', 'mt-broker-filter', 'knative-kafka-channel-data-plane'].map((sa) => principal(sa)),
                  },
                },
              ],
              to: [{operation: {paths: pathsOf(N)}}],
              when: knNamespace(N),
            },
          ],
        },
        labels,
      ),
    )
  }
  // allow-wait-for-drain: each namespace, serving only.
  if (v.serving) for (const ns of N) out.push(policy(DRAIN_POLICY, ns, {action: 'ALLOW', rules: [{to: [{operation: {ports: ['8022']}}]}]}, labels))
  // No shared arrays between rules: YAML output would show them as anchors and aliases.
  return out.map((o) => JSON.parse(JSON.stringify(o)) as KObject)
}

/** Guide 2.3 step 2, verbatim (the mesh namespace replaces istio-system when it differs). */
export function defaultPolicies(meshNamespace: string): KObject[] {
  const policy = apPolicy
  const ke = KNATIVE_EVENTING
  const post = (name: string, comp: string, sa: string, method = 'POST') =>
    policy(name, ke, {
      action: 'ALLOW',
      selector: component(comp),
      rules: [{from: [{source: {namespaces: [ke], principals: [principal(sa)]}}], to: [{operation: {methods: [method]}}]}],
    })
  return [
    policy('deny-all-by-default', ke, {}),
    policy('deny-all-by-default', KNATIVE_SERVING, {}),
    post('allow-mt-channel-based-broker-ingress-to-imc-dispatcher', 'imc-dispatcher', 'mt-broker-ingress'),
    post('allow-mt-channel-based-broker-ingress-to-kafka-channel', 'kafka-channel-receiver', 'mt-broker-ingress'),
    post('allow-kafka-channel-to-mt-channel-based-broker-filter', 'broker-filter', 'knative-kafka-channel-data-plane'),
    post('allow-imc-to-mt-channel-based-broker-filter', 'broker-filter', 'imc-dispatcher'),
    post('allow-probe-kafka-broker-receiver', 'kafka-broker-receiver', 'kafka-controller', 'GET'),
    post('allow-probe-kafka-sink-receiver', 'kafka-sink-receiver', 'kafka-controller', 'GET'),
    post('allow-probe-kafka-channel-receiver', 'kafka-channel-receiver', 'kafka-controller', 'GET'),
    policy('allow-traffic-to-activator', KNATIVE_SERVING, {
      selector: {matchLabels: {app: 'activator'}},
      action: 'ALLOW',
      rules: [{from: [{source: {namespaces: [KNATIVE_SERVING, meshNamespace]}}]}],
    }),
    policy('allow-traffic-to-autoscaler', KNATIVE_SERVING, {
      selector: {matchLabels: {app: 'autoscaler'}},
      action: 'ALLOW',
      rules: [{from: [{source: {namespaces: [KNATIVE_SERVING]}}]}],
    }),
  ]
}

// ---------------------------------------------------------------------------
// Tenants found again from their labels.

export interface TenantInfo {
  name: string
  /** In the order the tenant's policies list them. */
  namespaces: string[]
  policies: KObject[]
  serving: boolean
  eventing: boolean
}

const apKey = (o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`

export function isAuthorizationPolicy(o: KObject): boolean {
  return o.kind === AP_KIND && typeof o.apiVersion === 'string' && o.apiVersion.startsWith('security.istio.io/')
}

/** Groups tenant-labelled AuthorizationPolicies by tenant (sorted by name). */
export function tenantsOf(policies: KObject[]): TenantInfo[] {
  const byTenant = new Map<string, KObject[]>()
  for (const p of policies) {
    const t = p.metadata.labels?.[TENANT_LABEL]
    if (!t || !isAuthorizationPolicy(p)) continue
    const list = byTenant.get(t) ?? []
    list.push(p)
    byTenant.set(t, list)
  }
  return [...byTenant.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, ps]) => ({
      name,
      namespaces: namespacesOf(ps),
      policies: ps.sort((a, b) => apKey(a).localeCompare(apKey(b))),
      serving: ps.some(
        (p) => p.metadata.name === DRAIN_POLICY || p.spec?.rules?.some?.((r: Json) => r?.from?.[0]?.source?.namespaces?.includes(KNATIVE_SERVING)),
      ),
      // Also from the per-namespace and activator rules: a run cut short before the knative-eventing policies were
      // written leaves a tenant whose next run must still finish them, not strip eventing.
      eventing: ps.some(
        (p) =>
          p.metadata.namespace === KNATIVE_EVENTING ||
          p.spec?.rules?.some?.(
            (r: Json) =>
              r?.from?.[0]?.source?.namespaces?.includes(KNATIVE_EVENTING) || r?.when?.some?.((w: Json) => w?.key === 'request.headers[Kn-Namespace]'),
          ),
      ),
    }))
}

/**
 * A tenant's namespaces, in the order its lists give: where its per-namespace
 * policies live, and the namespaces its system-namespace policies name (so a
 * deleted per-namespace policy is seen as missing, not as a namespace gone).
 */
function namespacesOf(ps: KObject[]): string[] {
  const system = new Set([KNATIVE_SERVING, KNATIVE_EVENTING])
  const own = new Set(ps.filter((p) => !system.has(p.metadata.namespace!)).map((p) => p.metadata.namespace!))
  const ordered: string[] = []
  const push = (ns: unknown) => {
    if (typeof ns === 'string' && !ordered.includes(ns)) ordered.push(ns)
  }
  // The per-namespace policy's lists first (they carry the tenant's order), then the activator's and the Kn-Namespace lists.
  const perNs = ps.find((p) => p.metadata.name === PER_NAMESPACE_POLICY)
  for (const rule of perNs?.spec?.rules ?? []) {
    for (const l of [rule?.from?.[0]?.source?.namespaces, rule?.when?.[0]?.values]) if (Array.isArray(l)) for (const ns of l) if (own.has(ns)) push(ns)
  }
  for (const p of ps.filter((x) => system.has(x.metadata.namespace!))) {
    const rule = p.spec?.rules?.[0]
    const fromNs = p.metadata.name.endsWith('-to-activator') ? rule?.from?.[0]?.source?.namespaces : undefined
    const knNs = (p.spec?.rules ?? []).flatMap((r: Json) =>
      (r?.when ?? []).filter((w: Json) => w?.key === 'request.headers[Kn-Namespace]').flatMap((w: Json) => w.values ?? []),
    )
    for (const l of [fromNs, knNs]) if (Array.isArray(l)) for (const ns of l) if (!system.has(ns)) push(ns)
  }
  for (const ns of [...own].sort()) push(ns)
  return ordered
}

/**
 * Where a tenant's live policies differ from what the chart renders for the tenant's values (its name,
 * namespaces, serving/eventing as found on the policies, `meshNamespace`, `clusterDomain`): apiVersion,
 * kind and `spec`, field for field. knmesh's own labels (tenantLabels) are by design and not compared.
 * Returns one line per difference ("knative-serving/allow-x-to-activator: spec.provider is not in the
 * chart"); empty when every policy is exactly as the chart renders it. Pure, never throws.
 */
export function chartDifferences(t: TenantInfo, meshNamespace: string, clusterDomain: string): string[] {
  const wanted = renderTenant({name: t.name, namespaces: t.namespaces, meshNamespace, clusterDomain, serving: t.serving, eventing: t.eventing})
  const live = new Map(t.policies.map((p) => [apKey(p), p]))
  const out: string[] = []
  for (const w of wanted) {
    const l = live.get(apKey(w))
    live.delete(apKey(w))
    if (!l) {
      out.push(`${apKey(w)} is missing`)
      continue
    }
    if (l.kind !== w.kind || l.apiVersion !== w.apiVersion) out.push(`${apKey(w)}: ${l.apiVersion} ${l.kind}, the chart renders ${w.apiVersion} ${w.kind}`)
    const ls = (l.spec ?? {}) as Record<string, unknown>
    const ws = w.spec as Record<string, unknown>
    for (const f of [...new Set([...Object.keys(ws), ...Object.keys(ls)])]) {
      if (!(f in ws)) out.push(`${apKey(w)}: spec.${f} is not in the chart`)
      else if (!isDeepStrictEqual(ls[f], ws[f])) out.push(`${apKey(w)}: spec.${f} differs from the chart`)
    }
  }
  for (const k of live.keys()) out.push(`${k} is not rendered by the chart`)
  return out
}

// ---------------------------------------------------------------------------
// The planner.

export interface TenantAuthzState {
  /** Every AuthorizationPolicy of the cluster (tenant objects and any unlabelled ones with our names). */
  policies: KObject[]
  smmr: KObject | null
  namespaces: Set<string> | null
}

export interface TenantAuthzInput {
  tenant?: string
  add?: string[]
  remove?: string[]
  delete?: boolean
  /** undefined: keep what the tenant has (new tenants: enabled). */
  serving?: boolean
  eventing?: boolean
  meshNamespace: string
  clusterDomain: string
  /** Install the cluster-wide policies of guide 2.3 step 2. */
  defaults?: boolean
  /** Add tenant namespaces that are not SMMR members to the member roll. */
  addToMesh?: boolean
  /** The render of this generation (TenantValues.generation); set by the Service Mesh 3 planner (tenant-authz3.ts). */
  generation?: MeshGeneration
}

/** Edits a clone of live: merges labels, owns action/selector/rules; other spec fields survive. */
export function desiredPolicy(live: KObject | null, want: KObject): KObject {
  if (!live) return structuredClone(want)
  const out = structuredClone(live)
  if (want.metadata.labels) setLabels(out, want.metadata.labels)
  const spec: Record<string, unknown> = {...(out.spec ?? {})}
  for (const f of ['action', 'selector', 'rules']) {
    if (want.spec[f] === undefined) delete spec[f]
    else spec[f] = structuredClone(want.spec[f])
  }
  out.spec = spec
  return out
}

export function planTenantAuthz(state: TenantAuthzState, input: TenantAuthzInput): Plan {
  const notes: Note[] = []
  const items: PlanItem[] = []
  const byKey = policiesByKey(state.policies)
  if (input.defaults) items.push(...defaultItems(defaultPolicies(input.meshNamespace), byKey))
  const tenant = input.tenant
  if (!tenant) return {items, notes}
  const core = planTenantCore(state.policies, byKey, state.namespaces, {...input, tenant})
  items.push(...core.items)
  notes.push(...core.notes)
  if (!core.namespaces) return {items, notes}
  const namespaces = core.namespaces

  // Mesh membership: the sidecars enforce the policies only in member namespaces.
  const inRoll = new Set(members(state.smmr))
  const outside = namespaces.filter((ns) => !inRoll.has(ns))
  if (outside.length) {
    if (input.addToMesh) {
      const m = planMembers({smmr: state.smmr, namespaces: state.namespaces}, {meshNamespace: input.meshNamespace, add: outside})
      items.push(...m.items)
      notes.push(...m.notes)
    } else {
      const flag = meshFlag(input.meshNamespace)
      notes.push(
        warning(
          `${outside.join(', ')} ${outside.length > 1 ? 'are' : 'is'} not in the ServiceMeshMemberRoll: the policies are enforced only by mesh sidecars; run "knmesh add-namespace ${outside.join(' ')}${flag}" or pass --add-to-mesh`,
        ),
      )
    }
  }
  return {items, notes}
}

/** Every AuthorizationPolicy by namespace/name. */
export function policiesByKey(policies: KObject[]): Map<string, KObject> {
  return new Map(policies.filter(isAuthorizationPolicy).map((p) => [apKey(p), p]))
}

/** Plan items for cluster-wide policies: the live object with action/selector/rules owned, or created. */
export function defaultItems(wanted: KObject[], byKey: Map<string, KObject>): PlanItem[] {
  return wanted.map((want) => {
    const live = byKey.get(apKey(want)) ?? null
    // deny-all-by-default is all spec: nothing of it survives an edit.
    const desired = Object.keys(want.spec).length === 0 ? {...structuredClone(live ?? want), spec: {}} : desiredPolicy(live, want)
    return {live, desired}
  })
}

/**
 * One tenant's policy items, the same on both generations (the render differs by input.generation): creates,
 * updates, adoptions, deletes of what the tenant no longer needs, or (input.delete) every object of the tenant.
 * `namespaces`: the tenant's namespaces after the change (null when deleting). Throws as planTenantAuthz.
 */
export function planTenantCore(
  policies: KObject[],
  byKey: Map<string, KObject>,
  existing: Set<string> | null,
  input: TenantAuthzInput & {tenant: string},
): {items: PlanItem[]; notes: Note[]; namespaces: string[] | null} {
  const notes: Note[] = []
  const items: PlanItem[] = []
  const t = input.tenant
  const tenants = tenantsOf(policies)
  const current = tenants.find((x) => x.name === t)

  // A tenant with no policies whose name is close to one that has them is a typo: said as one (exit 6).
  const typo = current
    ? undefined
    : closest(
        t,
        tenants.map((x) => x.name),
      )
  if (typo && (input.delete || (input.remove?.length && !input.add?.length))) {
    throw new MissingError(`tenant ${t} has no policies (did you mean "${typo}"?): nothing was changed`)
  }
  if (input.delete) {
    if (!current)
      notes.push(info(`tenant ${t} has no policies: nothing to delete${tenants.length ? ` (tenants: ${tenants.map((x) => x.name).join(', ')})` : ''}`))
    for (const p of current?.policies ?? []) items.push({live: p, desired: null})
    return {items, notes, namespaces: null}
  }

  const add = input.add ?? []
  const remove = input.remove ?? []
  for (const ns of add) {
    const owner = tenants.find((x) => x.name !== t && x.namespaces.includes(ns))
    if (owner) {
      throw new KnmeshError(
        `namespace ${ns} already belongs to tenant ${owner.name}; a namespace may belong to one tenant only (remove it there first: tenant-authz ${owner.name} --remove-namespace ${ns})`,
        2,
      )
    }
  }
  const before = current?.namespaces ?? []
  const unknown = remove.filter((ns) => !before.includes(ns))
  if (unknown.length) notes.push(info(`${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not a namespace of tenant ${t}: nothing to remove there`))
  const namespaces = nextNamespaces(before, add, remove)
  if (!current && add.length === 0) throw new UsageError(`tenant ${t} has no policies yet: give its namespaces with --namespaces`)
  if (namespaces.length === 0) {
    throw new UsageError(`removing ${remove.join(', ')} would leave tenant ${t} without namespaces; delete the tenant instead: tenant-authz --delete ${t}`)
  }
  const values: TenantValues = {
    name: t,
    namespaces,
    meshNamespace: input.meshNamespace,
    clusterDomain: input.clusterDomain,
    serving: input.serving ?? current?.serving ?? true,
    eventing: input.eventing ?? current?.eventing ?? true,
    ...(input.generation === 3 ? {generation: 3 as const} : {}),
  }
  if (!values.serving && !values.eventing)
    throw new UsageError('--no-serving and --no-eventing together leave no rule: the per-namespace policies would deny everything')

  if (existing) {
    const missing = add.filter((ns) => !existing.has(ns))
    if (missing.length)
      throw new KnmeshError(
        `namespace${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist: create ${missing.length > 1 ? 'them' : 'it'} first (oc new-project NAME)`,
      )
  }
  const wanted = renderTenant(values)
  const wantedKeys = new Set(wanted.map(apKey))
  for (const want of wanted) {
    const live = byKey.get(apKey(want)) ?? null
    const owner = live?.metadata.labels?.[TENANT_LABEL]
    if (live && owner && owner !== t) {
      throw new KnmeshError(`${AP_KIND} ${apKey(want)} belongs to tenant ${owner}; a namespace may belong to one tenant only`, 2)
    }
    if (live && !owner) notes.push(info(`adopting the existing ${AP_KIND} ${apKey(want)} for tenant ${t}`))
    items.push({live, desired: desiredPolicy(live, want)})
  }
  // The tenant's objects it no longer needs: removed namespaces, disabled serving/eventing.
  for (const p of current?.policies ?? []) if (!wantedKeys.has(apKey(p))) items.push({live: p, desired: null})
  return {items, notes, namespaces}
}

/** A tenant's namespaces after a change: existing ones in order, then the added, without the removed. */
export function nextNamespaces(before: string[], add: string[], remove: string[]): string[] {
  return [...before, ...add.filter((ns) => !before.includes(ns))].filter((ns) => !remove.includes(ns))
}

/** The tenant's namespaces (after the change) that are not ServiceMeshMemberRoll members: what --add-to-mesh would add. */
export function namespacesOutsideMesh(state: TenantAuthzState, input: TenantAuthzInput): string[] {
  if (!input.tenant || input.delete) return []
  const current = tenantsOf(state.policies).find((x) => x.name === input.tenant)
  const inRoll = new Set(members(state.smmr))
  return nextNamespaces(current?.namespaces ?? [], input.add ?? [], input.remove ?? []).filter((ns) => !inRoll.has(ns))
}

/** The tenant-authz --list table rows; `inMesh` (Service Mesh 3: the injection label) replaces the member roll. */
export function tenantRows(tenants: TenantInfo[], smmr: KObject | null, inMesh?: (ns: string) => boolean): string[][] {
  const roll = new Set(members(smmr))
  const inRoll = {has: inMesh ?? ((ns: string) => roll.has(ns))}
  return tenants.map((t) => [
    t.name,
    t.namespaces.join(','),
    String(t.policies.length),
    [t.serving ? 'serving' : '', t.eventing ? 'eventing' : ''].filter(Boolean).join(','),
    t.namespaces.filter((ns) => !inRoll.has(ns)).join(',') || '-',
  ])
}
