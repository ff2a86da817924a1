import {actionOf, info, warning, type Note, type Plan, type PlanItem} from '../change/plan.js'
import {ensureObject, setLabels} from '../change/edit.js'
import {KnmeshError, UsageError} from '../errors.js'
import type {KObject} from '../kube/types.js'
import type {Check} from './precheck.js'

/**
 * Guide chapter 3: cost management inherits namespace labels into pods, but
 * never overrides a label a pod already has. Knative revision pods carry
 * labels of their own (app=<revision name> among them), so a namespace label
 * with the same key is not what cost queries see for those pods.
 */

/** Labels Knative's revision reconciler always writes on revision pods (they override the template's). */
export const KNATIVE_POD_LABELS = [
  'serving.knative.dev/service',
  'serving.knative.dev/serviceUID',
  'serving.knative.dev/configuration',
  'serving.knative.dev/configurationUID',
  'serving.knative.dev/configurationGeneration',
  'serving.knative.dev/revision',
  'serving.knative.dev/revisionUID',
] as const

/** Knative sets app=<revision name> on revision pods unless the revision template sets app itself. */
export const APP_LABEL = 'app'

/** Labels others write on every revision pod: the Istio sidecar injector and the Deployment controller. */
export const OTHER_POD_LABELS: Record<string, string> = {
  'security.istio.io/tlsMode': 'Istio',
  'service.istio.io/canonical-name': 'Istio',
  'service.istio.io/canonical-revision': 'Istio',
  'pod-template-hash': 'Kubernetes',
}

/** Namespace labels that pods never inherit in a meaningful way (set by Kubernetes on every namespace). */
const NAMESPACE_ONLY = ['kubernetes.io/metadata.name']

/** Who writes `key` on revision pods regardless of the namespace, or undefined when nobody does. */
export function podLabelOwner(key: string): string | undefined {
  if (key === APP_LABEL || key.startsWith('serving.knative.dev/') || (KNATIVE_POD_LABELS as readonly string[]).includes(key)) return 'Knative'
  return OTHER_POD_LABELS[key]
}

export interface CostLabelsState {
  /** The namespaces in scope that exist. */
  namespaces: KObject[]
  /** Their Knative Services. */
  services: KObject[]
  /** Their revision pods (label serving.knative.dev/revision), or null when they could not be listed. */
  pods: KObject[] | null
  /** Namespaces asked for that do not exist. */
  missing: string[]
}

export interface CostLabelFinding {
  namespace: string
  key: string
  /** The namespace's value, which cost queries by that label use. */
  value: string
  /** Who puts a different value on the pods: Knative, Istio, Kubernetes or the revision template. */
  setBy: string
  /** The Knative Services whose revision pods do not carry key=value, and the values they carry instead. */
  services: {name: string; values: string[]}[]
  /** warning: Knative Services are affected now; info: none yet (a later service would be). */
  severity: 'warning' | 'info'
  /** One line: what is missed and under which label the costs are found. */
  message: string
  /** A knmesh command that fixes it. */
  fix: string
}

function templateLabels(ksvc: KObject): Record<string, string> {
  return (ksvc.spec?.template?.metadata?.labels as Record<string, string> | undefined) ?? {}
}

/**
 * The values of `key` the revision pods of `ksvc` carry, or null when they
 * carry none of their own (cost management then gives them the namespace's).
 * Live pods are the truth; without any (scaled to zero), what Knative writes.
 */
