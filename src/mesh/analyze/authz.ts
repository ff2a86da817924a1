import {changesOf} from '../../change/plan.js'
import type {KObject} from '../../kube/types.js'
import {appliesTo} from '../authz-eval.js'
import {KNATIVE_EVENTING, KNATIVE_SERVING, meshFlag} from '../constants.js'
import {
  DEFAULT_CLUSTER_DOMAIN,
  defaultItems,
  defaultPolicies,
  isAuthorizationPolicy,
  planTenantAuthz,
  planTenantCore,
  policiesByKey,
  TENANT_LABEL,
  tenantsOf,
} from '../tenant-authz.js'
import {defaultPolicies3} from '../tenant-authz3.js'
import type {Plan} from '../../change/plan.js'
import {finding, ref, type AnalyzeState, type Finding, type Rule} from './types.js'
import {isEmptyMap, templateWorkloads, type TemplateWorkload} from './workloads.js'

/**
 * Authorization (guide chapter 2). Service Mesh 3 (docs/reference/service-mesh-3.md rows 15-16, N15, N16): the
 * defaults and tenant policies are tenant-authz's Service Mesh 3 render (knative-serving-ingress as the gateways'
 * namespace, allow-traffic-to-ingress-gateway, job-sink).
 */

/** The cluster-wide policies of guide 2.3 step 2 for this generation (tenant-authz --defaults writes them). */
const defaultsFor = (s: Pick<AnalyzeState, 'meshNamespace'> & Partial<Pick<AnalyzeState, 'generation'>>) =>
  s.generation === 3 ? defaultPolicies3() : defaultPolicies(s.meshNamespace)

const action = (p: KObject) => String(p.spec?.action ?? 'ALLOW').toUpperCase()
const dryRun = (p: KObject) => p.metadata.annotations?.['istio.io/dry-run'] === 'true'
const hasRules = (p: KObject) => Array.isArray(p.spec?.rules) && p.spec.rules.length > 0
const targeted = (p: KObject) => Boolean(p.spec?.targetRef) || (Array.isArray(p.spec?.targetRefs) && p.spec.targetRefs.length > 0)
const hasSelector = (p: KObject) => !isEmptyMap(p.spec?.selector?.matchLabels)

/** The guide's deny-all pattern: an enforced ALLOW policy without rules and without selector, in a namespace other than the root. */
export function isDenyAll(p: KObject, meshNamespace: string): boolean {
  return (
    isAuthorizationPolicy(p) && !dryRun(p) && action(p) === 'ALLOW' && !hasRules(p) && !hasSelector(p) && !targeted(p) && p.metadata.namespace !== meshNamespace
  )
}

/** Policies whose names and namespaces the guide (2.3 step 2) or the chart (tenant label) fix: expected even before their workloads exist. */
function known(p: KObject, s: AnalyzeState): boolean {
  if (p.metadata.labels?.[TENANT_LABEL]) return true
  return defaultsFor(s).some((d) => d.metadata.namespace === p.metadata.namespace && d.metadata.name === p.metadata.name)
}

