import {ForbiddenError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {SMMR_NAME} from './constants.js'
import {KOURIER_POLICY, type MembersState} from './members.js'

/** Names of all namespaces (one list request), or null when the user may not list them. */
export async function namespaceNames(client: KubeClient): Promise<Set<string> | null> {
  try {
    return new Set((await client.listAll(Kinds.Namespace)).map((n) => n.metadata.name))
  } catch (error) {
    if (error instanceof ForbiddenError) return null
    throw error
  }
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
