import {actionOf, type Plan, type PlanItem} from '../change/plan.js'
import {KnmeshError} from '../errors.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {planAnnotateServices3} from './annotate3.js'
import {KNATIVE_EVENTING, KNATIVE_SERVING} from './constants.js'
import {INGRESS_GATEWAY, LOCAL_GATEWAY} from './gateways.js'
import {GATEWAY_DEPLOYMENT, GATEWAY_NAMESPACE, GATEWAY_SERVICE, SDS_ROLE, planGateways3} from './gateways3.js'
import {KAFKA_SERVICE_ENTRY, KNATIVE_KAFKA} from './istio.js'
import {planEnableIstio3} from './istio3.js'
import {credentialName, getObject, istioOf, listObjects, StepBlockedError, type Mesh3Planners, type MigrationState} from './migrate.js'
import {DEFAULT_CLUSTER_DOMAIN, tenantsOf} from './tenant-authz.js'
import {DENY_ALL, planTenantAuthz3, servingReadiness} from './tenant-authz3.js'

/**
 * migrate-mesh's steps 5, 7 and 9 (docs/reference/service-mesh-3.md §3 steps 5, 6-7, 9) are the Service Mesh 3
 * planners of create-gateways, enable-istio, annotate-services and tenant-authz, fed from the migration's object
 * index (src/mesh/migrate.ts), so each step is planned on the cluster as the earlier steps leave it. Pure.
 * networking.istio.io v1 is written when the Sail operator is installed (its Istio 1.27 CRDs serve it).
 */
export function mesh3Planners(): Mesh3Planners {
  return {gateways: blocking(gatewaysOf), istio: blocking(istioOfState), services: blocking(servicesOf), policies: blocking(policiesOf)}
}

/** A verb's refusal (KnmeshError) is the step's: StepBlockedError, so the read-only plan shows it on that step's row. */
function blocking(plan: (state: MigrationState) => Plan): (state: MigrationState) => Plan {
  return (state) => {
    try {
      return plan(state)
    } catch (error) {
      if (error instanceof KnmeshError && !(error instanceof StepBlockedError)) throw new StepBlockedError(error.message)
      throw error
    }
  }
}

const byName = (objs: KObject[]) => new Map(objs.map((o) => [o.metadata.name, o]))

/** Step 5: create-gateways on Service Mesh 3 (planGateways3); the 443/"*" conflict check sees every Gateway. */
function gatewaysOf(state: MigrationState): Plan {
  const ns = GATEWAY_NAMESPACE
  const secret = credentialName(state)
  return planGateways3(
    {
      meshNamespace: state.meshNamespace,
      istio: istioOf(state),
      gatewayKind: state.sailServed ? Kinds.GatewayV1 : Kinds.Gateway,
      namespace: getObject(state, Kinds.Namespace, ns),
      deployment: getObject(state, Kinds.Deployment, GATEWAY_DEPLOYMENT, ns),
      role: getObject(state, Kinds.Role, SDS_ROLE, ns),
      roleBinding: getObject(state, Kinds.RoleBinding, SDS_ROLE, ns),
      ingressService: getObject(state, Kinds.Service, GATEWAY_SERVICE, ns),
      localService: getObject(state, Kinds.Service, LOCAL_GATEWAY, ns),
      ingress: getObject(state, Kinds.Gateway, INGRESS_GATEWAY, KNATIVE_SERVING),
      local: getObject(state, Kinds.Gateway, LOCAL_GATEWAY, KNATIVE_SERVING),
      // The Secret is in knative-serving-ingress already, or this step copies it there from the mesh namespace.
      secretExists: getObject(state, Kinds.Secret, secret, ns) !== null || getObject(state, Kinds.Secret, secret, state.meshNamespace) !== null,
      allGateways: listObjects(state, Kinds.Gateway),
    },
    // The Knative Gateways are Serverless's own: a foreign 443/"*" Gateway was precheck's concern on 2.x already.
    {meshNamespace: state.meshNamespace, secret, force: true},
  )
}

