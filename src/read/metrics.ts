import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import {KNATIVE_SERVING} from '../mesh/constants.js'
import type {GenerationDecision} from '../mesh/generation.js'
import type {MetricsState} from '../mesh/metrics.js'

/**
 * enable-metrics: KnativeServing, the NetworkPolicies of knative-serving, and the control plane: the SMCPs of the
 * mesh namespace (Service Mesh 2), or the decided Istio, read again on every attempt (Service Mesh 3). Three requests.
 */
export async function readMetrics(
  client: KubeClient,
  meshNamespace: string,
  generation?: Pick<GenerationDecision, 'generation' | 'istio'>,
): Promise<MetricsState> {
  const three = generation?.generation === 3
  const istioName = generation?.istio?.metadata.name
  const [serving, policies, smcps, istio] = await Promise.all([
    client.get(Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING),
    client.listAll(Kinds.NetworkPolicy, KNATIVE_SERVING),
    three ? [] : client.listAll(Kinds.ServiceMeshControlPlane, meshNamespace),
    three && istioName ? client.get(Kinds.Istio, istioName) : null,
  ])
  return three ? {serving, policies, smcps, istio} : {serving, policies, smcps}
}
