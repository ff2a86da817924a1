import {DISABLE_NET_POLICIES_ANNOTATION} from './metrics.js'
import type {KindInfo} from '../kube/kinds.js'
import {ensureArray, ensureObject, upsertNamed} from '../change/edit.js'
import {info, type Note, type Plan} from '../change/plan.js'
import {KnmeshError} from '../errors.js'
import type {JsonObject, KObject} from '../kube/types.js'
import {KNATIVE_SERVING, INJECT_KEY} from './constants.js'
import {GATEWAY_NAMESPACE, GATEWAY_SERVICE, gatewayRevision} from './gateways3.js'
import {INGRESS_GATEWAY, LOCAL_GATEWAY} from './gateways.js'
import {
  EVENTING_WORKLOADS,
  KAFKA_WORKLOADS,
  SERVING_DEPLOYMENTS,
  istioIngress,
  planEnableIstioWith,
  planEnableIstio,
  type IstioInput,
  type IstioState,
} from './istio.js'
import {REVISION_LABEL} from './members3.js'

/**
 * enable-istio on Service Mesh 3 (docs/reference/service-mesh-3.md §1.1 rows 7-10, N5, N7-N10; docs serverless
 * module `serverless-ossm-installing-and-configuring-openshift-serverless.adoc`; SO `enable_istio_mesh3`,
 * `enable_istio_eventing`, `enable_istio_eventing_kafka`, `mesh_v3_resources/kafka-service-entry.yaml`):
 *  - KnativeServing and KnativeEventing get `metadata.annotations`
 *    `serverless.openshift.io/disable-istio-net-policies-generation: "true"` (Service Mesh 3 makes no NetworkPolicies,
 *    so the operator's must go: DOC3 disabling-network-policies);
 *  - injection is a pod *label* `sidecar.istio.io/inject: "true"` (Service Mesh 3's webhooks read no annotation: N5),
 *    plus `istio.io/rev=<revision>` when the Istio's active revision is not `default`; the annotation
 *    `sidecar.istio.io/rewriteAppHTTPProbers: "true"` stays an annotation (docs);
 *  - KnativeServing: spec.ingress.istio.enabled (Kourier turned off as on 2.x), the activator/autoscaler entries of
 *    **spec.deployments** (decision below), spec.config.istio naming the Services in knative-serving-ingress (N7);
 *  - KnativeEventing: config.features.istio enabled, the 2.x four workloads plus `job-sink` (N8);
 *  - KnativeKafka: the seven workloads (N9);
 *  - ServiceEntry kafka-cluster as on 2.x (port names already unique), networking.istio.io/v1 when served (N10).
 * A 2.x inject *annotation* found on any entry of spec.deployments/spec.workloads of these resources is ignored by
 * Service Mesh 3: it becomes the label with the same value (so "false" stays an opt-out), with a note.
 *
 * Decision (N7, deployments[] vs workloads[]): KnativeServing keeps using `spec.deployments`, as knmesh does on 2.x
 * and as the 3.x docs do; `spec.deployments` is deprecated in favour of `spec.workloads` in the vendored operator API
 * (the e2e writes workloads[]), but writing the label into workloads[] would leave a 2.x cluster's annotated
 * deployments[] entries next to new workloads[] entries for the same Deployment — two overrides whose precedence
 * the Serverless docs do not state. One list per resource, the same one on both generations: a 2 → 3 migration
 * edits the entries the user already has. KnativeEventing and KnativeKafka use spec.workloads on both generations
 * (they have no deployments[] in the guide).
 *
 * Throws KnmeshError (exit 4) when no Istio serves the mesh namespace, or a RevisionBased one has no active revision.
 */

export {INJECT_KEY}
export const INJECT_LABEL = {[INJECT_KEY]: 'true'} as const
export const REWRITE_PROBERS_ANNOTATION = {'sidecar.istio.io/rewriteAppHTTPProbers': 'true'} as const
/** The 2.x Eventing workloads plus job-sink (docs; SO enable_istio_eventing). */
export const EVENTING_WORKLOADS_3 = [...EVENTING_WORKLOADS, 'job-sink']

export interface Istio3State extends IstioState {
  /** The Istio serving the mesh namespace (its active revision); null when none. */
  istio: KObject | null
  /** The ServiceEntry apiVersion to write: Kinds.ServiceEntryV1 when served, else Kinds.ServiceEntry. */
  serviceEntryKind: KindInfo
}

/** spec.config.istio of KnativeServing on Service Mesh 3: the gateway Services in knative-serving-ingress (N7). */
export function istioGatewayConfig3(): Record<string, string> {
  return {
    [`gateway.${KNATIVE_SERVING}.${INGRESS_GATEWAY}`]: `${GATEWAY_SERVICE}.${GATEWAY_NAMESPACE}.svc.cluster.local`,
    [`local-gateway.${KNATIVE_SERVING}.${LOCAL_GATEWAY}`]: `${LOCAL_GATEWAY}.${GATEWAY_NAMESPACE}.svc.cluster.local`,
  }
}