/** Step 7: enable-istio on Service Mesh 3 (planEnableIstio3): labels, the disable annotation, config.istio re-pointed. */
function istioOfState(state: MigrationState): Plan {
  const eventing = getObject(state, Kinds.KnativeEventing, KNATIVE_EVENTING, KNATIVE_EVENTING)
  return planEnableIstio3(
    {
      serving: getObject(state, Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING),
      eventing,
      kafka: getObject(state, Kinds.KnativeKafka, KNATIVE_KAFKA, KNATIVE_EVENTING),
      serviceEntry: getObject(state, Kinds.ServiceEntry, KAFKA_SERVICE_ENTRY, KNATIVE_EVENTING),
      istio: istioOf(state),
      serviceEntryKind: state.sailServed ? Kinds.ServiceEntryV1 : Kinds.ServiceEntry,
    },
    // Eventing is configured when installed: planEnableIstio3 says so when it is not.
    {meshNamespace: state.meshNamespace, eventing: true},
  )
}

/** Step 7: the Knative Services that carry the 2.x inject annotation get the label instead (planAnnotateServices3). */
function servicesOf(state: MigrationState): Plan {
  const services = listObjects(state, Kinds.KnativeService).filter((s) => s.spec?.template?.metadata?.annotations?.['sidecar.istio.io/inject'] !== undefined)
  if (services.length === 0) return {items: [], notes: []}
  return planAnnotateServices3(
    {services, missing: [], istio: istioOf(state), namespaces: byName(listObjects(state, Kinds.Namespace))},
    {meshNamespace: state.meshNamespace, namespaces: [...new Set(services.map((s) => s.metadata.namespace!))]},
  )
}

/**
 * Step 9: every tenant's policies and, when the cluster-wide ones are installed (a deny-all-by-default in
 * knative-serving), those too, re-planned as tenant-authz renders them on Service Mesh 3 (security.istio.io/v1,
 * knative-serving-ingress in the allow lists, job-sink, allow-traffic-to-ingress-gateway, autoscaler-permissive).
 * The deny-all-by-default policies go last (N15's ordering race). Throws what planTenantAuthz3 throws (KnativeServing
 * not Ready: exit 4, the step stops and says so).
 */
function policiesOf(state: MigrationState): Plan {
  const policies = listObjects(state, Kinds.AuthorizationPolicy)
  const tenants = tenantsOf(policies)
  const defaults = policies.some((p) => p.metadata.namespace === KNATIVE_SERVING && p.metadata.name === DENY_ALL)
  if (!defaults && tenants.length === 0) return {items: [], notes: []}
  const st = {
    meshNamespace: state.meshNamespace,
    policies,
    namespaces: byName(listObjects(state, Kinds.Namespace)),
    istio: istioOf(state),
    serving: getObject(state, Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING),
    peerAuthentications: listObjects(state, Kinds.PeerAuthenticationV1, KNATIVE_SERVING),
  }
  // N15: the policies go in once KnativeServing is Ready (tenant-authz on Service Mesh 3 refuses before): a wait.
  const ready = servingReadiness(st.serving)
  if (ready !== 'True')
    throw new StepBlockedError(
      `KnativeServing ${KNATIVE_SERVING}/${KNATIVE_SERVING} is not Ready (${ready}): the policies go in once it is, so that deny-all-by-default cannot cut the activator off the autoscaler`,
      true,
    )
  const input = {meshNamespace: state.meshNamespace, clusterDomain: DEFAULT_CLUSTER_DOMAIN}
  const plans = [
    ...tenants.map((t) => planTenantAuthz3(st, {...input, tenant: t.name})),
    ...(defaults ? [planTenantAuthz3(st, {...input, defaults: true})] : []),
  ]
  const seen = new Set<string>()
  const items: PlanItem[] = []
  for (const item of plans.flatMap((p) => p.items)) {
    const o = (item.desired ?? item.live)!
    const k = `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`
    if (seen.has(k)) continue
    seen.add(k)
    items.push(item)
  }
  const isDenyAll = (i: PlanItem) => i.desired?.metadata.name === DENY_ALL && actionOf(i) !== 'unchanged'
  return {items: [...items.filter((i) => !isDenyAll(i)), ...items.filter(isDenyAll)], notes: plans.flatMap((p) => p.notes)}
}
