import {Kinds} from '../kube/kinds.js'
import {newObject, ensureArray, addToList, ensureObject} from '../change/edit.js'
import {info, warning, type Plan, type Note} from '../change/plan.js'
import type {KObject} from '../kube/types.js'
import {MissingError} from '../errors.js'
import {KNATIVE_EVENTING, KNATIVE_SERVING, REQUIRED_MEMBERS, SMMR_NAME, KNATIVE_SERVING_INGRESS} from './constants.js'

/** Guide 1.4.2 steps 2-3, 1.6 step 1, 2.3 step 1: the ServiceMeshMemberRoll. */

export interface MembersState {
  smmr: KObject | null
  /** Names of the namespaces that exist, or null when they could not be listed. */
  namespaces: Set<string> | null
  /** For --kourier: the live NetworkPolicy allow-from-serving-system-namespace per namespace. */
  policies?: Map<string, KObject | null>
  /** For --kourier: the live knative-serving and knative-serving-ingress Namespaces (null: absent; no entry: not readable). */
  systemNamespaces?: Map<string, KObject | null>
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

/** The namespaces in a member roll's spec.members (strings only; [] for none or no member roll). */
export function members(smmr: KObject | null): string[] {
  const m = smmr?.spec?.members
  return Array.isArray(m) ? m.filter((x: unknown): x is string => typeof x === 'string') : []
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
}

/**
 * Members listed in spec.members that the Service Mesh Operator has not
 * configured yet: in status.pendingMembers, or missing from
 * status.configuredMembers. Their pods get no sidecar until then. [] while the
 * operator has reported no status at all (nothing is known yet).
 */
export function pendingMembers(smmr: KObject | null): string[] {
  const st = smmr?.status
  if (!st || typeof st !== 'object') return []
  const pending = new Set(strings(st.pendingMembers))
  const configured = new Set(strings(st.configuredMembers))
  return [...new Set([...members(smmr), ...pending])].filter((m) => pending.has(m) || !configured.has(m))
}

/** "namespace a is" / "namespaces a, b are": for notes naming pending members. */
export function pendingText(names: string[]): string {
  return `${names.length > 1 ? 'namespaces' : 'namespace'} ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} in the member roll but not configured yet by the Service Mesh Operator (status.pendingMembers / configuredMembers): no sidecars are injected there yet`
}

/** Guide 1.6: with Kourier these Knative system namespaces stay outside the mesh (openshift-knative/serverless-operator#286). */
export {KNATIVE_SERVING_INGRESS}
export const KOURIER_SYSTEM_NAMESPACES = [KNATIVE_SERVING, KNATIVE_SERVING_INGRESS, KNATIVE_EVENTING]
/** Guide 1.6 note: the label allow-from-serving-system-namespace selects on, on knative-serving and knative-serving-ingress. */
export const PART_OF_LABEL = 'knative.openshift.io/part-of'
export const PART_OF_VALUE = 'openshift-serverless'
export const PART_OF_NAMESPACES = [KNATIVE_SERVING, KNATIVE_SERVING_INGRESS]

/** Knative system namespaces that are members of the roll (a fault in Kourier mode). */
export function kourierSystemMembers(smmr: KObject | null): string[] {
  const roll = members(smmr)
  return KOURIER_SYSTEM_NAMESPACES.filter((n) => roll.includes(n))
}

/**
 * The SMMR with `add` as members, `remove` removed; without `kourier`,
 * knative-serving and knative-eventing are made members too (1.4.2), with it
 * they are not (1.6).
 */
export function desiredMemberRoll(live: KObject | null, meshNamespace: string, add: string[], remove: string[], kourier = false): KObject {
  const smmr = live ? structuredClone(live) : newObject(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace, {spec: {members: []}})
  ensureObject(smmr, ['spec'])
  const list = ensureArray(smmr, ['spec', 'members']) as unknown as string[]
  if (!kourier) addToList(list, REQUIRED_MEMBERS)
  addToList(list, add)
  if (remove.length) smmr.spec.members = list.filter((m) => !remove.includes(m))
  return smmr
}

export const KOURIER_POLICY = 'allow-from-serving-system-namespace'

/** Guide 1.6 step 3: exactly the guide's NetworkPolicy, in `namespace`. */
export function kourierPolicy(live: KObject | null, namespace: string): KObject {
  const np = live ? structuredClone(live) : newObject(Kinds.NetworkPolicy, KOURIER_POLICY, namespace)
  np.spec = {
    ...(np.spec ?? {}),
    ingress: [{from: [{namespaceSelector: {matchLabels: {'knative.openshift.io/part-of': 'openshift-serverless'}}}]}],
    podSelector: {},
    policyTypes: ['Ingress'],
  }
  return np
}

/**
 * add-namespace / remove-namespace: the ServiceMeshMemberRoll "default" of the mesh namespace with `input.add` added
 * and `input.remove` taken out (guide 1.4.2 steps 2-3, 2.3 step 1); with `kourier` (guide 1.6) also the
 * NetworkPolicy allow-from-serving-system-namespace in each added namespace (deleted on remove) and the part-of label
 * on knative-serving(-ingress). State: MembersState (member roll or null, existing namespace names or null when not
 * listable, the live policies and system namespaces for --kourier). Returns the items (member roll created when
 * absent; other members and fields kept) and notes: namespaces that do not exist yet, members still pending at the
 * operator, Knative system namespaces that must stay outside the mesh with Kourier. Throws KnmeshError (exit 4) with
 * `strict` when an added namespace does not exist. Upstream: the guide's 1.4.2 and 1.6 (Integrations, "Installing and
 * configuring Service Mesh", "Integrating Service Mesh with OpenShift Serverless when Kourier is enabled").
 */
export function planMembers(state: MembersState, input: MembersInput): Plan {
  const add = input.add ?? []
  const remove = input.remove ?? []
  const notes: Note[] = []
  if (state.namespaces) {
    const missing = add.filter((n) => !state.namespaces!.has(n))
    if (missing.length) {
      const text = `namespace${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist yet`
      if (input.strict) throw new MissingError(`${text} (--strict)`)
      notes.push(warning(`${text}; ${missing.length > 1 ? 'they' : 'it'} will join the mesh once created`))
    }
    // Removing a namespace that neither exists nor is a member is a typo: said as one (exit 6), not "nothing to do".
    // A deleted namespace still in the roll can be removed.
    const unknown = remove.filter((n) => !state.namespaces!.has(n) && !members(state.smmr).includes(n))
    if (unknown.length)
      throw new MissingError(
        `namespace${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} do${unknown.length > 1 ? '' : 'es'} not exist and ${unknown.length > 1 ? 'are' : 'is'} not in ${input.meshNamespace}/${SMMR_NAME}: nothing was changed`,
      )
    if (!input.kourier) {
      for (const req of REQUIRED_MEMBERS) {
        if (!state.namespaces.has(req))
          notes.push(warning(`${req} does not exist: is Knative ${req === 'knative-serving' ? 'Serving' : 'Eventing'} installed?`))
      }
    }
  }
  if (!state.smmr) notes.push(info(`ServiceMeshMemberRoll ${input.meshNamespace}/${SMMR_NAME} does not exist: it will be created`))
  const desired = desiredMemberRoll(state.smmr, input.meshNamespace, add, remove, input.kourier)
  const pending = pendingMembers(state.smmr).filter((m) => members(desired).includes(m))
  if (pending.length) notes.push(warning(pendingText(pending)))
  const items: Plan['items'] = [{live: state.smmr, desired}]
  if (input.kourier) {
    const inMesh = kourierSystemMembers(desired)
    if (inMesh.length) {
      notes.push(
        warning(
          `with Kourier (guide 1.6) ${inMesh.join(', ')} must stay outside the mesh: as members they get the mesh's NetworkPolicies, which cut Kourier's gateway off the activator; remove them: knmesh remove-namespace ${inMesh.join(' ')} --kourier`,
        ),
      )
    }
    if (add.length) items.push(...partOfLabelItems(state, notes))
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

/**
 * Guide 1.6 note: knative-serving and knative-serving-ingress carry
 * knative.openshift.io/part-of=openshift-serverless, which the NetworkPolicy
 * allow-from-serving-system-namespace selects on. One item per existing
 * namespace (a label added, nothing else touched); absent ones are a note.
 */
export function partOfLabelItems(state: MembersState, notes: Note[]): Plan['items'] {
  const items: Plan['items'] = []
  for (const name of PART_OF_NAMESPACES) {
    if (!state.systemNamespaces?.has(name)) continue // not read (forbidden)
    const live = state.systemNamespaces.get(name) ?? null
    if (!live) {
      notes.push(
        info(
          `namespace ${name} does not exist${name === KNATIVE_SERVING_INGRESS ? ' (Kourier not deployed yet)' : ''}: the label ${PART_OF_LABEL}=${PART_OF_VALUE} goes on it once it does (run again)`,
        ),
      )
      continue
    }
    if (live.metadata.labels?.[PART_OF_LABEL] === PART_OF_VALUE) continue
    const desired = structuredClone(live)
    desired.metadata.labels = {...desired.metadata.labels, [PART_OF_LABEL]: PART_OF_VALUE}
    items.push({live, desired, mergePatch: {metadata: {labels: {[PART_OF_LABEL]: PART_OF_VALUE}}}})
  }
  return items
}

/**
 * The namespaces of --all-members, from a member roll already read: its
 * spec.members and status.members without knative-serving/knative-eventing
 * (they run no revisions); null when there is no member roll.
 */
export function memberNamespacesOf(smmr: KObject | null): string[] | null {
  if (!smmr) return null
  const status = Array.isArray(smmr.status?.members) ? (smmr.status.members as unknown[]).filter((m): m is string => typeof m === 'string') : []
  return [...new Set([...members(smmr), ...status])].filter((n) => !REQUIRED_MEMBERS.includes(n))
}
