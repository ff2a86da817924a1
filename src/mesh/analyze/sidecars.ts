import type {KObject, JsonObject} from '../../kube/types.js'
import {INJECT_KEY, KNATIVE_EVENTING, KNATIVE_SERVING, SMMR_NAME, meshFlag} from '../constants.js'
import {EVENTING_WORKLOADS, KAFKA_WORKLOADS, SERVING_DEPLOYMENTS} from '../istio.js'
import {EVENTING_WORKLOADS_3} from '../istio3.js'
import {gatewayRevision} from '../gateways3.js'
import {members} from '../members.js'
import {INJECTION_LABEL, REVISION_LABEL} from '../members3.js'
import {ksvcInjection3} from '../probe.js'
import {tenantsOf} from '../tenant-authz.js'
import {finding, ref, type AnalyzeState, type Finding, type Rule} from './types.js'

/**
 * Sidecars (guide 1.4.2 steps 2-3, 1.4.3, 1.4.4). Service Mesh 3 (docs/reference/service-mesh-3.md row 5, 7-9,
 * 11, N5, N11): no member roll; a pod gets a sidecar when its namespace is labeled for injection, or, in a namespace
 * without such label and for the default revision, when its template has the *label* sidecar.istio.io/inject: "true".
 * No injector selector reads the annotation.
 */

export const INJECT = INJECT_KEY

/**
 * How the injector reads sidecar.istio.io/inject (Istio's inject webhook,
 * injectRequired): y/yes/true/on inject, "" uses the namespace default, any
 * other value (n, false, "enabled", a typo) means no sidecar.
 */
export function injectValue(v: unknown): 'inject' | 'no' | 'unset' | 'unknown' {
  if (v === undefined || v === null || v === '') return 'unset'
  const t = String(v).toLowerCase()
  if (['y', 'yes', 'true', 'on'].includes(t)) return 'inject'
  if (['n', 'no', 'false', 'off'].includes(t)) return 'no'
  return 'unknown'
}

const annotationsOf = (v: unknown): Record<string, string> => (v && typeof v === 'object' ? (v as Record<string, string>) : {})

/** The namespaces of the mesh: the member roll's spec and status. */
export function memberNamespaces(smmr: KObject | null): Set<string> {
  const status = Array.isArray(smmr?.status?.members) ? (smmr!.status.members as unknown[]).filter((m): m is string => typeof m === 'string') : []
  return new Set([...members(smmr), ...status])
}

export const KNM0301: Rule = {
  code: 'KNM0301',
  severity: 'Error',
  summary:
    'A Knative Service in a mesh member namespace has no sidecar.istio.io/inject: "true" on its revision template: its pods get no sidecar and the mesh\'s mTLS refuses them. Service Mesh 3: a Knative Service in a tenant\'s namespace, or with the inject label, whose pods still get no sidecar (namespace not labeled for injection, a non-default revision, istio-injection=disabled).',
  run(s) {
    if (s.generation === 3) return notInjected3(s)
    const mesh = memberNamespaces(s.smmr)
    const out: Finding[] = []
    for (const k of s.knativeServices) {
      const ns = k.metadata.namespace!
      if (!mesh.has(ns)) continue
      const v = annotationsOf(k.spec?.template?.metadata?.annotations)[INJECT]
      if (injectValue(v) === 'inject') continue
      const what = v === undefined ? 'has no' : `has ${INJECT}: "${v}" instead of the`
      out.push(
        finding(
          KNM0301,
          [ref(k, 'Service.serving.knative.dev')],
          `spec.template.metadata.annotations ${what} sidecar annotation: its pods run without a sidecar in a mesh namespace`,
          `knmesh annotate-services ${k.metadata.name} -n ${ns}${meshFlag(s.meshNamespace)}`,
        ),
      )
    }
    return out
  },
}

const labelsOf = annotationsOf

/** Service Mesh 3: the namespace of a Knative Service, read from the Namespaces (undefined: not readable or absent). */
const namespaceOf = (s: AnalyzeState, name: string) => s.mesh3?.namespaces?.get(name)

/** The Knative Services whose template has the inject annotation and no inject label (KNM0305's subject). */
const annotationOnly = (k: KObject) =>
  injectValue(annotationsOf(k.spec?.template?.metadata?.annotations)[INJECT]) === 'inject' && labelsOf(k.spec?.template?.metadata?.labels)[INJECT] === undefined

