import {changesOf, type Note, type Plan} from '../change/plan.js'
import {KnmeshError} from '../errors.js'
import {meshFlag} from './constants.js'
import {planGateways, type GatewaysState} from './gateways.js'
import {planMembers, type MembersState} from './members.js'
import {planConfigureMesh, smcpFindings, type MeshState} from './smcp.js'
import {istioFindings, planConfigureMesh3, type Mesh3State} from './sail.js'
import {planGateways3, type Gateways3State} from './gateways3.js'

/**
 * The mesh-side steps enable-istio depends on (configure-mesh, create-gateways,
 * add-namespace), each as its own planner, so enable-istio can check them,
 * offer them, and fold the accepted ones into its own change.
 */

export type PrerequisiteVerb = 'configure-mesh' | 'create-gateways' | 'add-namespace'

/**
 * Service Mesh 2 (no `generation`, or 2): the SMCP, the 2.x gateways, the member roll. Service Mesh 3: the Istio +
 * PeerAuthentications (configure-mesh) and the knative-serving-ingress gateway (create-gateways); add-namespace has
 * nothing to do for Knative there (no member roll; Knative's namespaces get no injection labels, N5).
 */
export type PrerequisitesState =
  {generation?: 2; mesh: MeshState; gateways: GatewaysState; members: MembersState} | {generation: 3; mesh3: Mesh3State; gateways3: Gateways3State}

export interface PrerequisitesInput {
  meshNamespace: string
  /** credentialName for create-gateways. */
  secret: string
}

export interface PrerequisiteFinding {
  verb: PrerequisiteVerb
  /** Whether knmesh can fold it into this change (false: the verb needs a choice, e.g. --create or --name). */
  offerable: boolean
  /** What is missing, one line. */
  why: string
  /** The command line that fixes it. */
  command: string
}

function planOf(verb: PrerequisiteVerb, state: PrerequisitesState, input: PrerequisitesInput): Plan {
  if (state.generation === 3) {
    if (verb === 'configure-mesh') return planConfigureMesh3(state.mesh3)
    if (verb === 'create-gateways') return planGateways3(state.gateways3, {meshNamespace: input.meshNamespace, secret: input.secret})
    return {items: [], notes: []}
  }
  switch (verb) {
    case 'configure-mesh':
      return planConfigureMesh(state.mesh, {meshNamespace: input.meshNamespace})
    case 'create-gateways':
      return planGateways(state.gateways, {meshNamespace: input.meshNamespace, secret: input.secret})
    case 'add-namespace':
      return planMembers(state.members, {meshNamespace: input.meshNamespace})
  }
}

const VERBS: PrerequisiteVerb[] = ['configure-mesh', 'create-gateways', 'add-namespace']

/** Which prerequisite verbs still have work to do (pure). */
export function prerequisiteFindings(state: PrerequisitesState, input: PrerequisitesInput): PrerequisiteFinding[] {
  const ns = meshFlag(input.meshNamespace)
  const out: PrerequisiteFinding[] = []
  for (const verb of VERBS) {
    const command = `knmesh ${verb}${verb === 'add-namespace' ? ' knative-serving' : ''}${ns}`
    let plan: Plan
    try {
      plan = planOf(verb, state, input)
    } catch (error) {
      if (!(error instanceof KnmeshError)) throw error
      out.push({verb, offerable: false, why: error.message, command})
      continue
    }
    const changes = changesOf(plan)
    if (changes.length === 0) continue
    let why: string
    if (verb === 'configure-mesh' && state.generation === 3) {
      why = `Istio ${state.mesh3.istio?.metadata.name}: ${istioFindings(state.mesh3).join('; ')}`
    } else if (verb === 'configure-mesh') {
      const smcp = changes[0].live
      why = smcp ? `ServiceMeshControlPlane ${smcp.metadata.name}: ${smcpFindings(smcp).join('; ')}` : 'no ServiceMeshControlPlane'
    } else if (verb === 'create-gateways') {
      why = `missing or different: ${changes.map((c) => `${(c.desired ?? c.live)!.kind} ${(c.desired ?? c.live)!.metadata.name}`).join(', ')}`
    } else {
      why = 'knative-serving and knative-eventing are not both members of the ServiceMeshMemberRoll'
    }
    out.push({verb, offerable: true, why, command})
  }
  return out
}

/** The plans of the chosen prerequisite verbs, for the same state. */
export function planPrerequisites(state: PrerequisitesState, input: PrerequisitesInput, verbs: PrerequisiteVerb[]): Plan {
  const items: Plan['items'] = []
  const notes: Note[] = []
  for (const verb of VERBS.filter((v) => verbs.includes(v))) {
    const p = planOf(verb, state, input)
    items.push(...p.items)
    notes.push(...p.notes)
  }
  return {items, notes}
}
