import type {KObject} from '../../kube/types.js'

/**
 * analyze: findings about what breaks the Serverless–Service Mesh 2.x
 * integration, from API objects alone (no pods needed: Knative scales to zero).
 * Each rule is a pure function, AnalyzeState in, Finding[] out.
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
  /** ServiceMeshControlPlanes in the mesh namespace. */
  smcps: KObject[]
  /** The mesh's ServiceMeshMemberRoll (null: none). */
  smmr: KObject | null
  /** Every member roll, to tell another mesh's Gateways apart. */
  memberRolls: KObject[]
  gateways: KObject[]
  /** Core Services of the mesh namespace and of the namespaces config-istio names. */
  services: KObject[]
  /** Secrets of the namespaces where gateways run (null: not allowed to read them). */
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

export interface Rule {
  code: string
  severity: Severity
  /** One sentence, for --list and the README. */
  summary: string
  run(state: AnalyzeState): Finding[]
}

export const ref = (o: KObject, kind = o.kind): ObjectRef => ({kind, ...(o.metadata.namespace ? {namespace: o.metadata.namespace} : {}), name: o.metadata.name})

/** A rule's findings with its code and severity filled in. */
export function finding(rule: Pick<Rule, 'code' | 'severity'>, objects: ObjectRef[], message: string, fix?: string): Finding {
  return {code: rule.code, severity: rule.severity, objects, message, ...(fix ? {fix} : {})}
}
