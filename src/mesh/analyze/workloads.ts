import type {Workload} from '../authz-eval.js'
import type {AnalyzeState} from './types.js'

/**
 * The pod templates of a cluster, as workloads (namespace + the labels their
 * pods get), whatever their replica count: a Knative Service scaled to zero
 * still has its template. Knative revision pods carry the template's labels
 * plus serving.knative.dev/{service,configuration,revision} and app=<revision>
 * (knative.dev/serving pkg/reconciler/revision/resources/meta.go).
 */
export interface TemplateWorkload extends Workload {
  /** "Deployment knative-serving/activator", "Service(serving.knative.dev) apps/hello". */
  from: string
  /** Service metadata labels stand for gateway pods only in gateway checks. */
  serviceLabels?: boolean
}

const labelsOf = (v: unknown): Record<string, string> => (v && typeof v === 'object' ? (v as Record<string, string>) : {})

export function templateWorkloads(s: Pick<AnalyzeState, 'workloads' | 'knativeServices' | 'revisions'>): TemplateWorkload[] {
  const out: TemplateWorkload[] = []
  for (const w of s.workloads) {
    out.push({
      namespace: w.metadata.namespace ?? '',
      labels: labelsOf(w.spec?.template?.metadata?.labels),
      from: `${w.kind} ${w.metadata.namespace}/${w.metadata.name}`,
    })
  }
  for (const r of s.revisions) {
    out.push({
      namespace: r.metadata.namespace ?? '',
      labels: {app: r.metadata.name, ...labelsOf(r.metadata.labels), 'serving.knative.dev/revision': r.metadata.name},
      from: `Revision ${r.metadata.namespace}/${r.metadata.name}`,
    })
  }
  for (const k of s.knativeServices) {
    const ns = k.metadata.namespace ?? ''
    const name = k.metadata.name
    const latest = (k.status?.latestCreatedRevisionName as string | undefined) ?? k.spec?.template?.metadata?.name ?? `${name}-00001`
    out.push({
      namespace: ns,
      labels: {
        app: latest,
        ...labelsOf(k.spec?.template?.metadata?.labels),
        'serving.knative.dev/service': name,
        'serving.knative.dev/configuration': name,
        'serving.knative.dev/revision': latest,
      },
      from: `Service(serving.knative.dev) ${ns}/${name}`,
    })
  }
  return out
}

/** matchLabels (and matchExpressions, when given) against labels; an absent selector matches everything. */
export function labelSelectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  if (!selector || typeof selector !== 'object') return true
  const sel = selector as {matchLabels?: Record<string, string>; matchExpressions?: {key: string; operator: string; values?: string[]}[]}
  // Istio's WorkloadSelector is matchLabels only; a bare map is a Gateway selector.
  const ml = sel.matchLabels ?? (sel.matchExpressions === undefined ? (sel as Record<string, string>) : {})
  if (!Object.entries(ml).every(([k, v]) => labels[k] === v)) return false
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels
    const inValues = has && (e.values ?? []).includes(labels[e.key])
    if (e.operator === 'In' && !inValues) return false
    if (e.operator === 'NotIn' && inValues) return false
    if (e.operator === 'Exists' && !has) return false
    if (e.operator === 'DoesNotExist' && has) return false
  }
  return true
}

export const isEmptyMap = (m: unknown) => !m || typeof m !== 'object' || Object.keys(m as object).length === 0
