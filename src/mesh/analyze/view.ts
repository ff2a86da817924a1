import type {KObject} from '../../kube/types.js'
import {KNATIVE_SERVING} from '../constants.js'
import {gatewayNamespace, KNATIVE_GATEWAY_NAMESPACE_3} from '../generation.js'
import {LOCAL_GATEWAY} from '../gateways.js'
import {members} from '../members.js'
import {injectedNamespace} from '../members3.js'
import {DEFAULT_LOCAL_GATEWAY_PORT_3, type MeshView} from '../probe.js'
import {meshMtlsOf} from '../smcp.js'
import type {AnalyzeState} from './types.js'

/**
 * The generation-aware views the rules share: where the Knative gateway runs, which namespaces are in the mesh, and
 * the authorization view of probe. Service Mesh 2 reads them from the SMCP and the member roll; Service Mesh 3
 * (docs/reference/service-mesh-3.md rows 5-6, N5, N6) from the Istio, the namespace labels and
 * knative-serving-ingress.
 */

/** Where the Knative ingress gateway's pods, Services and TLS Secret are: the mesh namespace (2), knative-serving-ingress (3). */
export function gatewayNs(s: Pick<AnalyzeState, 'generation' | 'meshNamespace'>): string {
  return gatewayNamespace(s.generation, s.meshNamespace)
}

/**
 * The namespaces whose pods get sidecars by namespace: the member roll's spec and status and the mesh namespace (2);
 * the namespaces labeled for the Istio's injection, plus knative-serving and knative-serving-ingress, whose Knative
 * pods are injected by their pod labels, and the mesh namespace (3, as probe's Authorizer).
 */
export function meshNamespaces(s: Pick<AnalyzeState, 'generation' | 'meshNamespace' | 'smmr' | 'mesh3'>): Set<string> {
  if (s.generation === 3) {
    const injected = [...(s.mesh3?.namespaces?.values() ?? [])].filter((n) => injectedNamespace(n, s.mesh3?.istio ?? null)).map((n) => n.metadata.name)
    return new Set([...injected, KNATIVE_SERVING, KNATIVE_GATEWAY_NAMESPACE_3, s.meshNamespace])
  }
  const status = Array.isArray(s.smmr?.status?.members) ? (s.smmr!.status.members as unknown[]).filter((m): m is string => typeof m === 'string') : []
  return new Set([...members(s.smmr), ...status, s.meshNamespace])
}

/** Service Mesh 3: the targetPort of Service knative-serving-ingress/knative-local-gateway's http2 port (8081, the docs', when absent). */
export function localGatewayPort(s: Pick<AnalyzeState, 'services'>): number {
  const svc = s.services.find((x) => x.metadata.namespace === KNATIVE_GATEWAY_NAMESPACE_3 && x.metadata.name === LOCAL_GATEWAY)
  const port = ((svc?.spec?.ports ?? []) as {name?: string; port?: number; targetPort?: unknown}[]).find((p) => p.name === 'http2' || p.port === 80)?.targetPort
  return typeof port === 'number' ? port : DEFAULT_LOCAL_GATEWAY_PORT_3
}

/** probe's MeshView of this state (src/read/authz.ts readMeshViewFor builds the same from its own reads). */
export function meshView(s: AnalyzeState): MeshView {
  const base = {policies: s.policies, peerAuthentications: s.peerAuthentications, smmr: s.smmr, meshNamespace: s.meshNamespace}
  if (s.generation !== 3) return {...base, meshMtls: meshMtlsOf(s.smcps)}
  return {
    ...base,
    smmr: null,
    mesh3: {istio: s.mesh3?.istio ?? null, namespaces: s.mesh3?.namespaces ?? new Map<string, KObject>(), localGatewayPort: localGatewayPort(s)},
  }
}
