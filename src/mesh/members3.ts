import {getPath} from '../change/edit.js'
import {info, warning, type Note, type Plan, type PlanItem} from '../change/plan.js'
import {KnmeshError, MissingError} from '../errors.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_EVENTING, KNATIVE_SERVING, KNATIVE_SERVING_INGRESS} from './constants.js'
import {activeRevision} from './generation.js'

/**
 * add-namespace / remove-namespace on Service Mesh 3 (docs/reference/service-mesh-3.md §1.1 row 5, N5):
 * no member roll; a namespace is in the mesh by labels. Injection: `istio-injection=enabled` when the active
 * revision is `default` (InPlace on an Istio named default), else `istio.io/rev=<status.activeRevisionName>`.
 * Discovery: when the Istio sets spec.values.meshConfig.discoverySelectors, the added namespaces and the
 * Knative system namespaces carry the labels of the first selector (its matchLabels) unless one already selects them.
 */

export const INJECTION_LABEL = 'istio-injection'
export const REVISION_LABEL = 'istio.io/rev'
export const KNATIVE_SERVING_INGRESS_NS = KNATIVE_SERVING_INGRESS
/** Namespaces istiod must discover for Serverless (they get discovery labels, never injection labels: N5). */
export const DISCOVERED_SYSTEM_NAMESPACES = [KNATIVE_SERVING, KNATIVE_SERVING_INGRESS_NS, KNATIVE_EVENTING]

export interface Members3State {
  meshNamespace: string
  istio: KObject | null
  /** The live Namespace objects by name (null: absent); the namespaces given and the system namespaces. */
  namespaces: Map<string, KObject | null>
}

export interface Members3Input {
  add?: string[]
  remove?: string[]
  strict?: boolean
}

interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: {key: string; operator: string; values?: string[]}[]
}

/** The injection label a namespace needs for this Istio: [key, value]. */
export function injectionLabel(istio: KObject): [string, string] {
  const rev = activeRevision(istio) ?? (istio.spec?.updateStrategy?.type === 'RevisionBased' ? null : istio.metadata.name)
  if (rev === null) throw new KnmeshError(`Istio ${istio.metadata.name} reports no status.activeRevisionName yet (RevisionBased): wait until it is Ready`)
  return rev === 'default' ? [INJECTION_LABEL, 'enabled'] : [REVISION_LABEL, rev]
}

/** Whether a namespace is in the Service Mesh 3 data plane for `istio`: its injection label (N5). */
export function injectedNamespace(ns: KObject | undefined, istio: KObject | null): boolean {
  const labels = (ns?.metadata.labels ?? {}) as Record<string, string>
  if (labels[INJECTION_LABEL] === 'enabled') return true
  if (labels[INJECTION_LABEL] !== undefined) return false
  const rev = labels[REVISION_LABEL]
  if (rev === undefined || !istio) return false
  // As injectionLabel; a RevisionBased Istio without a status yet matches no revision.
  const active = activeRevision(istio) ?? (istio.spec?.updateStrategy?.type === 'RevisionBased' ? null : istio.metadata.name)
  return active !== null && rev === active
}

/** spec.values.meshConfig.discoverySelectors of an Istio ([] when unset: every namespace is discovered). */
export function discoverySelectors(istio: KObject): LabelSelector[] {
  const s = getPath(istio, ['spec', 'values', 'meshConfig', 'discoverySelectors'])
  return Array.isArray(s) ? (s as LabelSelector[]) : []
}

/** Whether a label set matches a LabelSelector (matchLabels and matchExpressions In/NotIn/Exists/DoesNotExist). */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key)
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(labels[e.key]))) return false
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(labels[e.key])) return false
    if (e.operator === 'Exists' && !has) return false
    if (e.operator === 'DoesNotExist' && has) return false
  }
  return true
}

/** The labels to add so that istiod discovers a namespace with `labels`; null when no selector's matchLabels alone can do it. */
export function discoveryLabels(istio: KObject, labels: Record<string, string>): Record<string, string> | null {
  const selectors = discoverySelectors(istio)
  if (selectors.length === 0 || selectors.some((s) => selects(s, labels))) return {}
  const usable = selectors.find((s) => !s.matchExpressions?.length && Object.keys(s.matchLabels ?? {}).length > 0)
  return usable ? {...usable.matchLabels} : null
}

