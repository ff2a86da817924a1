import {newObject} from '../change/edit.js'
import {actionOf, info, warning, type Note, type Plan, type PlanItem} from '../change/plan.js'
import {KnmeshError} from '../errors.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_SERVING, MANAGED_BY} from './constants.js'
import {injectedNamespace, injectionLabel, INJECTION_LABEL, planMembers3} from './members3.js'
import {
  defaultItems,
  defaultPolicies,
  KNATIVE_SERVING_INGRESS,
  namespacesOutsideMesh,
  nextNamespaces,
  planTenantAuthz,
  planTenantCore,
  policiesByKey,
  tenantsOf,
  type TenantAuthzInput,
  type TenantAuthzState,
} from './tenant-authz.js'

/**
 * tenant-authz on Service Mesh 3 (docs/reference/service-mesh-3.md §1.1 rows 15-16, N15, N16; the Serverless
 * operator's e2e hack/lib/mesh_v3_resources/authorization-policies/{setup,helm}/*, 07b_autoscaler_peer_authentication.yaml
 * and hack/lib/mesh3.bash, hack/mesh-authz.sh):
 *  - every AuthorizationPolicy is written as security.istio.io/v1 (the same stored objects as v1beta1: a policy a
 *    2.x install left is read through v1 and updated in place, never duplicated);
 *  - gateway traffic comes from knative-serving-ingress (the user-owned gateway's namespace), not the mesh namespace;
 *  - --defaults adds allow-traffic-to-ingress-gateway in knative-serving-ingress and the PeerAuthentication
 *    autoscaler-permissive, and writes every ALLOW policy before the two deny-all-by-default (N15's race: deny-all
 *    before the ALLOWs reach the sidecars cuts the activator off the autoscaler);
 *  - a tenant gets allow-NAME-to-job-sink with eventing;
 *  - membership is the namespace injection label (members3.ts), not the member roll;
 *  - writes into knative-serving wait for KnativeServing Ready: the plan is refused otherwise (exit 4).
 */

/** The e2e's PeerAuthentication that keeps the autoscaler reachable by the activator under STRICT mTLS (07b). */
export const AUTOSCALER_PERMISSIVE = 'autoscaler-permissive'
export const INGRESS_GATEWAY_POLICY = 'allow-traffic-to-ingress-gateway'
export const DENY_ALL = 'deny-all-by-default'

export interface TenantAuthz3State {
  meshNamespace: string
  /** Every AuthorizationPolicy of the cluster, read as security.istio.io/v1. */
  policies: KObject[]
  /** Every Namespace object by name (null when the user may not list them). */
  namespaces: Map<string, KObject> | null
  /** The Istio serving the mesh namespace (null when none). */
  istio: KObject | null
  /** KnativeServing knative-serving/knative-serving (null when absent or not served). */
  serving: KObject | null
  /** The PeerAuthentications of knative-serving (security.istio.io/v1). */
  peerAuthentications: KObject[]
}

/**
 * The cluster-wide policies of guide 2.3 step 2 as the Service Mesh 3 e2e writes them, in apply order: the ALLOW
 * policies (allow-traffic-to-activator from knative-serving and knative-serving-ingress), then the new
 * allow-traffic-to-ingress-gateway (N15: from knative-serving and knative-serving-ingress, or any source to ports
 * 8080 and 8443), then the two deny-all-by-default last. All security.istio.io/v1.
 */
export function defaultPolicies3(): KObject[] {
  const v1 = (o: KObject): KObject => ({...o, apiVersion: 'security.istio.io/v1'})
  const two = defaultPolicies(KNATIVE_SERVING_INGRESS).map(v1)
  // The guide's activator rule names the mesh namespace; on 3 the gateway is in knative-serving-ingress (already in its place).
  const gateway = v1(
    newObject(Kinds.AuthorizationPolicyV1, INGRESS_GATEWAY_POLICY, KNATIVE_SERVING_INGRESS, {
      spec: {
        selector: {matchLabels: {knative: 'ingressgateway'}},
        action: 'ALLOW',
        rules: [{from: [{source: {namespaces: [KNATIVE_SERVING, KNATIVE_SERVING_INGRESS]}}]}, {to: [{operation: {ports: ['8080', '8443']}}]}],
      },
    }),
  )
  const allows = two.filter((p) => p.metadata.name !== DENY_ALL)
  const denies = two.filter((p) => p.metadata.name === DENY_ALL)
  return [...allows, gateway, ...denies]
}

/**
 * PeerAuthentication knative-serving/autoscaler-permissive (selector app: autoscaler, mtls PERMISSIVE), as the e2e
 * applies it: the live one with spec.mtls.mode PERMISSIVE merged in (other fields kept), or a new one.
 */
export function autoscalerPermissiveItem(peerAuthentications: KObject[]): PlanItem {
  const live = peerAuthentications.find((p) => p.metadata.namespace === KNATIVE_SERVING && p.metadata.name === AUTOSCALER_PERMISSIVE) ?? null
  if (live) {
    const desired = structuredClone(live)
    desired.spec = {...desired.spec, selector: {matchLabels: {app: 'autoscaler'}}, mtls: {...desired.spec?.mtls, mode: 'PERMISSIVE'}}
    return {live, desired}
  }
  const desired = newObject(Kinds.PeerAuthenticationV1, AUTOSCALER_PERMISSIVE, KNATIVE_SERVING, {
    spec: {selector: {matchLabels: {app: 'autoscaler'}}, mtls: {mode: 'PERMISSIVE'}},
  })
  desired.metadata.labels = {...MANAGED_BY}
  return {live: null, desired}
}

