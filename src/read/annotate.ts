import type {KubeClient} from '../kube/client.js'
import type {KObject} from '../kube/types.js'
import {Kinds} from '../kube/kinds.js'
import type {AnnotateState} from '../mesh/annotate.js'
import {SMMR_NAME} from '../mesh/constants.js'
import {memberNamespacesOf, pendingMembers} from '../mesh/members.js'
import {INSTANCE_LABEL} from '../mesh/pipelines.js'
import {tolerate} from './tolerate.js'
import {readCostLabels} from './workloads.js'

/**
 * annotate-services: the Knative Services in scope (one by name, or every one of the namespaces) and the mesh members,
 * from `memberRoll` when the caller read it already (--all-members), else read here.
 */
export async function readAnnotate(client: KubeClient, meshNamespace: string, namespaces: string[], name?: string, memberRoll?: KObject): Promise<AnnotateState> {
  const smmrP = memberRoll ? Promise.resolve(memberRoll) : client.get(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace)
  // The Pipelines the console links to an application (pipelines.ts): one list in the one namespace, else cluster-wide.
  // Auxiliary (only names pipeline-deployed services): a list refused (forbidden, or 429 while a fresh CRD's storage
  // initializes) loses only that note; any other failure is thrown like every read's.
  const pipelinesP = tolerate(client.listIfServed(Kinds.Pipeline, namespaces.length === 1 ? namespaces[0] : undefined, {labelSelector: INSTANCE_LABEL}), 'forbidden', 'busy').then((p) => p ?? [])
  if (name) {
    const [svc, smmr, pipelines] = await Promise.all([client.get(Kinds.KnativeService, name, namespaces[0]), smmrP, pipelinesP])
    return {services: svc ? [svc] : [], members: memberNamespacesOf(smmr), pending: pendingMembers(smmr), pipelines, missing: []}
  }
  const [state, smmr, pipelines] = await Promise.all([readCostLabels(client, namespaces, {pods: false}), smmrP, pipelinesP])
  return {services: state.services, members: memberNamespacesOf(smmr), pending: pendingMembers(smmr), pipelines, missing: state.missing}
}