/** A copy of a Namespace (or any object) with `add` labels set and `drop` labels removed; other labels kept. */
export function withLabels(ns: KObject, add: Record<string, string>, drop: string[] = []): KObject {
  const out = structuredClone(ns)
  const labels = {...out.metadata.labels, ...add}
  for (const k of drop) delete labels[k]
  out.metadata.labels = labels
  return out
}

/**
 * The Namespace label edits. Throws KnmeshError when there is no Istio, or (strict) when a namespace is missing;
 * without --strict a missing namespace is a warning (labels need the Namespace object). Labels the user set
 * are kept; remove drops only the injection label this Istio uses (istio-injection=enabled or istio.io/rev=REV),
 * never discovery labels (other meshes or tools may select on them).
 */
export function planMembers3(state: Members3State, input: Members3Input): Plan {
  const {istio} = state
  if (!istio) throw new KnmeshError(`there is no Istio (sailoperator.io/v1) with spec.namespace ${state.meshNamespace}: nothing was changed`)
  const [key, value] = injectionLabel(istio)
  const notes: Note[] = [info(`Service Mesh 3 has no member roll: namespaces join by the label ${key}=${value}`)]
  const items: PlanItem[] = []
  const add = input.add ?? []
  const remove = input.remove ?? []
  const missing = [...add, ...remove].filter((n) => !state.namespaces.get(n))
  if (missing.length) {
    const text = `namespace${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist`
    if (input.strict || remove.length) throw new MissingError(`${text}: nothing was changed`)
    notes.push(
      warning(
        `${text} yet: run add-namespace again once ${missing.length > 1 ? 'they exist' : 'it exists'} (on Service Mesh 3 the label goes on the Namespace)`,
      ),
    )
  }
  const hasSelectors = discoverySelectors(istio).length > 0
  for (const name of add) {
    const live = state.namespaces.get(name)
    if (!live) continue
    if (DISCOVERED_SYSTEM_NAMESPACES.includes(name)) {
      // N5: both Service Mesh 3 sources leave the Knative namespaces unlabeled and inject their pods by pod label
      // (enable-istio); a namespace-wide label would inject the controllers and webhooks too.
      notes.push(info(`${name} gets no injection label on Service Mesh 3: Knative's pods there are injected by pod labels (knmesh enable-istio)`))
      const discovery = discoveryLabels(istio, (live.metadata.labels ?? {}) as Record<string, string>)
      if (discovery && Object.keys(discovery).length) items.push({live, desired: withLabels(live, discovery)})
      continue
    }
    const labels = (live.metadata.labels ?? {}) as Record<string, string>
    const discovery = discoveryLabels(istio, labels)
    if (discovery === null)
      notes.push(warning(`no discoverySelector of Istio ${istio.metadata.name} selects ${name}, and none is plain matchLabels: label it yourself`))
    const other = key === INJECTION_LABEL ? REVISION_LABEL : INJECTION_LABEL
    if (labels[other] !== undefined)
      notes.push(warning(`${name} also carries ${other}=${labels[other]} (kept); the injector gives istio-injection precedence over istio.io/rev`))
    items.push({live, desired: withLabels(live, {...discovery, [key]: value})})
  }
  if (add.length && hasSelectors) {
    for (const name of DISCOVERED_SYSTEM_NAMESPACES.filter((n) => !add.includes(n))) {
      const live = state.namespaces.get(name)
      if (!live) continue
      const discovery = discoveryLabels(istio, (live.metadata.labels ?? {}) as Record<string, string>)
      if (discovery && Object.keys(discovery).length) items.push({live, desired: withLabels(live, discovery)})
    }
  }
  for (const name of remove) {
    const live = state.namespaces.get(name)!
    const labels = (live.metadata.labels ?? {}) as Record<string, string>
    const drop = [INJECTION_LABEL, REVISION_LABEL].filter((k) =>
      k === INJECTION_LABEL ? labels[k] === 'enabled' : key === REVISION_LABEL && labels[k] === value,
    )
    if (drop.length) items.push({live, desired: withLabels(live, {}, drop)})
  }
  return {items, notes}
}
