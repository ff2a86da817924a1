import type {KObject} from '../kube/types.js'
import {meshFlag} from './constants.js'
import {
  KNATIVE_GATEWAY_NAMESPACE_3,
  KNATIVE_GATEWAY_SERVICE_3 as GATEWAY_SERVICE,
  OPENSHIFT_GATEWAY_ISTIO,
  noControlPlaneFinding,
  type GenerationFacts,
} from './generation.js'
import type {Check} from './check.js'

/**
 * precheck on Service Mesh 3 (docs/reference/service-mesh-3.md §1.1 rows 1, 3, N1, N3, §1.2): the checks that
 * replace the SMCP/SMMR rows. Pure: state in, Check[] out; never throws.
 */

/** IstioCNI must be named "default" (CEL on the Sail CRD). */
export const ISTIO_CNI_NAME = 'default'

export interface Precheck3State {
  /** What decided the generation (every Istio, the SMCPs of the mesh namespace). */
  facts: GenerationFacts
  /** The Istio whose spec.namespace is the mesh namespace (src/mesh/generation.ts), null when none. */
  istio: KObject | null
  /** IstioCNI "default" (null: absent or the kind is not served). */
  istioCni: KObject | null
  /** spec.version's enum in the served istios.sailoperator.io CRD: what this operator installs (null: unreadable). */
  istioVersions: string[] | null
  /** Namespace knative-serving-ingress (null: absent). */
  ingressNamespace: KObject | null
  /** Service knative-serving-ingress/knative-istio-ingressgateway (null: absent). */
  gatewayService: KObject | null
}

interface Condition {
  type?: string
  status?: string
  reason?: string
  message?: string
}

/** The Ready condition of a Sail object (Istio, IstioCNI), or undefined when the operator has not reported it. */
export function readyCondition(obj: KObject): Condition | undefined {
  const conds = Array.isArray(obj.status?.conditions) ? (obj.status.conditions as Condition[]) : []
  return conds.find((c) => c.type === 'Ready')
}

function notReady(c: Condition | undefined): string {
  if (!c) return 'the Sail operator has not reported its status yet'
  return `not Ready${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : c.message ? `: ${c.message}` : ''}`
}

/**
 * The control-plane rows of precheck on Service Mesh 3:
 *  - `istio`: an Istio (sailoperator.io/v1) with spec.namespace = the mesh namespace, Ready (failure otherwise; with
 *    none, the finding says how to create one);
 *  - `istio-version`: its spec.version is one the served CRD's enum lists (the operator can install it);
 *  - `istiocni`: IstioCNI "default" present and Ready (the Istio's DependenciesHealthy needs it, §1.2);
 *  - `ingress-namespace`: knative-serving-ingress exists (the gateway pods run there, N3);
 *  - `ingressgateway-service`: Service knative-serving-ingress/knative-istio-ingressgateway is not NodePort or
 *    LoadBalancer (both 3.x sources make it ClusterIP; Routes expose it, guide 1.4.1 step 2); absent: create-gateways.
 */