/** KNM0301 on Service Mesh 3: probe's injection model (ksvcInjection3) for the services meant to be in the mesh. */
function notInjected3(s: AnalyzeState): Finding[] {
  if (!s.mesh3?.namespaces) return [] // the Namespaces could not be read: no injection labels to go by
  const tenantNamespaces = new Set(tenantsOf(s.policies).flatMap((t) => t.namespaces))
  const out: Finding[] = []
  for (const k of s.knativeServices) {
    const ns = k.metadata.namespace!
    const label = labelsOf(k.spec?.template?.metadata?.labels)[INJECT]
    if (label === 'false' || annotationOnly(k)) continue // an opt-out; KNM0305's
    if (!tenantNamespaces.has(ns) && label !== 'true') continue
    const r = ksvcInjection3(k, namespaceOf(s, ns), s.mesh3.istio)
    if (r.injected) continue
    const why = tenantNamespaces.has(ns) ? ` (namespace ${ns} belongs to a tenant: its AuthorizationPolicies are enforced by sidecars only)` : ''
    out.push(
      finding(
        KNM0301,
        [ref(k, 'Service.serving.knative.dev'), {kind: 'Namespace', name: ns}],
        `${r.reason ?? 'its pods get no sidecar'}${why}`,
        `knmesh add-namespace ${ns}${meshFlag(s.meshNamespace)}`,
      ),
    )
  }
  return out
}

/** The Knative system workloads that need the sidecar, per custom resource, when Istio is enabled in it (Service Mesh 3: Eventing's job-sink too). */
export function systemWorkloads(
  s: Pick<AnalyzeState, 'serving' | 'eventing' | 'kafka'> & Partial<Pick<AnalyzeState, 'generation'>>,
): {cr: KObject; field: 'deployments' | 'workloads'; names: string[]}[] {
  const out: {cr: KObject; field: 'deployments' | 'workloads'; names: string[]}[] = []
  if (s.serving?.spec?.ingress?.istio?.enabled === true) out.push({cr: s.serving, field: 'deployments', names: SERVING_DEPLOYMENTS})
  // The operator reads either key (N8: the Service Mesh 3 e2e writes config-features).
  const eventingIstio = s.eventing?.spec?.config?.features?.istio === 'enabled' || s.eventing?.spec?.config?.['config-features']?.istio === 'enabled'
  if (s.eventing && eventingIstio) out.push({cr: s.eventing, field: 'workloads', names: s.generation === 3 ? EVENTING_WORKLOADS_3 : EVENTING_WORKLOADS})
  if (s.kafka && eventingIstio) out.push({cr: s.kafka, field: 'workloads', names: KAFKA_WORKLOADS})
  return out
}

/** The revision the system workloads must name by pod label on Service Mesh 3 (null: the default revision; never throws). */
function revisionOf3(s: AnalyzeState): string | null {
  if (!s.mesh3?.istio) return null
  try {
    return gatewayRevision(s.mesh3.istio)
  } catch {
    return null // RevisionBased without a status yet: precheck says so
  }
}

/** KNM0302 on Service Mesh 3: the entries (deployments[] or workloads[], either list) lack the inject label or the revision label. */
function systemLabels3(s: AnalyzeState): Finding[] {
  const out: Finding[] = []
  const revision = revisionOf3(s)
  for (const {cr, field, names} of systemWorkloads(s)) {
    const entries = (['deployments', 'workloads'] as const).flatMap((f) => (Array.isArray(cr.spec?.[f]) ? (cr.spec[f] as JsonObject[]) : []))
    const lacking: string[] = []
    const annotated: string[] = []
    for (const n of names) {
      const mine = entries.filter((e) => e?.name === n)
      const labeled = mine.some((e) => labelsOf(e?.labels)[INJECT] === 'true' && (!revision || labelsOf(e?.labels)[REVISION_LABEL] === revision))
      if (labeled) continue
      lacking.push(n)
      if (mine.some((e) => injectValue(annotationsOf(e?.annotations)[INJECT]) === 'inject')) annotated.push(n)
    }
    if (lacking.length === 0) continue
    const want = `the label ${INJECT}: "true"${revision ? ` and ${REVISION_LABEL}: ${revision}` : ''}`
    const note = annotated.length
      ? ` (${annotated.join(', ')} ${annotated.length === 1 ? 'has' : 'have'} the 2.x annotation, which Service Mesh 3 ignores)`
      : ''
    out.push(
      finding(
        KNM0302,
        [ref(cr)],
        `spec.${field}: ${lacking.join(', ')} lack${lacking.length === 1 ? 's' : ''} ${want}${note}: ${lacking.length === 1 ? 'it runs' : 'they run'} without a sidecar`,
        `knmesh enable-istio${meshFlag(s.meshNamespace)}`,
      ),
    )
  }
  return out
}

