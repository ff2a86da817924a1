import type {KubeClient} from '../kube/client.js'
import type {KObject} from '../kube/types.js'
import {Kinds} from '../kube/kinds.js'
import type {AnnotateState} from '../mesh/annotate.js'
import {SMMR_NAME} from '../mesh/constants.js'
import {memberNamespacesOf, pendingMembers} from '../mesh/members.js'
import {INSTANCE_LABEL} from '../mesh/pipelines.js'
import {tolerate} from './tolerate.js'
import {readCostLabels} from './workloads.js'
import {unlessForbidden} from './tolerate.js'
import type {GenerationDecision} from '../mesh/generation.js'
import type {AnnotateStateFor} from '../mesh/annotate3.js'
import {injectedNamespace} from '../mesh/members3.js'
import {REQUIRED_MEMBERS} from '../mesh/constants.js'

/**
 * annotate-services: the Knative Services in scope (one by name, or every one of the namespaces) and the mesh members,
 * from `memberRoll` when the caller read it already (--all-members), else read here.
 */
export async function readAnnotate(
  client: KubeClient,
  meshNamespace: string,
  namespaces: string[],
  name?: string,
  memberRoll?: KObject,
): Promise<AnnotateState> {
  const smmrP = memberRoll ? Promise.resolve(memberRoll) : client.get(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace)
  // The Pipelines the console links to an application (pipelines.ts): one list in the one namespace, else cluster-wide.
  // Auxiliary (only names pipeline-deployed services): a list refused (forbidden, or 429 while a fresh CRD's storage
  // initializes) loses only that note; any other failure is thrown like every read's.
  const pipelinesP = tolerate(
    client.listIfServed(Kinds.Pipeline, namespaces.length === 1 ? namespaces[0] : undefined, {labelSelector: INSTANCE_LABEL}),
    'forbidden',
    'busy',
  ).then((p) => p ?? [])
  if (name) {
    const [svc, smmr, pipelines] = await Promise.all([client.get(Kinds.KnativeService, name, namespaces[0]), smmrP, pipelinesP])
    return {services: svc ? [svc] : [], members: memberNamespacesOf(smmr), pending: pendingMembers(smmr), pipelines, missing: []}
  }
  const [state, smmr, pipelines] = await Promise.all([readCostLabels(client, namespaces, {pods: false}), smmrP, pipelinesP])
  return {services: state.services, members: memberNamespacesOf(smmr), pending: pendingMembers(smmr), pipelines, missing: state.missing}
}

/**
 * annotate-services' state for the generation decided: readAnnotate (2) or, on Service Mesh 3, the Knative Services
 * in scope, the Istio (re-read by name) and the Namespaces (one list, for the injection labels; empty when the user
 * may not list them).
 */
export async function readAnnotateFor(
  client: KubeClient,
  meshNamespace: string,
  decision: Pick<GenerationDecision, 'generation' | 'istio'>,
  namespaces: string[],
  name?: string,
  memberRoll?: KObject,
): Promise<AnnotateStateFor> {
  if (decision.generation !== 3) return {generation: 2, ...(await readAnnotate(client, meshNamespace, namespaces, name, memberRoll))}
  const pipelinesP = client.listIfServed(Kinds.Pipeline, namespaces.length === 1 ? namespaces[0] : undefined, {labelSelector: INSTANCE_LABEL}).then(
    (p) => p ?? [],
    () => [],
  )
  const servicesP = name
    ? client.get(Kinds.KnativeService, name, namespaces[0]).then((svc) => ({services: svc ? [svc] : [], missing: [] as string[]}))
    : readCostLabels(client, namespaces, {pods: false}).then((s) => ({services: s.services, missing: s.missing}))
  const [svcs, pipelines, istio, all] = await Promise.all([
    servicesP,
    pipelinesP,
    decision.istio ? client.get(Kinds.Istio, decision.istio.metadata.name) : null,
    unlessForbidden(client.listAll(Kinds.Namespace)),
  ])
  return {generation: 3, ...svcs, pipelines, istio, namespaces: new Map((all ?? []).map((n) => [n.metadata.name, n]))}
}

/** Service Mesh 3's --all-members: the namespaces labeled for sidecar injection by `istio` (one list), Knative's own left out. */
export async function injectedNamespaces(client: KubeClient, istio: KObject | null): Promise<string[]> {
  const all = await client.listAll(Kinds.Namespace)
  return all
    .filter((n) => injectedNamespace(n, istio) && !REQUIRED_MEMBERS.includes(n.metadata.name))
    .map((n) => n.metadata.name)
    .sort()
}
