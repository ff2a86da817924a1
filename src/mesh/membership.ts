import type {Plan} from '../change/plan.js'
import {planMembers, type MembersInput, type MembersState} from './members.js'
import {planMembers3, type Members3State} from './members3.js'

/** add-namespace / remove-namespace state, per generation (src/read/members.ts readMembersFor). */
export type MembershipState = ({generation: 2} & MembersState) | ({generation: 3} & Members3State)

/** The membership plan for the generation found: the member roll (2) or the Namespace labels (3). */
export function planMembersFor(state: MembershipState, input: MembersInput): Plan {
  return state.generation === 3 ? planMembers3(state, input) : planMembers(state, input)
}
