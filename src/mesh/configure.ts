import type {Plan} from '../change/plan.js'
import {planConfigureMesh, type MeshInput, type MeshState} from './smcp.js'
import {planConfigureMesh3, type Mesh3State} from './sail.js'

/** configure-mesh's state, per generation (src/read/install.ts readMeshFor). */
export type ConfigureMeshState = ({generation: 2} & MeshState) | ({generation: 3} & Mesh3State)

/** configure-mesh's plan for the generation found: the SMCP (2, src/mesh/smcp.ts) or the Istio + PeerAuthentication (3, src/mesh/sail.ts). */
export function planConfigureMeshFor(state: ConfigureMeshState, input: MeshInput): Plan {
  return state.generation === 3 ? planConfigureMesh3(state) : planConfigureMesh(state, input)
}