/** "True", or why KnativeServing is not Ready ("absent", "Ready=False (reason: message)", "no Ready condition yet"). */
export function servingReadiness(serving: KObject | null): string {
  if (!serving) return 'absent'
  const c = ((serving.status?.conditions ?? []) as {type?: string; status?: string; reason?: string; message?: string}[]).find((x) => x.type === 'Ready')
  if (!c) return 'no Ready condition yet'
  if (c.status === 'True') return 'True'
  return `Ready=${c.status ?? 'Unknown'}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : ''}`
}

/**
 * tenant-authz on Service Mesh 3. State: TenantAuthz3State (src/read/authz.ts readTenantAuthzFor); input: as
 * planTenantAuthz. Items, in apply order: the default ALLOW policies and autoscaler-permissive (--defaults), the
 * tenant's policies, the namespace injection labels (--add-to-mesh), the two deny-all-by-default (--defaults).
 * Throws what planTenantAuthz throws, and KnmeshError (exit 4) when the plan writes into knative-serving while
 * KnativeServing is not Ready (N15: "AuthorizationPolicies are applied separately after KnativeServing is ready"):
 * nothing is written then. Deleting (--delete, --remove-namespace) is never held back.
 */
export function planTenantAuthz3(state: TenantAuthz3State, input: TenantAuthzInput): Plan {
  const notes: Note[] = []
  const first: PlanItem[] = []
  const last: PlanItem[] = []
  const byKey = policiesByKey(state.policies)
  if (input.defaults) {
    const d = defaultItems(defaultPolicies3(), byKey)
    first.push(...d.filter((i) => i.desired?.metadata.name !== DENY_ALL), autoscalerPermissiveItem(state.peerAuthentications))
    last.push(...d.filter((i) => i.desired?.metadata.name === DENY_ALL))
    const dropped = d.filter((i) => i.live && JSON.stringify(i.live.spec?.rules ?? []).includes(`"${state.meshNamespace}"`))
    if (dropped.length)
      notes.push(
        info(
          `Service Mesh 3: ${dropped.map((i) => `${i.live!.metadata.namespace}/${i.live!.metadata.name}`).join(', ')} no longer name${dropped.length > 1 ? '' : 's'} ${state.meshNamespace}: the Knative gateways run in ${KNATIVE_SERVING_INGRESS}`,
        ),
      )
  }
  const items: PlanItem[] = [...first]
  const tenant = input.tenant
  if (tenant) {
    const core = planTenantCore(state.policies, byKey, state.namespaces && new Set(state.namespaces.keys()), {...input, tenant, generation: 3})
    items.push(...core.items)
    notes.push(...core.notes)
    if (core.namespaces) {
      const outside = core.namespaces.filter((ns) => !injectedNamespace(state.namespaces?.get(ns), state.istio))
      if (outside.length && state.istio && input.addToMesh) {
        const m = planMembers3(
          {meshNamespace: state.meshNamespace, istio: state.istio, namespaces: new Map(outside.map((n) => [n, state.namespaces?.get(n) ?? null]))},
          {add: outside},
        )
        items.push(...m.items)
        notes.push(...m.notes)
      } else if (outside.length) {
        const label = state.istio ? injectionLabel(state.istio).join('=') : `${INJECTION_LABEL}=enabled`
        notes.push(
          warning(
            `${outside.join(', ')} ${outside.length > 1 ? 'are' : 'is'} not labeled ${label}: the policies are enforced only by mesh sidecars; run "knmesh add-namespace ${outside.join(' ')}" or pass --add-to-mesh`,
          ),
        )
      }
    }
  }
  items.push(...last)
  const ready = servingReadiness(state.serving)
  const intoServing = items.some((i) => i.desired && i.desired.metadata.namespace === KNATIVE_SERVING && actionOf(i) !== 'unchanged')
  if (intoServing && ready !== 'True') {
    throw new KnmeshError(
      `KnativeServing ${KNATIVE_SERVING}/${KNATIVE_SERVING} is not Ready (${ready}): on Service Mesh 3 the AuthorizationPolicies go in once it is, so that deny-all-by-default cannot cut the activator off the autoscaler before the ALLOW policies reach the sidecars; wait (oc wait knativeserving/${KNATIVE_SERVING} -n ${KNATIVE_SERVING} --for=condition=Ready --timeout=10m) and run again: nothing was changed`,
    )
  }
  return {items, notes}
}

/** tenant-authz's state, per generation (src/read/authz.ts readTenantAuthzFor). */
export type TenantAuthzStateFor = ({generation: 2} & TenantAuthzState) | ({generation: 3} & TenantAuthz3State)

/** tenant-authz's plan for the generation found: planTenantAuthz (2) or planTenantAuthz3 (3). */
export function planTenantAuthzFor(state: TenantAuthzStateFor, input: TenantAuthzInput): Plan {
  return state.generation === 3 ? planTenantAuthz3(state, input) : planTenantAuthz(state, input)
}

/** The tenant's namespaces (after the change) outside the mesh: not in the member roll (2), without the injection label (3). */
export function namespacesOutsideMeshFor(state: TenantAuthzStateFor, input: TenantAuthzInput): string[] {
  if (state.generation !== 3) return namespacesOutsideMesh(state, input)
  if (!input.tenant || input.delete) return []
  const current = tenantsOf(state.policies).find((x) => x.name === input.tenant)
  return nextNamespaces(current?.namespaces ?? [], input.add ?? [], input.remove ?? []).filter(
    (ns) => !injectedNamespace(state.namespaces?.get(ns), state.istio),
  )
}