export const KNM0501: Rule = {
  code: 'KNM0501',
  severity: 'Warning',
  summary:
    "An AuthorizationPolicy's selector matches no workload template (Deployment, StatefulSet, DaemonSet, Knative Service or Revision — scaled to zero counts) in its namespace: it protects or allows nothing.",
  run(s) {
    const ws = templateWorkloads(s)
    const byNs = new Map<string, TemplateWorkload[]>()
    for (const w of ws) {
      const list = byNs.get(w.namespace)
      if (list) list.push(w)
      else byNs.set(w.namespace, [w])
    }
    const out: Finding[] = []
    for (const p of s.policies) {
      if (!isAuthorizationPolicy(p) || !hasSelector(p) || targeted(p) || known(p, s)) continue
      const ns = p.metadata.namespace!
      // The root namespace's policies apply mesh-wide; elsewhere only the namespace's own workloads count.
      const candidates = ns === s.meshNamespace ? ws : (byNs.get(ns) ?? [])
      if (candidates.length === 0) continue // nothing deployed there yet
      if (candidates.some((w) => appliesTo(p, w, s.meshNamespace))) continue
      const text = Object.entries(p.spec.selector.matchLabels as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
      out.push(
        finding(
          KNM0501,
          [ref(p)],
          `selector ${text} matches no workload template in ${ns === s.meshNamespace ? 'the mesh' : `namespace ${ns}`}: the ${action(p)} policy applies to nothing`,
          "fix spec.selector.matchLabels to the pod template labels (a Knative Service's pods carry serving.knative.dev/service=NAME)",
        ),
      )
    }
    return out
  },
}

export const KNM0502: Rule = {
  code: 'KNM0502',
  severity: 'Error',
  summary:
    'An ALLOW AuthorizationPolicy without rules outside the deny-all pattern (a namespace-wide spec: {}): with a selector it denies every request to those workloads, in the mesh root namespace it denies every request in the mesh.',
  run(s) {
    const out: Finding[] = []
    for (const p of s.policies) {
      if (!isAuthorizationPolicy(p) || dryRun(p) || action(p) !== 'ALLOW' || hasRules(p) || targeted(p)) continue
      if (hasSelector(p)) {
        const text = Object.entries(p.spec.selector.matchLabels as Record<string, string>)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')
        out.push(
          finding(
            KNM0502,
            [ref(p)],
            `ALLOW with no rules and selector ${text}: every request to those workloads is denied (RBAC: access denied)`,
            'add the rules it should allow, or delete it',
          ),
        )
      } else if (p.metadata.namespace === s.meshNamespace) {
        out.push(
          finding(
            KNM0502,
            [ref(p)],
            `ALLOW with no rules in the mesh root namespace: every request in the mesh is denied, the gateways' too`,
            `delete it; deny-all belongs in ${KNATIVE_SERVING}, ${KNATIVE_EVENTING} and the tenants' namespaces (knmesh tenant-authz --defaults${meshFlag(s.meshNamespace)})`,
          ),
        )
      }
    }
    return out
  },
}

export const KNM0503: Rule = {
  code: 'KNM0503',
  severity: 'Error',
  summary: "A tenant's AuthorizationPolicies differ from what the knative-istio-authz chart renders for its namespaces (tenant-authz would change them).",
  run(s) {
    const out: Finding[] = []
    const state = {policies: s.policies, smmr: s.smmr, namespaces: null}
    for (const t of tenantsOf(s.policies)) {
      const fix = `knmesh tenant-authz ${t.name} --namespaces ${t.namespaces.join(',')}${meshFlag(s.meshNamespace)}`
      let changes
      try {
        const input = {tenant: t.name, meshNamespace: s.meshNamespace, clusterDomain: DEFAULT_CLUSTER_DOMAIN}
        // Service Mesh 3: the tenant's own items of tenant-authz's planner (planTenantAuthz3 adds the namespace labels, KNM0301's).
        const plan: Plan =
          s.generation === 3
            ? {items: planTenantCore(s.policies, policiesByKey(s.policies), null, {...input, generation: 3}).items, notes: []}
            : planTenantAuthz(state, input)
        changes = changesOf(plan)
      } catch (error) {
        out.push(
          finding(
            KNM0503,
            t.policies.slice(0, 1).map((p) => ref(p)),
            `tenant ${t.name}: ${(error as Error).message}`,
            fix,
          ),
        )
        continue
      }
      if (changes.length === 0) continue
      const objs = changes.map((c) => ref((c.live ?? c.desired)!, 'AuthorizationPolicy'))
      const text = changes
        .slice(0, 4)
        .map(
          (c) =>
            `${c.action === 'create' ? 'missing' : c.action === 'delete' ? 'extra' : 'different'} ${c.desired?.metadata.namespace ?? c.live?.metadata.namespace}/${(c.desired ?? c.live)!.metadata.name}`,
        )
        .join(', ')
      out.push(
        finding(
          KNM0503,
          objs,
          `tenant ${t.name} (${t.namespaces.join(', ')}): ${changes.length} policies differ from the chart: ${text}${changes.length > 4 ? ', …' : ''}`,
          fix,
        ),
      )
    }
    return out
  },
}

/** The per-component allow policies of guide 2.3 step 2 that are missing in a namespace that has deny-all (Kafka's only with KnativeKafka). */
export function missingAllows(
  s: Pick<AnalyzeState, 'policies' | 'smmr' | 'meshNamespace' | 'kafka'> & Partial<Pick<AnalyzeState, 'generation'>>,
): {denyAll: KObject; missing: KObject[]}[] {
  const plan: Plan =
    s.generation === 3
      ? {items: defaultItems(defaultsFor(s), policiesByKey(s.policies)), notes: []}
      : planTenantAuthz(
          {policies: s.policies, smmr: s.smmr, namespaces: null},
          {defaults: true, meshNamespace: s.meshNamespace, clusterDomain: DEFAULT_CLUSTER_DOMAIN},
        )
  const out: {denyAll: KObject; missing: KObject[]}[] = []
  for (const ns of [KNATIVE_SERVING, KNATIVE_EVENTING]) {
    const denyAll = s.policies.find((p) => p.metadata.namespace === ns && isDenyAll(p, s.meshNamespace))
    if (!denyAll) continue
    const missing = plan.items
      .filter((i) => i.live === null && i.desired && i.desired.metadata.namespace === ns && hasRules(i.desired))
      .map((i) => i.desired!)
      .filter((p) => s.kafka || !p.metadata.name.includes('kafka'))
    if (missing.length) out.push({denyAll, missing})
  }
  return out
}

export const KNM0504: Rule = {
  code: 'KNM0504',
  severity: 'Error',
  summary:
    "deny-all is in place in knative-serving or knative-eventing while the per-component allow policies of guide 2.3 step 2 are missing: the activator, autoscaler or brokers are cut off (the ordering race the Serverless operator's scripts warn about).",
  run(s) {
    return missingAllows(s).map(({denyAll, missing}) =>
      finding(
        KNM0504,
        [ref(denyAll), ...missing.map((m) => ref(m))],
        `${denyAll.metadata.name} denies everything in ${denyAll.metadata.namespace}, and ${missing.map((m) => m.metadata.name).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`,
        `knmesh tenant-authz --defaults${meshFlag(s.meshNamespace)}`,
      ),
    )
  },
}

export const AUTHZ_RULES = [KNM0501, KNM0502, KNM0503, KNM0504]