export const KNM0302: Rule = {
  code: 'KNM0302',
  severity: 'Error',
  summary:
    'Istio is enabled in KnativeServing/KnativeEventing while a Knative system workload of KnativeServing, KnativeEventing or KnativeKafka lacks the sidecar annotation (Service Mesh 3: the inject label, and istio.io/rev for a non-default revision; job-sink too): it cannot talk to meshed pods under strict mTLS.',
  run(s) {
    if (s.generation === 3) return systemLabels3(s)
    const out: Finding[] = []
    for (const {cr, field, names} of systemWorkloads(s)) {
      const list: JsonObject[] = Array.isArray(cr.spec?.[field]) ? cr.spec[field] : []
      const lacking = names.filter((n) => injectValue(annotationsOf(list.find((e) => e?.name === n)?.annotations)[INJECT]) !== 'inject')
      if (lacking.length === 0) continue
      out.push(
        finding(
          KNM0302,
          [ref(cr)],
          `spec.${field}: ${lacking.join(', ')} lack${lacking.length === 1 ? 's' : ''} ${INJECT}: "true": ${lacking.length === 1 ? 'it runs' : 'they run'} without a sidecar`,
          `knmesh enable-istio${meshFlag(s.meshNamespace)}`,
        ),
      )
    }
    return out
  },
}

