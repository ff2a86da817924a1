import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {SMMR_NAME} from '../mesh/constants.js'
import {meshMtlsOf} from '../mesh/smcp.js'
import type {MeshView} from '../mesh/probe.js'
import {readMembers} from './members.js'
import {tolerate} from './tolerate.js'
import {TENANT_LABEL, type TenantAuthzState} from '../mesh/tenant-authz.js'

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
