import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {SMMR_NAME} from '../mesh/constants.js'
import {meshMtlsOf} from '../mesh/smcp.js'
import {DEFAULT_LOCAL_GATEWAY_PORT_3, GATEWAY_NAMESPACE_3, type MeshView} from '../mesh/probe.js'
import {readMembers} from './members.js'
import {tolerate} from './tolerate.js'
import {TENANT_LABEL, type TenantAuthzState} from '../mesh/tenant-authz.js'
import type {TenantAuthz3State, TenantAuthzStateFor} from '../mesh/tenant-authz3.js'
import type {GenerationDecision} from '../mesh/generation.js'
import {KNATIVE_SERVING} from '../mesh/constants.js'
import {unlessForbidden} from './tolerate.js'

/** Readers for tenant-authz and probe: one cluster-wide (paged) list per kind, never one request per namespace. */

/** Every AuthorizationPolicy (tenant objects, the defaults, and unlabelled ones tenant-authz may adopt). */
export function allPolicies(client: KubeClient): Promise<KObject[]> {
  return client.listAll(Kinds.AuthorizationPolicy)
}

/** The tenants' objects only: one label-selected list. */
export function tenantPolicies(client: KubeClient, tenant?: string): Promise<KObject[]> {
  return client.listAll(Kinds.AuthorizationPolicy, undefined, {labelSelector: tenant ? `${TENANT_LABEL}=${tenant}` : TENANT_LABEL})
}

/** tenant-authz --list: the tenants' policies (one label-selected list) and the member roll (null when absent). */
export async function readTenantList(client: KubeClient, meshNamespace: string): Promise<{policies: KObject[]; smmr: KObject | null}> {
  const [policies, smmr] = await Promise.all([tenantPolicies(client), client.get(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace)])
  return {policies, smmr}
}

export async function readTenantAuthz(client: KubeClient, meshNamespace: string): Promise<TenantAuthzState> {
  const [policies, {smmr, namespaces}] = await Promise.all([allPolicies(client), readMembers(client, meshNamespace)])
  return {policies, smmr, namespaces}
}

/** What probe predicts from: AuthorizationPolicies, PeerAuthentications and the member roll. */
export async function readMeshView(client: KubeClient, meshNamespace: string): Promise<MeshView> {
  const [policies, peerAuthentications, smmr, smcps] = await Promise.all([
    allPolicies(client),
    client.listAll(Kinds.PeerAuthentication),
    client.get(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace),
    client.listIfServed(Kinds.ServiceMeshControlPlane, meshNamespace),
  ])
  return {policies, peerAuthentications, smmr, meshNamespace, meshMtls: meshMtlsOf(smcps ?? [])}
}

/** The Knative Service, or null when absent or Knative Serving is not installed. */
export async function knativeService(client: KubeClient, name: string, namespace: string): Promise<KObject | null> {
  return tolerate(client.get(Kinds.KnativeService, name, namespace), 'not-served')
}

/**
 * Service Mesh 3's tenant-authz state: every AuthorizationPolicy read as security.istio.io/v1 (so one a 2.x install
 * wrote as v1beta1 is the same object, updated in place), every Namespace (one list; null when the user may not
 * list them), the Istio (re-read by name), KnativeServing (null when absent or not served) and the
 * PeerAuthentications of knative-serving.
 */
export async function readTenantAuthz3(client: KubeClient, meshNamespace: string, istioName: string | null): Promise<TenantAuthz3State> {
  const [policies, namespaces, istio, serving, peerAuthentications] = await Promise.all([
    allPolicies3(client),
    unlessForbidden(client.listAll(Kinds.Namespace)),
    istioName ? client.get(Kinds.Istio, istioName) : null,
    tolerate(client.get(Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING), 'not-served'),
    client.listAll(Kinds.PeerAuthenticationV1, KNATIVE_SERVING),
  ])
  return {meshNamespace, policies, namespaces: namespaces && new Map(namespaces.map((n) => [n.metadata.name, n])), istio, serving, peerAuthentications}
}

/** tenant-authz's reader for the generation decided (src/read/generation.ts). */
export async function readTenantAuthzFor(
  client: KubeClient,
  meshNamespace: string,
  decision: Pick<GenerationDecision, 'generation' | 'istio'>,
): Promise<TenantAuthzStateFor> {
  if (decision.generation === 3) return {generation: 3, ...(await readTenantAuthz3(client, meshNamespace, decision.istio?.metadata.name ?? null))}
  return {generation: 2, ...(await readTenantAuthz(client, meshNamespace))}
}

/** tenant-authz --list on Service Mesh 3: the tenants' policies (v1) and the Namespaces (for the injection label). */
export async function readTenantList3(client: KubeClient): Promise<{policies: KObject[]; namespaces: KObject[] | null}> {
  const [policies, namespaces] = await Promise.all([
    client.listAll(Kinds.AuthorizationPolicyV1, undefined, {labelSelector: TENANT_LABEL}),
    unlessForbidden(client.listAll(Kinds.Namespace)),
  ])
  return {policies, namespaces}
}

/**
 * probe's view for the generation decided: readMeshView (2) or, on Service Mesh 3, the AuthorizationPolicies and
 * PeerAuthentications (security.istio.io/v1), every Namespace (injection labels), the Istio (re-read by name) and the
 * local gateway Service knative-serving-ingress/knative-local-gateway (its http2 targetPort: where the gateway pods
 * take cluster-local traffic; 8081 as the docs have it when absent or named).
 */
export async function readMeshViewFor(
  client: KubeClient,
  meshNamespace: string,
  decision: Pick<GenerationDecision, 'generation' | 'istio'>,
): Promise<MeshView> {
  if (decision.generation !== 3) return readMeshView(client, meshNamespace)
  const [policies, peerAuthentications, namespaces, istio, local] = await Promise.all([
    allPolicies3(client),
    client.listAll(Kinds.PeerAuthenticationV1),
    unlessForbidden(client.listAll(Kinds.Namespace)),
    decision.istio ? client.get(Kinds.Istio, decision.istio.metadata.name) : null,
    unlessForbidden(client.get(Kinds.Service, 'knative-local-gateway', GATEWAY_NAMESPACE_3)),
  ])
  const port = ((local?.spec?.ports ?? []) as {name?: string; port?: number; targetPort?: unknown}[]).find(
    (p) => p.name === 'http2' || p.port === 80,
  )?.targetPort
  return {
    policies,
    peerAuthentications,
    smmr: null,
    meshNamespace,
    mesh3: {
      istio,
      namespaces: new Map((namespaces ?? []).map((n) => [n.metadata.name, n])),
      localGatewayPort: typeof port === 'number' ? port : DEFAULT_LOCAL_GATEWAY_PORT_3,
    },
  }
}

/** Service Mesh 3: every AuthorizationPolicy, read as security.istio.io/v1. */
export function allPolicies3(client: KubeClient): Promise<KObject[]> {
  return client.listAll(Kinds.AuthorizationPolicyV1)
}
