import type {KObject, JsonObject} from '../../kube/types.js'
import {INJECT_KEY, KNATIVE_EVENTING, KNATIVE_SERVING, SMMR_NAME, meshFlag} from '../constants.js'
import {EVENTING_WORKLOADS, KAFKA_WORKLOADS, SERVING_DEPLOYMENTS} from '../istio.js'
import {members} from '../members.js'
import {finding, ref, type AnalyzeState, type Finding, type Rule} from './types.js'

/** Sidecars (guide 1.4.2 steps 2-3, 1.4.3, 1.4.4). */

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
  summary: 'A Knative Service in a mesh member namespace has no sidecar.istio.io/inject: "true" on its revision template: its pods get no sidecar and the mesh\'s mTLS refuses them.',
  run(s) {
    const mesh = memberNamespaces(s.smmr)
    const out: Finding[] = []
    for (const k of s.knativeServices) {
      const ns = k.metadata.namespace!
      if (!mesh.has(ns)) continue
      const v = annotationsOf(k.spec?.template?.metadata?.annotations)[INJECT]
      if (injectValue(v) === 'inject') continue
      const what = v === undefined ? 'has no' : `has ${INJECT}: "${v}" instead of the`
      out.push(finding(KNM0301, [ref(k, 'Service.serving.knative.dev')], `spec.template.metadata.annotations ${what} sidecar annotation: its pods run without a sidecar in a mesh namespace`, `knmesh annotate-services ${k.metadata.name} -n ${ns}${meshFlag(s.meshNamespace)}`))
    }
    return out
  },
}

/** The Knative system workloads that need the sidecar, per custom resource, when Istio is enabled in it. */
export function systemWorkloads(s: Pick<AnalyzeState, 'serving' | 'eventing' | 'kafka'>): {cr: KObject; field: 'deployments' | 'workloads'; names: string[]}[] {
  const out: {cr: KObject; field: 'deployments' | 'workloads'; names: string[]}[] = []
  if (s.serving?.spec?.ingress?.istio?.enabled === true) out.push({cr: s.serving, field: 'deployments', names: SERVING_DEPLOYMENTS})
  const eventingIstio = s.eventing?.spec?.config?.features?.istio === 'enabled'
  if (s.eventing && eventingIstio) out.push({cr: s.eventing, field: 'workloads', names: EVENTING_WORKLOADS})
  if (s.kafka && eventingIstio) out.push({cr: s.kafka, field: 'workloads', names: KAFKA_WORKLOADS})
  return out
}

export const KNM0302: Rule = {
  code: 'KNM0302',
  severity: 'Error',
  summary: 'Istio is enabled in KnativeServing/KnativeEventing while a Knative system workload of KnativeServing, KnativeEventing or KnativeKafka lacks the sidecar annotation: it cannot talk to meshed pods under strict mTLS.',
  run(s) {
    const out: Finding[] = []
    for (const {cr, field, names} of systemWorkloads(s)) {
      const list: JsonObject[] = Array.isArray(cr.spec?.[field]) ? cr.spec[field] : []
      const lacking = names.filter((n) => injectValue(annotationsOf(list.find((e) => e?.name === n)?.annotations)[INJECT]) !== 'inject')
      if (lacking.length === 0) continue
      out.push(finding(KNM0302, [ref(cr)], `spec.${field}: ${lacking.join(', ')} lack${lacking.length === 1 ? 's' : ''} ${INJECT}: "true": ${lacking.length === 1 ? 'it runs' : 'they run'} without a sidecar`, `knmesh enable-istio${meshFlag(s.meshNamespace)}`))
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
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
  return d[a.length][b.length]
}

export const KNM0303: Rule = {
  code: 'KNM0303',
  severity: 'Warning',
  summary: 'A misspelled inject annotation (a near-miss key, a value the injector does not read as yes/no), or sidecar.istio.io/inject on the Knative Service\'s own metadata instead of its revision template: no sidecar is injected.',
  run(s) {
    const out: Finding[] = []
    const check = (obj: KObject, kind: string, path: string, annotations: Record<string, string>, fix: string) => {
      for (const [key, value] of Object.entries(annotations)) {
        if (nearInjectKey(key)) out.push(finding(KNM0303, [ref(obj, kind)], `${path}["${key}"] is not ${INJECT}: the injector ignores it`, fix))
        else if (key === INJECT && injectValue(value) === 'unknown') out.push(finding(KNM0303, [ref(obj, kind)], `${path}["${INJECT}"] is "${value}": the injector reads only y/yes/true/on (and n/no/false/off), so no sidecar is injected`, fix))
      }
    }
    for (const k of s.knativeServices) {
      const fix = `knmesh annotate-services ${k.metadata.name} -n ${k.metadata.namespace}${meshFlag(s.meshNamespace)}`
      const meta = annotationsOf(k.metadata.annotations)
      check(k, 'Service.serving.knative.dev', 'spec.template.metadata.annotations', annotationsOf(k.spec?.template?.metadata?.annotations), fix)
      check(k, 'Service.serving.knative.dev', 'metadata.annotations', meta, fix)
      if (INJECT in meta && !(INJECT in annotationsOf(k.spec?.template?.metadata?.annotations))) {
        out.push(finding(KNM0303, [ref(k, 'Service.serving.knative.dev')], `${INJECT} is on the Knative Service's metadata, not on spec.template.metadata: revisions do not inherit it`, fix))
      }
    }
    for (const w of s.workloads) {
      check(w, w.kind, 'spec.template.metadata.annotations', annotationsOf(w.spec?.template?.metadata?.annotations), `fix the annotation key/value on ${w.kind} ${w.metadata.namespace}/${w.metadata.name}`)
    }
    for (const cr of [s.serving, s.eventing, s.kafka]) {
      if (!cr) continue
      for (const field of ['deployments', 'workloads']) {
        const list: JsonObject[] = Array.isArray(cr.spec?.[field]) ? cr.spec[field] : []
        for (const e of list) check(cr, cr.kind, `spec.${field}[${e?.name}].annotations`, annotationsOf(e?.annotations), `knmesh enable-istio${meshFlag(s.meshNamespace)}`)
      }
    }
    return out
  },
}

export const KNM0304: Rule = {
  code: 'KNM0304',
  severity: 'Warning',
  summary: 'Namespaces are pending in the ServiceMeshMemberRoll (status.pendingMembers): they are not in the mesh yet, their pods get no sidecar.',
  run(s) {
    const pending = Array.isArray(s.smmr?.status?.pendingMembers) ? (s.smmr!.status.pendingMembers as unknown[]).filter((m): m is string => typeof m === 'string') : []
    if (!s.smmr || pending.length === 0) return []
    const critical = pending.filter((p) => p === KNATIVE_SERVING || p === KNATIVE_EVENTING)
    return [
      finding(KNM0304, [ref(s.smmr), ...pending.map((name) => ({kind: 'Namespace', name}))], `${pending.join(', ')} ${pending.length === 1 ? 'is' : 'are'} pending in the member roll${critical.length ? ` (${critical.join(' and ')}: Knative's own traffic is outside the mesh)` : ''}`, `check the namespaces exist and the member roll's conditions: oc get smmr ${SMMR_NAME} -n ${s.meshNamespace} -o yaml`),
    ]
  },
}

export const SIDECAR_RULES = [KNM0301, KNM0302, KNM0303, KNM0304]