type Obj = JsonObject

/** The labels that put a pod in the mesh: inject=<value>, and istio.io/rev for a non-default revision when "true". */
function injectLabels(value: string, revision: string | null): Record<string, string> {
  return value === 'true' && revision ? {[INJECT_KEY]: value, [REVISION_LABEL]: revision} : {[INJECT_KEY]: value}
}

/**
 * Every entry of spec.deployments / spec.workloads with the 2.x inject annotation: the annotation becomes the label
 * (same value; Service Mesh 3 ignores the annotation), one note per entry.
 */
function migrateInjectAnnotations(obj: KObject, revision: string | null, notes: Note[]): void {
  for (const field of ['deployments', 'workloads']) {
    const list = obj.spec?.[field]
    if (!Array.isArray(list)) continue
    for (const entry of list as Obj[]) {
      const value = entry?.annotations?.[INJECT_KEY]
      if (value === undefined) continue
      const {[INJECT_KEY]: _gone, ...rest} = entry.annotations
      if (Object.keys(rest).length) entry.annotations = rest
      else delete entry.annotations
      entry.labels = {...injectLabels(String(value), revision), ...entry.labels}
      notes.push(
        info(
          `${obj.kind} spec.${field} ${entry.name}: the annotation ${INJECT_KEY}: "${value}" is ignored by Service Mesh 3; it becomes the label ${INJECT_KEY}: "${entry.labels[INJECT_KEY]}"`,
        ),
      )
    }
  }
}

/** The named entries of spec.<field> get the inject label (and istio.io/rev), the rewriteAppHTTPProbers annotation. */
function labelAll(obj: KObject, field: 'deployments' | 'workloads', names: string[], revision: string | null): void {
  const list = ensureArray(obj, ['spec', field])
  for (const n of names) {
    const entry = upsertNamed(list, n)
    entry.labels = {...entry.labels, ...injectLabels('true', revision)}
    entry.annotations = {...entry.annotations, ...REWRITE_PROBERS_ANNOTATION}
  }
}

function disableNetPolicies(obj: KObject): void {
  obj.metadata.annotations = {...obj.metadata.annotations, [DISABLE_NET_POLICIES_ANNOTATION]: 'true'}
}

export function desiredServing3(live: KObject | null, revision: string | null, notes: Note[] = []): KObject {
  const ks = istioIngress(live)
  disableNetPolicies(ks)
  migrateInjectAnnotations(ks, revision, notes)
  labelAll(ks, 'deployments', SERVING_DEPLOYMENTS, revision)
  Object.assign(ensureObject(ks, ['spec', 'config', 'istio']), istioGatewayConfig3())
  return ks
}

export function desiredEventing3(live: KObject, revision: string | null, notes: Note[] = []): KObject {
  const ke = structuredClone(live)
  disableNetPolicies(ke)
  ensureObject(ke, ['spec', 'config', 'features']).istio = 'enabled'
  migrateInjectAnnotations(ke, revision, notes)
  labelAll(ke, 'workloads', EVENTING_WORKLOADS_3, revision)
  return ke
}

export function desiredKafka3(live: KObject, revision: string | null, notes: Note[] = []): KObject {
  const kk = structuredClone(live)
  migrateInjectAnnotations(kk, revision, notes)
  labelAll(kk, 'workloads', KAFKA_WORKLOADS, revision)
  return kk
}

/** enable-istio on Service Mesh 3: see the module comment for the objects, the N7 decision and the errors. */
export function planEnableIstio3(state: Istio3State, input: IstioInput): Plan {
  const {istio} = state
  if (!istio)
    throw new KnmeshError(
      `there is no Istio (sailoperator.io/v1) with spec.namespace ${input.meshNamespace}: create it first (Service Mesh 3 docs); nothing was changed`,
    )
  const revision = gatewayRevision(istio)
  const notes: Note[] = []
  return planEnableIstioWith(
    state,
    input,
    {
      serving: (live) => desiredServing3(live, revision, notes),
      eventing: (live) => desiredEventing3(live, revision, notes),
      kafka: (live) => desiredKafka3(live, revision, notes),
      serviceEntryKind: state.serviceEntryKind,
    },
    notes,
  )
}

/** enable-istio's state, per generation (src/read/install.ts readIstioFor). */
export type EnableIstioState = ({generation: 2} & IstioState) | ({generation: 3} & Istio3State)

/** enable-istio's plan for the generation found: the guide's (src/mesh/istio.ts) or {@link planEnableIstio3}. */
export function planEnableIstioFor(state: EnableIstioState, input: IstioInput): Plan {
  return state.generation === 3 ? planEnableIstio3(state, input) : planEnableIstio(state, input)
}
