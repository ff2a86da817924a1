import type {KubeClient} from '../kube/client.js'
import type {StatusRow, StatusState} from './status.js'

/**
 * Areas other verbs contribute to status (metrics, secret filtering, service
 * annotations), each from that verb's own reader and check.
 */
export async function statusExtras(_client: KubeClient, _state: StatusState): Promise<StatusRow[]> {
  return []
}
