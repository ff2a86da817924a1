import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import type {CostLabelsState} from '../mesh/cost-labels.js'
import type {GpuState} from '../mesh/gpu.js'
import {unlessForbidden} from './tolerate.js'

/** Readers for the workload verbs (gpu-limit, cost-labels): a bounded number of requests, never one per namespace. */

/** All nodes (one paged list), or null when forbidden. */
export function readNodes(client: KubeClient): Promise<KObject[] | null> {
  return unlessForbidden(client.listAll(Kinds.Node))
}

/** gpu-limit: the Knative Service and the nodes (two requests). */
export async function readGpu(client: KubeClient, namespace: string, name: string): Promise<GpuState> {
  const [service, nodes] = await Promise.all([client.get(Kinds.KnativeService, name, namespace), readNodes(client)])
  return {service, nodes}
}

/** gpu-limit --list: the namespace's Knative Services and the nodes (two requests). */
export async function readGpuList(client: KubeClient, namespace: string): Promise<{services: KObject[]; nodes: KObject[] | null}> {
  const [services, nodes] = await Promise.all([client.listAll(Kinds.KnativeService, namespace), readNodes(client)])
  return {services, nodes}
}

/**
 * cost-labels: the namespaces, their Knative Services and (unless pods: false) their revision pods.
 * One namespace: three namespaced requests. Several: three cluster-wide lists
 * (namespaces, Knative Services, pods selected by label), filtered here.
 */
export async function readCostLabels(client: KubeClient, namespaces: string[], opts: {pods?: boolean} = {}): Promise<CostLabelsState> {
  const wanted = new Set(namespaces)
  const revisionPods = {labelSelector: 'serving.knative.dev/revision'}
  // --set needs no pods: an empty list, not null (null means "could not list").
  const listPods = (ns?: string) => (opts.pods === false ? Promise.resolve([]) : unlessForbidden(client.listAll(Kinds.Pod, ns, revisionPods)))
  if (namespaces.length === 1) {
    const ns = namespaces[0]
    const [namespace, services, pods] = await Promise.all([client.get(Kinds.Namespace, ns), client.listAll(Kinds.KnativeService, ns), listPods(ns)])
    return {namespaces: namespace ? [namespace] : [], services, pods, missing: namespace ? [] : [ns]}
  }
  const inScope = (o: KObject) => wanted.has(o.metadata.namespace ?? o.metadata.name)
  const [all, services, pods] = await Promise.all([client.listAll(Kinds.Namespace), client.listAll(Kinds.KnativeService), listPods()])
  const found = all.filter(inScope)
  const names = new Set(found.map((n) => n.metadata.name))
  return {
    namespaces: found,
    services: services.filter(inScope),
    pods: pods ? pods.filter(inScope) : null,
    missing: namespaces.filter((n) => !names.has(n)),
  }
}
