import type {KubeClient} from '../kube/client.js'
import type {PrerequisitesInput, PrerequisitesState} from '../mesh/prerequisites.js'
import {readGateways, readMesh} from './install.js'
import {readMembers} from './members.js'

/** What enable-istio's prerequisite check reads: the SMCP side, the gateways and the member roll (configure-mesh, create-gateways, add-namespace). */
export async function readPrerequisites(client: KubeClient, input: PrerequisitesInput): Promise<PrerequisitesState> {
  const [mesh, gateways, members] = await Promise.all([
    readMesh(client, input.meshNamespace),
    readGateways(client, input.meshNamespace, input.secret),
    readMembers(client, input.meshNamespace),
  ])
  return {mesh, gateways, members}
}
