import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_SERVING} from '../mesh/constants.js'

/** The KnativeServing knative-serving/knative-serving, or null when absent. Throws what the client throws (not served: exit 4). */
export async function readKnativeServing(client: KubeClient): Promise<KObject | null> {
  return client.get(Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING)
}
