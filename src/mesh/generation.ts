import {UsageError} from '../errors.js'
import type {KObject} from '../kube/types.js'
import {meshFlag, KNATIVE_SERVING_INGRESS} from './constants.js'

/**
 * Which Service Mesh generation serves Serverless, decided in one place (docs/reference/service-mesh-3.md §2):
 *  - 2: the ServiceMeshControlPlane CRD is served and an SMCP lives in the mesh namespace;
 *  - 3: `istios.sailoperator.io` is served and an `Istio` (cluster-scoped) has `spec.namespace` = the mesh
 *    namespace; OpenShift's own `openshift-gateway` Istio (Ingress Operator, Gateway API) never counts;
 *  - both: a 2 → 3 migration is in progress; writes need `--mesh-version 2|3`;
 *  - neither: `null`, and `how` says how to install one (precheck shows it as a finding).
 */
export type MeshGeneration = 2 | 3

/** The Istio the Ingress Operator creates for Gateway API (OCP 4.19+): never the Serverless mesh. */
export const OPENSHIFT_GATEWAY_ISTIO = 'openshift-gateway'

/** What the reader found (src/read/generation.ts). `smcps`/`istios`: null when the kind is not served. */
export interface GenerationFacts {
  meshNamespace: string
  /** The SMCPs in the mesh namespace; null when maistra.io is not served. */
  smcps: KObject[] | null
  /** Every Istio of the cluster; null when sailoperator.io/v1 istios is not served. */
  istios: KObject[] | null
}

export interface GenerationDecision {
  /** The generation the verb acts on; null when neither control plane is there. */
  generation: MeshGeneration | null
  /** Generation 3: the Istio whose spec.namespace is the mesh namespace (null when --mesh-version 3 names none). */
  istio: KObject | null
  /** Generation 2: the SMCP names in the mesh namespace. */
  smcps: string[]
  /** One line for the user: what was found ("Service Mesh 3: Istio default (istio-system, revision default)"). */
  line: string
  /** Both generations are present in the mesh namespace (a migration in progress). */
  both: boolean
}

/** The Istios that can serve Serverless in `meshNamespace`: spec.namespace matches, openshift-gateway ignored. */
export function meshIstios(istios: KObject[], meshNamespace: string): KObject[] {
  return istios.filter((i) => i.metadata.name !== OPENSHIFT_GATEWAY_ISTIO && (i.spec?.namespace ?? 'istio-system') === meshNamespace)
}

/** "revision default" etc.: the active revision of an Istio, from its status (null when not reported yet). */
export function activeRevision(istio: KObject): string | null {
  const r = istio.status?.activeRevisionName
  return typeof r === 'string' && r ? r : null
}

function istioLine(istio: KObject | null, meshNamespace: string): string {
  if (!istio) return `Service Mesh 3 (no Istio with spec.namespace ${meshNamespace})`
  const rev = activeRevision(istio)
  return `Service Mesh 3: Istio ${istio.metadata.name} (${meshNamespace}${rev ? `, revision ${rev}` : ''})`
}

/**
 * Decides the generation. `flag` is --mesh-version (undefined when not given): it picks one when both are
 * present and overrides detection otherwise. Throws UsageError (exit 2) when both are present, no flag is
 * given and `write` is true (a read-only verb reports on generation 2 then and says so in `line`).
 * Several Istios for the namespace: the one named "default", else the first by name.
 */
export function decideGeneration(facts: GenerationFacts, flag?: MeshGeneration, opts: {write?: boolean; bin?: string} = {}): GenerationDecision {
  const ns = facts.meshNamespace
  const smcps = (facts.smcps ?? []).map((s) => s.metadata.name).sort()
  const candidates = meshIstios(facts.istios ?? [], ns).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
  const istio = candidates.find((i) => i.metadata.name === 'default') ?? candidates[0] ?? null
  const has2 = smcps.length > 0
  const has3 = istio !== null
  const both = has2 && has3
  const smcpLine = `Service Mesh 2: ServiceMeshControlPlane ${smcps.join(', ') || '(none)'} in ${ns}`
  if (flag === 2) return {generation: 2, istio: null, smcps, line: smcpLine + (both ? ' (--mesh-version 2; an Istio serves it too)' : ''), both}
  if (flag === 3) return {generation: 3, istio, smcps, line: istioLine(istio, ns) + (both ? ' (--mesh-version 3; an SMCP is there too)' : ''), both}
  if (both) {
    const msg = `both Service Mesh generations serve ${ns}: ServiceMeshControlPlane ${smcps.join(', ')} (2.x) and Istio ${istio.metadata.name} (3): a migration is in progress; pass --mesh-version 2 or --mesh-version 3${meshFlag(ns)}`
    if (opts.write) throw new UsageError(msg)
    return {generation: 2, istio, smcps, line: `${smcpLine}; an Istio (Service Mesh 3) serves it too: pass --mesh-version 3 to check that one`, both}
  }
  if (has2) return {generation: 2, istio: null, smcps, line: smcpLine, both}
  if (has3) return {generation: 3, istio, smcps, line: istioLine(istio, ns), both}
  // Neither: Service Mesh 3's CRDs alone (no 2.x served) make 3 the only generation a user can set up here.
  if (facts.smcps === null && facts.istios !== null) return {generation: 3, istio: null, smcps, line: istioLine(null, ns), both}
  return {generation: null, istio: null, smcps, line: `no Service Mesh control plane in ${ns}`, both}
}

/**
 * The precheck finding for a cluster with no control plane in the mesh namespace: how to install one of
 * either generation. Null when one is there.
 */
export function noControlPlaneFinding(facts: GenerationFacts, bin = 'knmesh'): string | null {
  const d = decideGeneration(facts)
  if (d.generation === 2 || (d.generation === 3 && d.istio)) return null
  const ns = facts.meshNamespace
  const how2 = facts.smcps === null ? 'Service Mesh 2.x: install the Red Hat OpenShift Service Mesh Operator (servicemeshoperator), then' : 'Service Mesh 2.x:'
  const how3 =
    facts.istios === null
      ? 'Service Mesh 3: install the servicemeshoperator3 operator, then create an IstioCNI "default" and an Istio with'
      : 'Service Mesh 3: create an IstioCNI "default" and an Istio with'
  return `no Service Mesh control plane serves ${ns}. ${how2} ${bin} configure-mesh --create${meshFlag(ns)}; or ${how3} spec.namespace ${ns} (oc apply -f, see the Service Mesh 3 docs)`
}

/** Service Mesh 3: the namespace of the user-owned Knative gateway (its pods, Services and TLS Secret). */
export const KNATIVE_GATEWAY_NAMESPACE_3 = KNATIVE_SERVING_INGRESS
/** Service Mesh 3: the gateway Service the Serverless route controller targets (ports http2/https; N6, N18). */
export const KNATIVE_GATEWAY_SERVICE_3 = 'knative-istio-ingressgateway'

/**
 * Where the ingress gateway pods run, hence where its TLS Secret (credentialName) must be: the mesh namespace
 * on Service Mesh 2 (the SMCP's istio-ingressgateway), knative-serving-ingress on Service Mesh 3 (N2, IST0161).
 */
export function gatewayNamespace(generation: MeshGeneration, meshNamespace: string): string {
  return generation === 3 ? KNATIVE_GATEWAY_NAMESPACE_3 : meshNamespace
}
