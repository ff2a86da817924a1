import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {REQUIRED_MEMBERS, SMMR_NAME} from '../mesh/constants.js'
import {KOURIER_POLICY, PART_OF_NAMESPACES, type MembersState} from '../mesh/members.js'
import {unlessForbidden} from './tolerate.js'
import type {GenerationDecision} from '../mesh/generation.js'
import type {MembershipState} from '../mesh/membership.js'
import {DISCOVERED_SYSTEM_NAMESPACES, injectionLabel} from '../mesh/members3.js'

/** Names of all namespaces (one list request), or null when the user may not list them. */
export async function namespaceNames(client: KubeClient): Promise<Set<string> | null> {
  const all = await unlessForbidden(client.listAll(Kinds.Namespace))
  return all && new Set(all.map((n) => n.metadata.name))
}

/**
 * Guide 1.6 note: knative-serving and knative-serving-ingress, whose
 * knative.openshift.io/part-of label the Kourier NetworkPolicy selects on (two
 * GETs). null: absent; no entry: the user may not read it.
 */
export async function readPartOfNamespaces(client: KubeClient): Promise<Map<string, KObject | null>> {
  const read = await Promise.all(PART_OF_NAMESPACES.map(async (n) => [n, await unlessForbidden(client.get(Kinds.Namespace, n).then((o) => ({o})))] as const))
  return new Map(read.filter(([, r]) => r !== null).map(([n, r]) => [n, r!.o]))
}

export async function readMembers(client: KubeClient, meshNamespace: string, kourierNamespaces?: string[]): Promise<MembersState> {
  const [smmr, namespaces] = await Promise.all([client.get(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace), namespaceNames(client)])
  let policies: Map<string, KObject | null> | undefined
  let systemNamespaces: Map<string, KObject | null> | undefined
  if (kourierNamespaces?.length) {
    // One list across namespaces, selected by name, instead of one GET per namespace.
    const [all, system] = await Promise.all([
      client.listAll(Kinds.NetworkPolicy, undefined, {fieldSelector: `metadata.name=${KOURIER_POLICY}`}),
      readPartOfNamespaces(client),
    ])
    policies = new Map(kourierNamespaces.map((ns) => [ns, all.find((p) => p.metadata.namespace === ns) ?? null]))
    systemNamespaces = system
  }
  return {smmr, namespaces, policies, systemNamespaces}
}

/** The ServiceMeshMemberRoll of the mesh namespace, or null when there is none. */
export async function readMemberRoll(client: KubeClient, meshNamespace: string): Promise<KObject | null> {
  return client.get(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace)
}

/**
 * add-namespace / remove-namespace state for the generation decided: the member roll (2, readMembers) or, on
 * Service Mesh 3, the Istio (re-read by name) and the Namespaces named plus knative-serving,
 * knative-serving-ingress and knative-eventing (one GET each; null when absent).
 */
export async function readMembersFor(
  client: KubeClient,
  meshNamespace: string,
  decision: Pick<GenerationDecision, 'generation' | 'istio'>,
  names: string[],
  kourierNamespaces?: string[],
): Promise<MembershipState> {
  if (decision.generation !== 3) return {generation: 2, ...(await readMembers(client, meshNamespace, kourierNamespaces))}
  const all = [...new Set([...names, ...DISCOVERED_SYSTEM_NAMESPACES])]
  const [istio, namespaces] = await Promise.all([
    decision.istio ? client.get(Kinds.Istio, decision.istio.metadata.name) : null,
    Promise.all(all.map(async (n) => [n, await client.get(Kinds.Namespace, n)] as const)),
  ])
  return {generation: 3, meshNamespace, istio, namespaces: new Map(namespaces)}
}

/**
 * Service Mesh 3's "members" (no member roll): the namespaces carrying the injection label of `istio`
 * (istio-injection=enabled for the default revision, else istio.io/rev=<revision>; src/mesh/members3.ts), besides
 * the Knative system namespaces, sorted. One list with a label selector.
 */
export async function readMemberNamespaces3(client: KubeClient, istio: KObject): Promise<string[]> {
  const [key, value] = injectionLabel(istio)
  const nss = await client.listAll(Kinds.Namespace, undefined, {labelSelector: `${key}=${value}`})
  return nss
    .map((n) => n.metadata.name)
    .filter((n) => !REQUIRED_MEMBERS.includes(n))
    .sort()
}