export function precheckChecks3(s: Precheck3State, meshNamespace: string): Check[] {
  const flag = meshFlag(meshNamespace)
  const checks: Check[] = []
  const istio = s.istio
  if (!istio) {
    checks.push({
      id: 'istio',
      status: 'failure',
      detail: noControlPlaneFinding(s.facts) ?? `no Istio with spec.namespace ${meshNamespace}`,
      fix: `create an Istio with spec.namespace ${meshNamespace} (Service Mesh 3 docs), or pass --mesh-namespace`,
    })
  } else {
    const ready = readyCondition(istio)
    const rev = typeof istio.status?.activeRevisionName === 'string' ? `, revision ${istio.status.activeRevisionName}` : ''
    if (ready?.status === 'True')
      checks.push({id: 'istio', status: 'ok', detail: `Istio ${istio.metadata.name} (spec.namespace ${meshNamespace}${rev}) is Ready`})
    else
      checks.push({
        id: 'istio',
        status: 'failure',
        detail: `Istio ${istio.metadata.name} is ${notReady(ready)}`,
        fix: `wait for the Sail operator; then oc describe istio ${istio.metadata.name}`,
      })

    const version = typeof istio.spec?.version === 'string' ? istio.spec.version : undefined
    const id = `istio-version/${istio.metadata.name}`
    if (!version) checks.push({id, status: 'warning', detail: `${istio.metadata.name}: no spec.version (the operator's default applies)`})
    else if (s.istioVersions === null)
      checks.push({id, status: 'ok', detail: `${istio.metadata.name}: ${version} (the served CRD's version list is not readable)`})
    else if (s.istioVersions.includes(version))
      checks.push({id, status: 'ok', detail: `${istio.metadata.name}: ${version} (the operator installs ${describeVersions(s.istioVersions)})`})
    else
      checks.push({
        id,
        status: 'failure',
        detail: `${istio.metadata.name}: ${version} is not a version this operator installs (${describeVersions(s.istioVersions)})`,
        fix: `set spec.version of Istio ${istio.metadata.name} to one of ${latestOf(s.istioVersions).join(', ')}`,
      })
  }

  const cni = s.istioCni
  if (!cni)
    checks.push({
      id: 'istiocni',
      status: 'failure',
      detail: `no IstioCNI ${ISTIO_CNI_NAME}: the Istio's pods get no network setup (DependenciesHealthy: IstioCNINotFound)`,
      fix: `create IstioCNI ${ISTIO_CNI_NAME} with spec.namespace istio-cni (Service Mesh 3 docs)`,
    })
  else {
    const ready = readyCondition(cni)
    if (ready?.status === 'True')
      checks.push({id: 'istiocni', status: 'ok', detail: `IstioCNI ${ISTIO_CNI_NAME} (spec.namespace ${cni.spec?.namespace ?? 'istio-cni'}) is Ready`})
    else
      checks.push({
        id: 'istiocni',
        status: 'failure',
        detail: `IstioCNI ${ISTIO_CNI_NAME} is ${notReady(ready)}`,
        fix: `wait for the Sail operator; then oc describe istiocni ${ISTIO_CNI_NAME}`,
      })
  }

  if (!s.ingressNamespace)
    checks.push({
      id: 'ingress-namespace',
      status: 'warning',
      detail: `namespace ${KNATIVE_GATEWAY_NAMESPACE_3} does not exist yet (the Knative gateway runs there on Service Mesh 3)`,
      fix: `knmesh create-gateways${flag} (creates it)`,
    })
  else checks.push({id: 'ingress-namespace', status: 'ok', detail: `namespace ${KNATIVE_GATEWAY_NAMESPACE_3} exists`})

  const svc = s.gatewayService
  const where = `${KNATIVE_GATEWAY_NAMESPACE_3}/${GATEWAY_SERVICE}`
  if (!svc)
    checks.push({
      id: 'ingressgateway-service',
      status: 'warning',
      detail: `Service ${where} not found (Service Mesh 3 deploys no gateway: you do)`,
      fix: `knmesh create-gateways${flag}`,
    })
  else {
    const type = svc.spec?.type ?? 'ClusterIP'
    if (type === 'NodePort' || type === 'LoadBalancer')
      checks.push({
        id: 'ingressgateway-service',
        status: 'failure',
        detail: `Service ${where} is exposed as ${type}: unsupported, Knative Services are reached through OpenShift Routes`,
        fix: `oc patch service -n ${KNATIVE_GATEWAY_NAMESPACE_3} ${GATEWAY_SERVICE} -p '{"spec":{"type":"ClusterIP"}}'`,
      })
    else checks.push({id: 'ingressgateway-service', status: 'ok', detail: `Service ${where} is ${type}`})
  }
  return checks
}

/**
 * Namespaces that belong to another Service Mesh 3 control plane: the spec.namespace of every other Istio (the
 * Ingress Operator's openshift-gateway included). A 443/"*" Gateway there is that mesh's own (guide 1.4.1).
 */
export function otherMeshNamespaces3(istios: KObject[], meshNamespace: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const i of istios) {
    const ns = typeof i.spec?.namespace === 'string' ? i.spec.namespace : 'istio-system'
    if (ns !== meshNamespace) out.set(ns, i.metadata.name === OPENSHIFT_GATEWAY_ISTIO ? `${ns} (OpenShift's Gateway API Istio)` : ns)
  }
  return out
}

/** The "-latest" entries of an enum, else its first three. */
function latestOf(versions: string[]): string[] {
  const latest = versions.filter((v) => v.endsWith('-latest'))
  return (latest.length ? latest : versions).slice(0, 3)
}

function describeVersions(versions: string[]): string {
  const l = latestOf(versions)
  return `${l.join(', ')}${versions.length > l.length ? ` and ${versions.length - l.length} pinned versions` : ''}`
}
