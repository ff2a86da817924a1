import {Kinds} from '../kube/kinds.js'
import {ensureObject, getPath, newObject} from '../change/edit.js'
import {info, type Plan, type Note} from '../change/plan.js'
import {KnmeshError} from '../errors.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_SERVING} from './constants.js'
import {desiredIstioPorts, missingIstioExcludedPorts} from './sail.js'
import {ensureExcludedPorts, missingExcludedPorts, selectSmcp} from './smcp.js'

/** Guide 1.5: Knative Serving metrics with Service Mesh and mTLS. */

export const METRICS_BACKEND_KEY = 'metrics.backend-destination'
export const METRICS_BACKEND = 'prometheus'
export const MONITORING_POLICY = 'allow-from-openshift-monitoring-ns'
export const MONITORING_NAMESPACE_LABEL = {name: 'openshift-monitoring'} as const
/** The selector the Serverless Operator 1.32 puts on its own allow-from-openshift-monitoring-ns (ingress.go). */
export const OPERATOR_MONITORING_NAMESPACE_LABEL = {'kubernetes.io/metadata.name': 'openshift-monitoring'} as const
export const METRICS_PORT = 8444
/** KnativeServing annotation that stops the operator generating its Istio NetworkPolicies (ingress.go). */
export const DISABLE_NET_POLICIES_ANNOTATION = 'serverless.openshift.io/disable-istio-net-policies-generation'

/** Go's strconv.ParseBool true values (the operator parses the annotation with it). */
function goTrue(v: unknown): boolean {
  return typeof v === 'string' && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)
}

/**
 * Whether the Serverless Operator 1.32 generates (and reconciles back) the
 * NetworkPolicies webhook, net-istio-webhook and
 * allow-from-openshift-monitoring-ns in knative-serving: with
 * spec.ingress.istio.enabled, unless the KnativeServing annotation
 * serverless.openshift.io/disable-istio-net-policies-generation parses as
 * true (openshift-knative/serverless-operator release-1.32,
 * openshift-knative-operator/pkg/serving/ingress.go
 * generateDefaultIstioNetworkPoliciesIfRequired).
 */
export function operatorOwnsNetPolicies(serving: KObject | null): boolean {
  if (serving?.spec?.ingress?.istio?.enabled !== true) return false
  return !goTrue(serving.metadata.annotations?.[DISABLE_NET_POLICIES_ANNOTATION])
}

/**
 * The operator's default for metrics.backend-destination when the
 * KnativeServing leaves it unset: "none" with Istio enabled (extension.go,
 * "Temporary fix for SRVKS-743", ConfigureIfUnset), else the shipped
 * config-observability's "prometheus". A value set in the KnativeServing
 * is kept by the operator.
 */
export function operatorBackendDefault(serving: KObject | null): string {
  return serving?.spec?.ingress?.istio?.enabled === true ? 'none' : METRICS_BACKEND
}

export interface MetricsState {
  serving: KObject | null
  /** The NetworkPolicies in knative-serving. */
  policies: KObject[]
  /** The SMCPs in the mesh namespace (Service Mesh 2). */
  smcps: KObject[]
  /** Service Mesh 3: the Istio whose spec.namespace is the mesh namespace (null: none). Absent on Service Mesh 2. */
  istio?: KObject | null
}

/** Whether the state is Service Mesh 3's (readMetrics read the Istio instead of SMCPs). */
function isMesh3(state: MetricsState): boolean {
  return state.istio !== undefined
}

/**
 * Service Mesh 3 creates no NetworkPolicies (docs/reference/service-mesh-3.md N12, DSAIL ossm2-vs-ossm3.md), so
 * knative-serving's pods are isolated only when some NetworkPolicy there selects them: then openshift-monitoring needs
 * its own way in. True when a NetworkPolicy of knative-serving has Ingress rules (or no policyTypes) and none lets
 * monitoring in.
 */
export function monitoringBlocked3(policies: KObject[]): boolean {
  const isolating = policies.filter((p) => {
    const types: string[] | undefined = p.spec?.policyTypes
    return !types || types.includes('Ingress')
  })
  return isolating.length > 0 && !isolating.some(allowsMonitoring)
}

function requireIstio(state: MetricsState, input: MetricsInput): KObject {
  if (!state.istio)
    throw new KnmeshError(
      `there is no Istio (sailoperator.io/v1) with spec.namespace ${input.meshNamespace}: create it first (Service Mesh 3 docs), or pass --mesh-namespace`,
    )
  return state.istio
}

export interface MetricsInput {
  meshNamespace: string
  /** --name: which control plane (needed when there are several), as in configure-mesh. */
  smcpName?: string
}