function carriedValues(ksvc: KObject, key: string, pods: KObject[] | null, owner: string | undefined): string[] | null {
  const tmpl = templateLabels(ksvc)[key]
  if (owner === undefined && tmpl === undefined) return null
  const mine = (pods ?? []).filter(
    (p) => p.metadata.namespace === ksvc.metadata.namespace && p.metadata.labels?.['serving.knative.dev/service'] === ksvc.metadata.name,
  )
  const live = [...new Set(mine.map((p) => p.metadata.labels?.[key]).filter((v): v is string => v !== undefined))].sort()
  if (live.length) return live
  const revision = ksvc.status?.latestReadyRevisionName ?? ksvc.status?.latestCreatedRevisionName ?? `<revision name of ${ksvc.metadata.name}>`
  if (owner === 'Knative' && key !== APP_LABEL) {
    // Knative overrides the template for these.
    if (key === 'serving.knative.dev/service' || key === 'serving.knative.dev/configuration') return [ksvc.metadata.name]
    if (key === 'serving.knative.dev/revision') return [revision]
    return ['<set by Knative>']
  }
  if (tmpl !== undefined) return [tmpl]
  return [key === APP_LABEL ? revision : `<set by ${owner}>`]
}

/**
 * The audit: per namespace, the label keys whose namespace value the
 * namespace's Knative revision pods do not carry. Pure; `status` reuses it.
 */