/** Annotation keys that look like the inject annotation but are not it (case, typos, the label's key on another prefix). */
export function nearInjectKey(key: string): boolean {
  if (key === INJECT) return false
  const k = key.toLowerCase()
  if (k === INJECT) return true
  // The namespace label's key, used as an annotation.
  if (k === 'istio-injection' || k.endsWith('/istio-injection')) return true
  if (/(^|\/)inject(ion)?$/.test(k) && /istio|sidecar|maistra/.test(k)) return true
  return distance(k, INJECT) <= 2
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3
  const d = Array.from({length: a.length + 1}, (_, i) => [i, ...Array(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
  return d[a.length][b.length]
}

export const KNM0303: Rule = {
  code: 'KNM0303',
  severity: 'Warning',
  summary:
    'A misspelled inject annotation (a near-miss key, a value the injector does not read as yes/no), or sidecar.istio.io/inject on the Knative Service\'s own metadata instead of its revision template: no sidecar is injected. Service Mesh 3: the same for the inject label (values other than "true"/"false").',
  run(s) {
    const out: Finding[] = []
    const check = (obj: KObject, kind: string, path: string, annotations: Record<string, string>, fix: string) => {
      // Service Mesh 3 reads no inject annotation at all: the labels are checked below, KNM0305 names annotation-only services.
      if (s.generation === 3) return
      for (const [key, value] of Object.entries(annotations)) {
        if (nearInjectKey(key)) out.push(finding(KNM0303, [ref(obj, kind)], `${path}["${key}"] is not ${INJECT}: the injector ignores it`, fix))
        else if (key === INJECT && injectValue(value) === 'unknown')
          out.push(
            finding(
              KNM0303,
              [ref(obj, kind)],
              `${path}["${INJECT}"] is "${value}": the injector reads only y/yes/true/on (and n/no/false/off), so no sidecar is injected`,
              fix,
            ),
          )
      }
    }
    // Service Mesh 3: the label is what the injector's selectors read, and only "true" (or "false" to opt out).
    const checkLabels = (obj: KObject, kind: string, path: string, labels: Record<string, string>, fix: string) => {
      if (s.generation !== 3) return
      for (const [key, value] of Object.entries(labels)) {
        if (nearInjectKey(key)) out.push(finding(KNM0303, [ref(obj, kind)], `${path}["${key}"] is not ${INJECT}: the injector ignores it`, fix))
        else if (key === INJECT && value !== 'true' && value !== 'false')
          out.push(
            finding(
              KNM0303,
              [ref(obj, kind)],
              `${path}["${INJECT}"] is "${value}": Service Mesh 3's injector selectors match only "true" (and "false"), so no sidecar is injected`,
              fix,
            ),
          )
      }
    }
    for (const k of s.knativeServices) {
      const fix = `knmesh annotate-services ${k.metadata.name} -n ${k.metadata.namespace}${meshFlag(s.meshNamespace)}`
      checkLabels(k, 'Service.serving.knative.dev', 'spec.template.metadata.labels', labelsOf(k.spec?.template?.metadata?.labels), fix)
      const meta = annotationsOf(k.metadata.annotations)
      check(k, 'Service.serving.knative.dev', 'spec.template.metadata.annotations', annotationsOf(k.spec?.template?.metadata?.annotations), fix)
      check(k, 'Service.serving.knative.dev', 'metadata.annotations', meta, fix)
      if (s.generation !== 3 && INJECT in meta && !(INJECT in annotationsOf(k.spec?.template?.metadata?.annotations))) {
        out.push(
          finding(
            KNM0303,
            [ref(k, 'Service.serving.knative.dev')],
            `${INJECT} is on the Knative Service's metadata, not on spec.template.metadata: revisions do not inherit it`,
            fix,
          ),
        )
      }
    }
    for (const w of s.workloads) {
      check(
        w,
        w.kind,
        'spec.template.metadata.annotations',
        annotationsOf(w.spec?.template?.metadata?.annotations),
        `fix the annotation key/value on ${w.kind} ${w.metadata.namespace}/${w.metadata.name}`,
      )
      checkLabels(
        w,
        w.kind,
        'spec.template.metadata.labels',
        labelsOf(w.spec?.template?.metadata?.labels),
        `fix the label key/value on ${w.kind} ${w.metadata.namespace}/${w.metadata.name}`,
      )
    }
    for (const cr of [s.serving, s.eventing, s.kafka]) {
      if (!cr) continue
      for (const field of ['deployments', 'workloads']) {
        const list: JsonObject[] = Array.isArray(cr.spec?.[field]) ? cr.spec[field] : []
        for (const e of list) {
          check(cr, cr.kind, `spec.${field}[${e?.name}].annotations`, annotationsOf(e?.annotations), `knmesh enable-istio${meshFlag(s.meshNamespace)}`)
          checkLabels(cr, cr.kind, `spec.${field}[${e?.name}].labels`, labelsOf(e?.labels), `knmesh enable-istio${meshFlag(s.meshNamespace)}`)
        }
      }
    }
    return out
  },
}

export const KNM0304: Rule = {
  code: 'KNM0304',
  severity: 'Warning',
  generations: [2],
  summary: 'Namespaces are pending in the ServiceMeshMemberRoll (status.pendingMembers): they are not in the mesh yet, their pods get no sidecar.',
  run(s) {
    const pending = Array.isArray(s.smmr?.status?.pendingMembers)
      ? (s.smmr!.status.pendingMembers as unknown[]).filter((m): m is string => typeof m === 'string')
      : []
    if (!s.smmr || pending.length === 0) return []
    const critical = pending.filter((p) => p === KNATIVE_SERVING || p === KNATIVE_EVENTING)
    return [
      finding(
        KNM0304,
        [ref(s.smmr), ...pending.map((name) => ({kind: 'Namespace', name}))],
        `${pending.join(', ')} ${pending.length === 1 ? 'is' : 'are'} pending in the member roll${critical.length ? ` (${critical.join(' and ')}: Knative's own traffic is outside the mesh)` : ''}`,
        `check the namespaces exist and the member roll's conditions: oc get smmr ${SMMR_NAME} -n ${s.meshNamespace} -o yaml`,
      ),
    ]
  },
}

export const KNM0305: Rule = {
  code: 'KNM0305',
  severity: 'Error',
  generations: [3],
  summary:
    "Service Mesh 3: a Knative Service's revision template has the inject annotation (guide 1.4.4, kn --annotation-revision) but no inject label, in a namespace not labeled for injection: Service Mesh 3 ignores the annotation, so its pods silently run without a sidecar and the tenant policies do not apply to them.",
  run(s) {
    if (!s.mesh3?.namespaces) return []
    const out: Finding[] = []
    for (const k of s.knativeServices) {
      if (!annotationOnly(k)) continue
      const ns = k.metadata.namespace!
      const r = ksvcInjection3(k, namespaceOf(s, ns), s.mesh3.istio)
      if (r.injected) continue
      const nsLabels = labelsOf(namespaceOf(s, ns)?.metadata.labels)
      // The label alone injects only for the default revision in an unlabeled namespace; otherwise the namespace needs its label.
      const labelEnough = revisionOf3(s) === null && nsLabels[INJECTION_LABEL] === undefined && nsLabels[REVISION_LABEL] === undefined
      const fix = labelEnough
        ? `knmesh annotate-services ${k.metadata.name} -n ${ns}${meshFlag(s.meshNamespace)} (the annotation becomes the label), or knmesh add-namespace ${ns}${meshFlag(s.meshNamespace)}`
        : `knmesh add-namespace ${ns}${meshFlag(s.meshNamespace)}`
      out.push(
        finding(
          KNM0305,
          [ref(k, 'Service.serving.knative.dev'), {kind: 'Namespace', name: ns}],
          `spec.template.metadata.annotations["${INJECT}"] is "${annotationsOf(k.spec?.template?.metadata?.annotations)[INJECT]}" with no such label, and namespace ${ns} is not labeled for injection: Service Mesh 3 ignores the annotation, the pods run without a sidecar`,
          fix,
        ),
      )
    }
    return out
  },
}

export const SIDECAR_RULES = [KNM0301, KNM0302, KNM0303, KNM0304, KNM0305]
