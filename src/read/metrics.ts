import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import {KNATIVE_SERVING} from '../mesh/constants.js'
import type {MetricsState} from '../mesh/metrics.js'

/** enable-metrics: KnativeServing, the NetworkPolicies of knative-serving, the SMCPs (three requests). */
export async function readMetrics(client: KubeClient, meshNamespace: string): Promise<MetricsState> {
  const [serving, policies, smcps] = await Promise.all([
    client.get(Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING),
    client.listAll(Kinds.NetworkPolicy, KNATIVE_SERVING),
    client.listAll(Kinds.ServiceMeshControlPlane, meshNamespace),
  ])
  return {serving, policies, smcps}
}