export function auditCostLabels(state: CostLabelsState): CostLabelFinding[] {
  const findings: CostLabelFinding[] = []
  for (const ns of state.namespaces) {
    const name = ns.metadata.name
    const services = state.services.filter((s) => s.metadata.namespace === name)
    const labels = Object.entries(ns.metadata.labels ?? {}).filter(([key]) => !NAMESPACE_ONLY.includes(key))
    const missedBy = (key: string, value: string, owner: string | undefined) => {
      const affected: CostLabelFinding['services'] = []
      for (const s of services) {
        const values = carriedValues(s, key, state.pods, owner)?.filter((v) => v !== value)
        if (values?.length) affected.push({name: s.metadata.name, values})
      }
      return affected
    }
    for (const [key, value] of labels) {
      const owner = podLabelOwner(key)
      const affected = missedBy(key, value, owner)
      // A key others own is worth saying even before the first Knative Service is deployed.
      if (affected.length === 0 && (owner === undefined || services.length > 0)) continue
      // app: Knative writes the revision name only where the revision template sets no app of its own.
      const byTemplate = affected.filter((a) => templateLabels(services.find((x) => x.metadata.name === a.name)!)[key] !== undefined).length
      const setBy =
        owner === undefined || (key === APP_LABEL && affected.length > 0 && byTemplate === affected.length)
          ? 'the revision template'
          : key === APP_LABEL && byTemplate > 0
            ? 'Knative and the revision template'
            : owner
      const under = affected
        .slice(0, 3)
        .map((a) => `${a.name}: ${a.values.map((v) => `${key}=${v}`).join(', ')}`)
        .join('; ')
      const more = affected.length > 3 ? `; and ${affected.length - 3} more` : ''
      const message = affected.length
        ? `${setBy} ${setBy.includes(' and ') ? 'set' : 'sets'} ${key} on the revision pods of ${affected.length} Knative Service(s), so cost queries by ${key}=${value} miss them; their costs are found under ${under}${more}`
        : `${owner} sets ${key} on every Knative revision pod, so cost queries by ${key}=${value} will miss the Knative Services deployed here`
      // A key others own cannot be fixed on the pods: the fix is the same value under a key of the
      // namespace's own. Once such a key is on the namespace and reaches every revision pod (what the
      // fix does), the costs are found under it: the finding is resolved (info, not a failure).
      const alternative =
        owner === undefined ? undefined : labels.find(([k, v]) => k !== key && v === value && !podLabelOwner(k) && missedBy(k, v, undefined).length === 0)?.[0]
      if (alternative) {
        findings.push({
          namespace: name,
          key,
          value,
          setBy,
          services: affected,
          severity: 'info',
          message: `${message}; query by ${alternative}=${value} instead: every Knative revision pod here carries it`,
          fix: '',
        })
        continue
      }
      const free = ['cost-center', 'cost-domain', 'billing-domain'].find((k) => !(k in (ns.metadata.labels ?? {}))) ?? 'cost-domain'
      const fix = owner === undefined ? `knmesh cost-labels -n ${name} --set ${key}=${value}` : `knmesh cost-labels -n ${name} --set ${free}=${value}`
      findings.push({namespace: name, key, value, setBy, services: affected, severity: affected.length ? 'warning' : 'info', message, fix})
    }
  }
  return findings
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Parses --set key=value flags; refuses malformed labels and keys that revision pods get from Knative, Istio or Kubernetes. */
export function parseCostLabels(values: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of values) {
    const eq = raw.indexOf('=')
    if (eq <= 0) throw new UsageError(`invalid --set "${raw}": expected key=value`)
    const key = raw.slice(0, eq)
    const value = raw.slice(eq + 1)
    const slash = key.lastIndexOf('/')
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined
    const name = slash >= 0 ? key.slice(slash + 1) : key
    if ((prefix !== undefined && (!prefix || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) || name.length > 63 || !LABEL_NAME.test(name)) {
      throw new UsageError(`invalid label key "${key}": a name of at most 63 letters, digits, '-', '_' or '.', optionally prefixed by a DNS subdomain and '/'`)
    }
    if (value.length > 63 || (value !== '' && !LABEL_NAME.test(value))) {
      throw new UsageError(`invalid label value "${value}" for ${key}: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`)
    }
    const owner = podLabelOwner(key)
    if (owner) {
      const what = key === APP_LABEL ? `${key}=<revision name>` : key
      throw new UsageError(
        `${key} is set on Knative revision pods by ${owner} (${what}), so cost queries by it miss them: choose another key, such as cost-center`,
      )
    }
    if (NAMESPACE_ONLY.includes(key) || key.startsWith('kubernetes.io/') || key.startsWith('k8s.io/')) {
      throw new UsageError(`${key} is reserved for Kubernetes: choose another key, such as cost-center`)
    }
    if (key in out && out[key] !== value) throw new UsageError(`--set ${key} given twice with different values`)
    out[key] = value
  }
  return out
}

export interface CostLabelsInput {
  labels: Record<string, string>
  /** Missing namespaces are skipped with a warning (--all-members: the member roll may name namespaces not created yet). */
  skipMissing?: boolean
}

/** One line about namespaces that do not exist. */
export function missingText(missing: string[]): string {
  return `namespace${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found`
}

/**
 * --set: the label on each namespace and on the revision template of each of
 * its Knative Services (so new revision pods carry it). Pure.
 */
export function planCostLabels(state: CostLabelsState, input: CostLabelsInput): Plan {
  const notes: Note[] = []
  if (state.missing.length) {
    if (!input.skipMissing) throw new KnmeshError(missingText(state.missing))
    notes.push(warning(`${missingText(state.missing)}: skipped`))
  }
  const items: PlanItem[] = []
  const rolled: string[] = []
  for (const ns of state.namespaces) {
    const desired = structuredClone(ns)
    setLabels(desired, input.labels)
    items.push({live: ns, desired})
  }
  for (const s of state.services) {
    const desired = structuredClone(s)
    const meta = ensureObject(desired, ['spec', 'template', 'metadata'])
    meta.labels = {...meta.labels, ...input.labels}
    const item = {live: s, desired}
    if (actionOf(item) !== 'unchanged') rolled.push(`${s.metadata.namespace}/${s.metadata.name}`)
    items.push(item)
  }
  if (rolled.length) {
    const head = rolled.slice(0, 5).join(', ') + (rolled.length > 5 ? `, and ${rolled.length - 5} more` : '')
    notes.push(
      info(`${rolled.length} Knative Service(s) roll out a new revision whose pods carry the label${Object.keys(input.labels).length > 1 ? 's' : ''}: ${head}`),
    )
  }
  return {items, notes}
}

/** For a status verb: the audit's warnings as checks (info findings are left out), or one ok check. */
export function costLabelChecks(findings: CostLabelFinding[]): Check[] {
  const missed = findings.filter((f) => f.severity === 'warning')
  if (missed.length === 0) return [{id: 'cost-labels', status: 'ok', detail: 'Knative revision pods carry every namespace label'}]
  return missed.map((f) => ({id: `cost-labels/${f.namespace}/${f.key}`, status: 'warning' as const, detail: `${f.namespace}: ${f.message}`, fix: f.fix}))
}
