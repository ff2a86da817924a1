import type {KObject} from '../kube/types.js'
import {meshFlag} from './constants.js'
import {meshAnnotationFindings} from './annotate.js'
import {members} from './members.js'
import {metricsFindings, type MetricsState} from './metrics.js'
import {pipelineOf} from './pipelines.js'
import {auditSecrets, type RefsState} from './secret-filter.js'
import type {StatusRow, StatusState} from './status.js'

/**
 * The areas of status that come from the operating verbs: enable-metrics (1.5),
 * filter-secrets (1.7) and annotate-services (1.4.4, chapter 4). Each uses that
 * verb's own reader and check; the reads are cluster-wide.
 */

/** What the operating verbs' areas of status read (src/read/status.ts readStatusExtras). */
export interface StatusExtrasState {
  /** enable-metrics' state; null when its row is skipped (KnativeServing or the SMCP not served: precheck's rows say so). */
  metrics: MetricsState | null
  /** Every Knative Service; undefined when Knative Serving is not installed (no row), null when the user may not list them. */
  services: KObject[] | null | undefined
  /** filter-secrets' references and secrets; null when secret filtering is off (or there is no KnativeServing). */
  refs: RefsState | null
  /** The Tekton Pipelines linked to an application; null when they could not be listed (only the pipeline names are lost). */
  pipelines: KObject[] | null
}

/**
 * The services rows: one ok row, or one failure row per namespace whose
 * Knative Services lack the mesh annotations (1.4.4), naming the Pipelines
 * that deploy them. `roll`: the member namespaces; `flag`: "" or
 * " --mesh-namespace NS" for the fix (meshFlag).
 */
export function serviceRows(
  services: KObject[],
  roll: string[],
  flag: string,
  pipelines: KObject[] = [],
  check: {findings: (svc: KObject) => string[]; what: string} = {findings: meshAnnotationFindings, what: "the guide's annotations"},
): StatusRow[] {
  const findings = check.findings
  const lacking = services.filter((s) => roll.includes(s.metadata.namespace!) && findings(s).length > 0)
  if (lacking.length === 0) {
    const n = services.filter((s) => roll.includes(s.metadata.namespace!)).length
    const detail =
      n === 0
        ? 'no Knative Service in the mesh namespaces yet'
        : n === 1
          ? `the Knative Service in the mesh namespaces carries ${check.what}`
          : `all ${n} Knative Services in the mesh namespaces carry ${check.what}`
    return [{area: 'services', check: 'mesh annotations', state: 'ok', detail}]
  }
  const rows: StatusRow[] = []
  const byNs = new Map<string, KObject[]>()
  for (const s of lacking) byNs.set(s.metadata.namespace!, [...(byNs.get(s.metadata.namespace!) ?? []), s])
  for (const [ns, svcs] of byNs) {
    const piped = svcs.flatMap((s) => {
      const p = pipelineOf(s, pipelines)
      return p ? [`${s.metadata.name} (Pipeline ${p.metadata.name})`] : []
    })
    rows.push({
      area: 'services',
      check: `mesh annotations in ${ns}`,
      state: 'failure',
      detail:
        `${svcs.map((s) => s.metadata.name).join(', ')} ${svcs.length === 1 ? 'lacks' : 'lack'} ${check.what} (1.4.4)` +
        (piped.length
          ? `; ${piped.join(', ')} deployed by OpenShift Pipelines: add the annotations to the pipeline's deploy step too, or its next run drops them`
          : ''),
      fix: `knmesh annotate-services -n ${ns}${flag}`,
    })
  }
  return rows
}

/**
 * The metrics (1.5), secret filtering (1.7) and services (1.4.4) rows of
 * status, from the state readStatusExtras read. Pure; never throws (a
 * metrics check that throws becomes the row's detail).
 */
/** `members3`: Service Mesh 3 (no member roll): the namespaces labeled for injection, and annotate-services' findings there. */
export function extraRows(
  state: Pick<StatusState, 'meshNamespace' | 'istio'> & Partial<Pick<StatusState, 'members'>>,
  extras: StatusExtrasState,
  members3?: {namespaces: string[]; findings: (svc: KObject) => string[]; what: string},
): StatusRow[] {
  const mesh = state.meshNamespace
  const flag = meshFlag(mesh)
  const serving = state.istio?.serving ?? null
  const {metrics, services, refs, pipelines} = extras
  const rows: StatusRow[] = []

  // 1.5: metrics are optional; without them the mesh's mTLS keeps Prometheus out.
  let findings: string[] = []
  try {
    if (metrics) findings = metricsFindings(metrics, {meshNamespace: mesh})
  } catch (error) {
    findings = [(error as Error).message]
  }
  if (metrics)
    rows.push(
      findings.length
        ? {area: 'metrics', check: 'Knative Serving metrics', state: 'warning', detail: findings.join('; '), fix: `knmesh enable-metrics${flag}`}
        : {area: 'metrics', check: 'Knative Serving metrics', state: 'ok', detail: 'prometheus backend, monitoring NetworkPolicy, port 8444 excluded'},
    )

  // 1.7: with secret filtering on, net-istio sees only labelled secrets.
  if (!refs) {
    rows.push({
      area: 'secret filtering',
      check: 'certificate-uid labels',
      state: 'ok',
      detail: serving ? 'secret filtering is off: net-istio sees every secret' : 'no KnativeServing',
    })
  } else {
    const audit = auditSecrets(refs.refs, refs.secrets, [])
    const unlabelled = audit.filter((a) => a.problem === 'unlabelled')
    const missing = audit.filter((a) => a.problem === 'missing')
    if (unlabelled.length) {
      rows.push({
        area: 'secret filtering',
        check: 'certificate-uid labels',
        state: 'failure',
        detail: `${unlabelled.length} referenced secret(s) invisible to net-istio: ${unlabelled
          .slice(0, 5)
          .map((a) => `${a.namespace}/${a.name}`)
          .join(', ')}`,
        fix: `knmesh filter-secrets${flag}`,
      })
    }
    if (missing.length) {
      rows.push({
        area: 'secret filtering',
        check: 'referenced secrets',
        state: 'warning',
        detail: `${missing.length} referenced secret(s) do not exist: ${missing
          .slice(0, 5)
          .map((a) => `${a.namespace}/${a.name}`)
          .join(', ')}`,
      })
    }
    if (!unlabelled.length && !missing.length) {
      rows.push({area: 'secret filtering', check: 'certificate-uid labels', state: 'ok', detail: `${refs.refs.length} referenced secret(s), all labelled`})
    }
    if (refs.skipped.length) rows.push({area: 'secret filtering', check: 'sources', state: 'warning', detail: `could not list ${refs.skipped.join(', ')}`})
  }

  // 1.4.4 and chapter 4: every Knative Service in the mesh carries the annotations.
  if (services === undefined) {
    // Knative Serving is not installed: precheck's rows say so.
  } else if (services === null) rows.push({area: 'services', check: 'mesh annotations', state: 'warning', detail: 'cannot list Knative Services'})
  else if (members3) rows.push(...serviceRows(services, members3.namespaces, flag, pipelines ?? [], members3))
  else rows.push(...serviceRows(services, members(state.members?.smmr ?? null), flag, pipelines ?? []))
  return rows
}