/** Step 2's NetworkPolicy, exactly as the guide shows it; other fields of a live one kept. */
export function monitoringPolicy(live: KObject | null): KObject {
  const np = live ? structuredClone(live) : newObject(Kinds.NetworkPolicy, MONITORING_POLICY, KNATIVE_SERVING)
  np.spec = {
    ...(np.spec ?? {}),
    ingress: [{from: [{namespaceSelector: {matchLabels: {...MONITORING_NAMESPACE_LABEL}}}]}],
    podSelector: {},
  }
  return np
}

function isEmptySelector(sel: unknown): boolean {
  if (sel === undefined || sel === null) return true
  const s = sel as {matchLabels?: object; matchExpressions?: unknown[]}
  return Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0
}

/**
 * Whether a NetworkPolicy already lets pods of openshift-monitoring reach every
 * pod of knative-serving on every port: it selects all pods and has an ingress
 * rule without ports whose sources include that namespace (by name=openshift-monitoring as
 * the guide selects it, by kubernetes.io/metadata.name=openshift-monitoring as the Serverless
 * Operator does, or every namespace, or any source).
 */
export function allowsMonitoring(np: KObject): boolean {
  const spec = np.spec ?? {}
  if (!isEmptySelector(spec.podSelector)) return false
  const types: string[] | undefined = spec.policyTypes
  if (types && !types.includes('Ingress')) return false
  for (const rule of spec.ingress ?? []) {
    if (Array.isArray(rule?.ports) && rule.ports.length) continue
    const from = rule?.from
    if (!Array.isArray(from) || from.length === 0) return true
    for (const peer of from) {
      if (peer?.ipBlock || !isEmptySelector(peer?.podSelector)) continue
      const ns = peer?.namespaceSelector
      if (!ns) continue
      if (isEmptySelector(ns)) return true
      const labels = ns.matchLabels ?? {}
      if ((ns.matchExpressions ?? []).length || Object.keys(labels).length !== 1) continue
      // The guide's selector (name=openshift-monitoring) or the operator's (kubernetes.io/metadata.name=openshift-monitoring).
      if (labels.name === MONITORING_NAMESPACE_LABEL.name) return true
      if (labels['kubernetes.io/metadata.name'] === OPERATOR_MONITORING_NAMESPACE_LABEL['kubernetes.io/metadata.name']) return true
    }
  }
  return false
}

/** What is missing of guide 1.5 (empty: metrics are enabled). */
export function metricsFindings(state: MetricsState, input: MetricsInput): string[] {
  const out: string[] = []
  if (!state.serving) return [`there is no KnativeServing ${KNATIVE_SERVING}/${KNATIVE_SERVING}`]
  const backend = getPath(state.serving, ['spec', 'config', 'observability', METRICS_BACKEND_KEY])
  if (backend === undefined && operatorBackendDefault(state.serving) !== METRICS_BACKEND) {
    out.push(
      `KnativeServing ${METRICS_BACKEND_KEY} is not set: with Istio enabled the Serverless Operator makes it "none" (SRVKS-743), not "${METRICS_BACKEND}"`,
    )
  } else if (backend !== undefined && backend !== METRICS_BACKEND) out.push(`KnativeServing ${METRICS_BACKEND_KEY} is "${backend}", not "${METRICS_BACKEND}"`)
  if (isMesh3(state)) {
    if (!operatorOwnsNetPolicies(state.serving) && monitoringBlocked3(state.policies))
      out.push(`NetworkPolicies in ${KNATIVE_SERVING} isolate its pods and none lets openshift-monitoring in`)
    try {
      const istio = requireIstio(state, input)
      if (missingIstioExcludedPorts(istio, [METRICS_PORT]).length)
        out.push(`Istio ${istio.metadata.name} does not exclude inbound port ${METRICS_PORT} (spec.values.global.proxy.excludeInboundPorts)`)
    } catch (error) {
      out.push((error as Error).message)
    }
    return out
  }
  if (!state.policies.some(allowsMonitoring)) {
    out.push(
      operatorOwnsNetPolicies(state.serving)
        ? `no NetworkPolicy in ${KNATIVE_SERVING} lets openshift-monitoring in yet: the Serverless Operator generates ${MONITORING_POLICY} there (Istio enabled); is it running?`
        : `no NetworkPolicy in ${KNATIVE_SERVING} lets openshift-monitoring in`,
    )
  }
  try {
    const smcp = selectMetricsSmcp(state, input)
    if (missingExcludedPorts(smcp, [METRICS_PORT]).length)
      out.push(`ServiceMeshControlPlane ${smcp.metadata.name} does not exclude inbound port ${METRICS_PORT}`)
  } catch (error) {
    out.push((error as Error).message)
  }
  return out
}

