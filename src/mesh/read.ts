import {ForbiddenError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {SMMR_NAME} from './constants.js'
import {KOURIER_POLICY, type MembersState} from './members.js'

/** The value of a read, or null when the user may not make it (the verb then says what it could not check). */
export async function unlessForbidden<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p
  } catch (error) {
    if (error instanceof ForbiddenError) return null
    throw error
  }
}

/** Names of all namespaces (one list request), or null when the user may not list them. */
export async function namespaceNames(client: KubeClient): Promise<Set<string> | null> {
  const all = await unlessForbidden(client.listAll(Kinds.Namespace))
  return all && new Set(all.map((n) => n.metadata.name))
}

export async function readMembers(client: KubeClient, meshNamespace: string, kourierNamespaces?: string[]): Promise<MembersState> {
  const [smmr, namespaces] = await Promise.all([
    client.get(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace),
    namespaceNames(client),
  ])
  let policies: Map<string, KObject | null> | undefined
  if (kourierNamespaces?.length) {
    // One list across namespaces, selected by name, instead of one GET per namespace.
    const all = await client.listAll(Kinds.NetworkPolicy, undefined, {fieldSelector: `metadata.name=${KOURIER_POLICY}`})
    policies = new Map(kourierNamespaces.map((ns) => [ns, all.find((p) => p.metadata.namespace === ns) ?? null]))
  }
  return {smmr, namespaces, policies}
}
