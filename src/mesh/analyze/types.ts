import type {KObject} from '../../kube/types.js'
import type {MeshGeneration} from '../generation.js'

/**
 * analyze: findings about what breaks the Serverless–Service Mesh integration
 * (2.x and 3), from API objects alone (no pods needed: Knative scales to zero).
 * Each rule is a pure function, AnalyzeState in, Finding[] out; a rule runs on
 * the generations it lists (Rule.generations, both when absent).
 */

/** As istioctl analyze: Error breaks traffic, Warning likely does, Info is worth knowing. */
export type Severity = 'Error' | 'Warning' | 'Info'

export const SEVERITY_ORDER: Severity[] = ['Error', 'Warning', 'Info']

export interface ObjectRef {
  kind: string
  namespace?: string
  name: string
}

export interface Finding {
  /** Stable code, KNMaabb (aa: area, bb: check). */
  code: string
  severity: Severity
  /** The objects involved, the first one is the one to look at. */
  objects: ObjectRef[]
  /** One line. */
  message: string
  /** The knmesh command or manual step that fixes it. */
  fix?: string
}

/** One read of the cluster (see read.ts): each kind listed once, cluster-wide. Kinds not served read as []. */
export interface AnalyzeState {
  meshNamespace: string
  /** The Service Mesh generation analyzed (src/mesh/generation.ts): 2 reads the SMCP/SMMR, 3 the Istio and namespace labels. */
  generation: MeshGeneration
  /** Service Mesh 3 only (null on 2). */
  mesh3: Analyze3 | null
  /** ServiceMeshControlPlanes in the mesh namespace. */
  smcps: KObject[]
  /** The mesh's ServiceMeshMemberRoll (null: none). */
  smmr: KObject | null
  /** Every member roll, to tell another mesh's Gateways apart. */
  memberRolls: KObject[]
  gateways: KObject[]
  /** Core Services of the mesh namespace, of the namespaces config-istio names and (3) of knative-serving-ingress. */
  services: KObject[]
  /** Secrets of the namespaces where gateways run, and (3) of the mesh namespace (null: not allowed to read them). */
  secrets: KObject[] | null
  /** Deployments, StatefulSets and DaemonSets: their pod templates, whatever their replicas. */
  workloads: KObject[]
  /** ConfigMap knative-serving/config-istio, as the Serverless operator rendered it. */
  configIstio: KObject | null
  serving: KObject | null
  eventing: KObject | null
  kafka: KObject | null
  serviceEntries: KObject[]
  policies: KObject[]
  peerAuthentications: KObject[]
  /** NetworkPolicies of knative-serving. */
  networkPolicies: KObject[]
  knativeServices: KObject[]
  revisions: KObject[]
  kingresses: KObject[]
  /** Nodes (null: not allowed to list them, or not read because no Knative Service asks for GPUs). */
  nodes: KObject[] | null
}

/**
 * What analyze reads on Service Mesh 3 besides the common kinds (docs/reference/service-mesh-3.md §1.1 rows 4-6, N5,
 * N18): no SMCP or member roll (smcps/smmr/memberRolls are empty there).
 */
export interface Analyze3 {
  /** The Istio whose spec.namespace is the mesh namespace (null: none). */
  istio: KObject | null
  /** Every Istio of the cluster (another mesh's Gateways are its own). */
  istios: KObject[]
  /** Every Namespace by name, for the injection labels (null: not allowed to list them). */
  namespaces: Map<string, KObject> | null
  /** Routes of the mesh namespace labelled serving.knative.openshift.io/ingressName (left by Service Mesh 2). */
  routes: KObject[]
}

export interface Rule {
  code: string
  severity: Severity
  /** The generations the rule has a meaning on (absent: both). */
  generations?: readonly MeshGeneration[]
  /** One sentence, for --list and the README. */
  summary: string
  run(state: AnalyzeState): Finding[]
}

export const ref = (o: KObject, kind = o.kind): ObjectRef => ({kind, ...(o.metadata.namespace ? {namespace: o.metadata.namespace} : {}), name: o.metadata.name})

/** A rule's findings with its code and severity filled in. */
export function finding(rule: Pick<Rule, 'code' | 'severity'>, objects: ObjectRef[], message: string, fix?: string): Finding {
  return {code: rule.code, severity: rule.severity, objects, message, ...(fix ? {fix} : {})}
}