/** configure-mesh's choice of control plane (--name, or the only one); no --create here: the mesh must exist. */
function selectMetricsSmcp(state: MetricsState, input: MetricsInput): KObject {
  const ns = input.meshNamespace
  if (state.smcps.length === 0)
    throw new KnmeshError(`there is no ServiceMeshControlPlane in ${ns}: create it first (knmesh configure-mesh --create), or pass --mesh-namespace`)
  if (input.smcpName && !state.smcps.some((s) => s.metadata.name === input.smcpName)) {
    throw new KnmeshError(`there is no ServiceMeshControlPlane ${input.smcpName} in ${ns} (there is ${state.smcps.map((s) => s.metadata.name).join(', ')})`)
  }
  return selectSmcp({smcps: state.smcps}, {meshNamespace: ns, name: input.smcpName}).live!
}

/**
 * enable-metrics: guide 1.5's three steps. State: MetricsState (the KnativeServing or null, the NetworkPolicies of
 * knative-serving, the SMCPs of the mesh namespace, or on Service Mesh 3 the Istio). Returns up to three items: the
 * KnativeServing with spec.config.observability metrics.backend-destination prometheus; the NetworkPolicy
 * allow-from-openshift-monitoring-ns exactly as the guide shows it, unless an equivalent policy exists or the Serverless
 * Operator owns the policies (a note says which) — on Service Mesh 3 (reference N12) only when other NetworkPolicies
 * in knative-serving isolate its pods, since mesh 3 creates none; and inbound port 8444 excluded from the sidecar (the
 * SMCP's excludedPorts, or the Istio's excludeInboundPorts string, user ports kept). Every other field is kept. Throws
 * KnmeshError (exit 4) when there is no KnativeServing, or when no single control plane can be chosen (none, or
 * several SMCPs without --name). Upstream: the guide's 1.5 (Integrations, "Enabling Knative Serving metrics when
 * using Service Mesh with mTLS").
 */
export function planEnableMetrics(state: MetricsState, input: MetricsInput): Plan {
  if (!state.serving) throw new KnmeshError(`there is no KnativeServing ${KNATIVE_SERVING} in namespace ${KNATIVE_SERVING}: install Knative Serving first`)
  const notes: Note[] = []
  const items: Plan['items'] = []

  // Step 1: the metrics backend.
  const ks = structuredClone(state.serving)
  ensureObject(ks, ['spec', 'config', 'observability'])[METRICS_BACKEND_KEY] = METRICS_BACKEND
  items.push({live: state.serving, desired: ks})

  if (isMesh3(state)) {
    const istio = requireIstio(state, input)
    const named = state.policies.find((p) => p.metadata.name === MONITORING_POLICY) ?? null
    if (operatorOwnsNetPolicies(state.serving)) {
      notes.push(
        info(
          `NetworkPolicy ${KNATIVE_SERVING}/${MONITORING_POLICY} is the Serverless Operator's (generated with Istio enabled): left to it; knmesh enable-istio on Service Mesh 3 turns that generation off (${DISABLE_NET_POLICIES_ANNOTATION})`,
        ),
      )
    } else if (monitoringBlocked3(state.policies)) {
      items.push({live: named, desired: monitoringPolicy(named)})
    } else {
      notes.push(info(`no NetworkPolicy is needed: Service Mesh 3 creates none, and none in ${KNATIVE_SERVING} keeps openshift-monitoring out`))
    }
    items.push({live: istio, desired: desiredIstioPorts(istio, [METRICS_PORT])})
    return {items, notes}
  }

  // Step 2: the NetworkPolicy, unless an equivalent one exists, or the operator owns it.
  const named = state.policies.find((p) => p.metadata.name === MONITORING_POLICY) ?? null
  const equivalent = state.policies.find(allowsMonitoring)
  if (operatorOwnsNetPolicies(state.serving)) {
    // Writing the guide's form would fight the operator: it reconciles its own form back.
    notes.push(
      info(
        `NetworkPolicy ${KNATIVE_SERVING}/${MONITORING_POLICY} is the Serverless Operator's (generated with Istio enabled, selector kubernetes.io/metadata.name=openshift-monitoring): ` +
          (named ? 'left to it' : 'it creates it') +
          `; to own it yourself, annotate KnativeServing ${DISABLE_NET_POLICIES_ANNOTATION}=true`,
      ),
    )
  } else if (equivalent && equivalent !== named) {
    notes.push(info(`NetworkPolicy ${KNATIVE_SERVING}/${equivalent.metadata.name} already lets openshift-monitoring in: ${MONITORING_POLICY} is not needed`))
  } else if (!(named && allowsMonitoring(named))) {
    items.push({live: named, desired: monitoringPolicy(named)})
  }

  // Step 3: exclude the metrics port from the sidecar (configure-mesh's port helper).
  const live = selectMetricsSmcp(state, input)
  items.push({live, desired: ensureExcludedPorts(structuredClone(live), [METRICS_PORT])})
  return {items, notes}
}
