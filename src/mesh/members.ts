import {newObject, ensureArray, addToList, ensureObject} from '../change/edit.js'
import {info, warning, type Plan, type Note} from '../change/plan.js'
import type {KObject} from '../kube/types.js'
import {KnmeshError} from '../errors.js'
import {REQUIRED_MEMBERS, SMMR_NAME} from './constants.js'

/** Guide 1.4.2 steps 2-3, 1.6 step 1, 2.3 step 1: the ServiceMeshMemberRoll. */

export interface MembersState {
  smmr: KObject | null
  /** Names of the namespaces that exist, or null when they could not be listed. */
  namespaces: Set<string> | null
  /** For --kourier: the live NetworkPolicy allow-from-serving-system-namespace per namespace. */
  policies?: Map<string, KObject | null>
}

export interface MembersInput {
  meshNamespace: string
  add?: string[]
  remove?: string[]
  /** Missing namespaces are an error instead of a warning. */
  strict?: boolean
  /** Guide 1.6: create the NetworkPolicy for Kourier in each added namespace (or delete it on remove). */
  kourier?: boolean
}

export function members(smmr: KObject | null): string[] {
  const m = smmr?.spec?.members
  return Array.isArray(m) ? m.filter((x: unknown): x is string => typeof x === 'string') : []
}

/** The SMMR with knative-serving, knative-eventing and `add` as members, `remove` removed. */
export function desiredMemberRoll(live: KObject | null, meshNamespace: string, add: string[], remove: string[]): KObject {
  const smmr = live ? structuredClone(live) : newObject('maistra.io/v1', 'ServiceMeshMemberRoll', SMMR_NAME, meshNamespace, {spec: {members: []}})
  ensureObject(smmr, ['spec'])
  const list = ensureArray(smmr, ['spec', 'members']) as unknown as string[]
  addToList(list, REQUIRED_MEMBERS)
  addToList(list, add)
  if (remove.length) smmr.spec.members = list.filter((m) => !remove.includes(m))
  return smmr
}

export const KOURIER_POLICY = 'allow-from-serving-system-namespace'

/** Guide 1.6 step 3: exactly the guide's NetworkPolicy, in `namespace`. */
export function kourierPolicy(live: KObject | null, namespace: string): KObject {
  const np = live ? structuredClone(live) : newObject('networking.k8s.io/v1', 'NetworkPolicy', KOURIER_POLICY, namespace)
  np.spec = {
    ...(np.spec ?? {}),
    ingress: [{from: [{namespaceSelector: {matchLabels: {'knative.openshift.io/part-of': 'openshift-serverless'}}}]}],
    podSelector: {},
    policyTypes: ['Ingress'],
  }
  return np
}

export function planMembers(state: MembersState, input: MembersInput): Plan {
  const add = input.add ?? []
  const remove = input.remove ?? []
  const notes: Note[] = []
  if (state.namespaces) {
    const missing = add.filter((n) => !state.namespaces!.has(n))
    if (missing.length) {
      const text = `namespace${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist yet`
      if (input.strict) throw new KnmeshError(`${text} (--strict)`)
      notes.push(warning(`${text}; ${missing.length > 1 ? 'they' : 'it'} will join the mesh once created`))
    }
    for (const req of REQUIRED_MEMBERS) {
      if (!state.namespaces.has(req)) notes.push(warning(`${req} does not exist: is Knative ${req === 'knative-serving' ? 'Serving' : 'Eventing'} installed?`))
    }
  }
  if (!state.smmr) notes.push(info(`ServiceMeshMemberRoll ${input.meshNamespace}/${SMMR_NAME} does not exist: it will be created`))
  const items: Plan['items'] = [{live: state.smmr, desired: desiredMemberRoll(state.smmr, input.meshNamespace, add, remove)}]
  if (input.kourier) {
    for (const ns of add) {
      const live = state.policies?.get(ns) ?? null
      items.push({live, desired: kourierPolicy(live, ns)})
    }
    for (const ns of remove) {
      const live = state.policies?.get(ns) ?? null
      if (live) items.push({live, desired: null})
    }
  }
  return {items, notes}
}
