import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {meshAnnotationFindings} from './annotate.js'
import {KNATIVE_SERVING, REQUIRED_MEMBERS} from './constants.js'
import {members} from './members.js'
import {metricsFindings, type MetricsState} from './metrics.js'
import {readMetrics, readSecretRefs, type RefsState} from './read-ops.js'
import {unlessForbidden} from './read-workloads.js'
import {auditSecrets, CERT_UID_LABEL, filteringEnabled} from './secret-filter.js'
import type {StatusRow, StatusState} from './status.js'

/**
 * Areas other verbs contribute to status (metrics, secret filtering, service
 * annotations), each from that verb's own reader and check.
 */
export async function statusExtras(client: KubeClient, state: StatusState): Promise<StatusRow[]> {
  const mesh = state.meshNamespace
  // A fixed number of requests: three for metrics, three lists and one GET per referenced secret, one list of Knative Services.
  const [metrics, refs, services] = await Promise.all([
    readMetrics(client, mesh),
    readSecretRefs(client, {meshNamespace: mesh, namespaces: null}),
    unlessForbidden(client.listIfServed(Kinds.KnativeService)),
  ])
  return extraRows({meshNamespace: mesh, metrics, refs, services, members: members(state.members.smmr)})
}

export interface ExtraInput {
  meshNamespace: string
  metrics: MetricsState
  refs: RefsState
  /** All Knative Services (null: not served or not readable). */
  services: KObject[] | null
  /** The member roll's members. */
  members: string[]
}

/** Pure: the rows for guide 1.5 (metrics), 1.7 (secret filtering) and 1.4.4 (service annotations). */
export function extraRows(s: ExtraInput): StatusRow[] {
  const meshFlag = s.meshNamespace === 'istio-system' ? '' : ` --mesh-namespace ${s.meshNamespace}`
  const rows: StatusRow[] = []

  // 1.5: optional, so missing settings are a warning.
  if (s.metrics.serving) {
    const f = metricsFindings(s.metrics, {meshNamespace: s.meshNamespace})
    rows.push(
      f.length
        ? {area: 'metrics', check: 'Knative Serving metrics (1.5)', state: 'warning', detail: f.join('; '), fix: `knmesh enable-metrics${meshFlag}`}
        : {area: 'metrics', check: 'Knative Serving metrics (1.5)', state: 'ok', detail: 'prometheus backend, monitoring NetworkPolicy, port 8444 excluded'},
    )
  }

  // 1.7: with filtering on, referenced secrets without the label are invisible to net-istio.
  const filtering = filteringEnabled(s.metrics.serving)
  const audit = auditSecrets(s.refs.refs, s.refs.secrets, [])
  const check = 'secret filtering (1.7)'
  if (!filtering) {
    rows.push({area: 'serverless', check, state: 'ok', detail: `filtering disabled in KnativeServing ${KNATIVE_SERVING}: net-istio sees every secret`})
  } else if (audit.length) {
    const names = audit.slice(0, 3).map((r) => `${r.namespace}/${r.name} (${r.problem})`).join(', ') + (audit.length > 3 ? ', …' : '')
    rows.push({area: 'serverless', check, state: 'warning', detail: `${audit.length} referenced secret(s) invisible to net-istio: ${names}`, fix: `knmesh filter-secrets${meshFlag}`})
  } else {
    rows.push({area: 'serverless', check, state: 'ok', detail: `${s.refs.refs.length} referenced secret(s) carry ${CERT_UID_LABEL}`})
  }

  // 1.4.4: every Knative Service of a mesh member carries the annotations.
  if (s.services) {
    const inMesh = s.services.filter((svc) => s.members.includes(svc.metadata.namespace!) && !REQUIRED_MEMBERS.includes(svc.metadata.namespace!))
    const lacking = inMesh.filter((svc) => meshAnnotationFindings(svc).length > 0)
    rows.push(
      lacking.length
        ? {
            area: 'services',
            check: 'mesh annotations (1.4.4)',
            state: 'failure',
            detail: `${lacking.length} of ${inMesh.length} Knative Service(s) lack them: ${lacking.slice(0, 3).map((x) => `${x.metadata.namespace}/${x.metadata.name}`).join(', ')}${lacking.length > 3 ? ', …' : ''}`,
            fix: `knmesh annotate-services --all-members${meshFlag}`,
          }
        : {area: 'services', check: 'mesh annotations (1.4.4)', state: 'ok', detail: `${inMesh.length} Knative Service(s) in mesh members carry them`},
    )
  }
  return rows
}
