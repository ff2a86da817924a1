import type {KubeClient} from '../kube/client.js'
import type {GenerationDecision} from '../mesh/generation.js'
import type {PrerequisitesInput, PrerequisitesState} from '../mesh/prerequisites.js'
import {readGateways, readGateways3, readMesh, readMesh3} from './install.js'
import {readMembers} from './members.js'

/**
 * What enable-istio's prerequisite check reads: the SMCP side, the gateways and the member roll (configure-mesh,
 * create-gateways, add-namespace); on Service Mesh 3 (`decision`) the Istio + PeerAuthentications and the
 * knative-serving-ingress gateway instead (no member roll there).
 */
export async function readPrerequisites(
  client: KubeClient,
  input: PrerequisitesInput,
  decision?: Pick<GenerationDecision, 'generation' | 'istio'>,
): Promise<PrerequisitesState> {
  if (decision?.generation === 3) {
    const name = decision.istio?.metadata.name ?? null
    const [mesh3, gateways3] = await Promise.all([readMesh3(client, input.meshNamespace, name), readGateways3(client, input.meshNamespace, name, input.secret)])
    return {generation: 3, mesh3, gateways3}
  }
  const [mesh, gateways, members] = await Promise.all([
    readMesh(client, input.meshNamespace),
    readGateways(client, input.meshNamespace, input.secret),
    readMembers(client, input.meshNamespace),
  ])
  return {mesh, gateways, members}
}
