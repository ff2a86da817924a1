import {INJECT_KEY, REWRITE_PROBERS_KEY} from './constants.js'
import {ensureObject, setAnnotations} from '../change/edit.js'
import {info, warning, type Note, type Plan, type PlanItem} from '../change/plan.js'
import type {KObject} from '../kube/types.js'
import {names, planAnnotateServices, PASSTHROUGH_ANNOTATION, SERVICE_ANNOTATIONS, type AnnotateInput, type AnnotateState} from './annotate.js'
import {injectedNamespace, injectionLabel, INJECTION_LABEL, REVISION_LABEL} from './members3.js'
import {pipelineOf} from './pipelines.js'

/**
 * annotate-services on Service Mesh 3 (docs/reference/service-mesh-3.md §1.1 row 11, N5, N11; the Serverless
 * docs' verify module and the operator's serving/metadata-webhook ksvc_defaults.go): the revision template gets the
 * *label* sidecar.istio.io/inject: "true" (no injector selector of Service Mesh 3 reads the annotation, so an existing
 * annotation is replaced by the label) and the annotation sidecar.istio.io/rewriteAppHTTPProbers: "true"; the
 * Service keeps serving.knative.openshift.io/enablePassthrough: "true".
 */

export {INJECT_KEY}
export const REWRITE_PROBERS = REWRITE_PROBERS_KEY
export const TEMPLATE_LABELS_3 = {[INJECT_KEY]: 'true'} as const
export const TEMPLATE_ANNOTATIONS_3 = {[REWRITE_PROBERS]: 'true'} as const

export interface Annotate3State extends Omit<AnnotateState, 'members' | 'pending'> {
  /** The Istio serving the mesh namespace (null when none). */
  istio: KObject | null
  /** The Namespace objects of the services' namespaces, by name (absent: not readable). */
  namespaces: Map<string, KObject>
}

/** What a Knative Service lacks on Service Mesh 3 (one line per field); empty: nothing. */
export function meshAnnotationFindings3(svc: KObject): string[] {
  const out: string[] = []
  if (svc.metadata.annotations?.[PASSTHROUGH_ANNOTATION] !== 'true') out.push(`metadata.annotations["${PASSTHROUGH_ANNOTATION}"] is not "true"`)
  const meta = svc.spec?.template?.metadata ?? {}
  if (meta.labels?.[INJECT_KEY] !== 'true') out.push(`spec.template.metadata.labels["${INJECT_KEY}"] is not "true"`)
  if (meta.annotations?.[INJECT_KEY] !== undefined)
    out.push(`spec.template.metadata.annotations["${INJECT_KEY}"] is set (Service Mesh 3 ignores it: the label decides)`)
  if (meta.annotations?.[REWRITE_PROBERS] !== 'true') out.push(`spec.template.metadata.annotations["${REWRITE_PROBERS}"] is not "true"`)
  return out
}

/** The service with the Service Mesh 3 label and annotations; the template's inject annotation removed; everything else kept. */
export function desiredAnnotated3(live: KObject): KObject {
  const svc = structuredClone(live)
  setAnnotations(svc.metadata, SERVICE_ANNOTATIONS)
  const meta = ensureObject(svc, ['spec', 'template', 'metadata'])
  meta.labels = {...(meta.labels as Record<string, string> | undefined), ...TEMPLATE_LABELS_3}
  setAnnotations(meta, TEMPLATE_ANNOTATIONS_3)
  const annotations = meta.annotations as Record<string, string>
  delete annotations[INJECT_KEY]
  return svc
}

/**
 * Why the pods of a Knative Service carrying the inject label are still not injected on Service Mesh 3 (N5), or null.
 * The label injects only in a namespace with neither istio-injection nor istio.io/rev, and only for the default
 * revision; a namespace with istio-injection=enabled (or istio.io/rev of the active revision) injects anyway.
 */
export function injectionBlocker(ns: KObject | undefined, istio: KObject | null): string | null {
  const labels = (ns?.metadata.labels ?? {}) as Record<string, string>
  const [key, value] = istio ? injectionLabel(istio) : [INJECTION_LABEL, 'enabled']
  if (labels[INJECTION_LABEL] === 'enabled') return null
  if (labels[INJECTION_LABEL] !== undefined) return `namespace label ${INJECTION_LABEL}=${labels[INJECTION_LABEL]} turns injection off there`
  const rev = labels[REVISION_LABEL]
  if (rev !== undefined)
    return injectedNamespace(ns, istio)
      ? null
      : `namespace label ${REVISION_LABEL}=${rev} names another revision than ${key === REVISION_LABEL ? value : 'default'}`
  if (key === REVISION_LABEL)
    return `the active revision is ${value}, not default: the pod label injects only for the default revision (label the namespace ${REVISION_LABEL}=${value}: knmesh add-namespace)`
  return null
}

/**
 * annotate-services on Service Mesh 3. State: Annotate3State (src/read/annotate.ts readAnnotateFor); returns one item
 * per service and notes: the services that roll out a new revision, those whose inject annotation became the label,
 * Pipeline-deployed ones, and those the label alone does not inject (injectionBlocker). Never throws.
 */
export function planAnnotateServices3(state: Annotate3State, input: AnnotateInput): Plan {
  const notes: Note[] = []
  if (state.missing.length)
    notes.push(
      warning(`namespace${state.missing.length > 1 ? 's' : ''} ${state.missing.join(', ')} do${state.missing.length > 1 ? '' : 'es'} not exist: skipped`),
    )
  const items: PlanItem[] = state.services.map((live) => ({live, desired: desiredAnnotated3(live)}))
  const changing = state.services.filter((s) => meshAnnotationFindings3(s).length > 0)
  if (changing.length)
    notes.push(info(`${changing.length} Knative Service(s) will roll out a new revision (the revision template changes): ${names(changing)}`))
  const replaced = state.services.filter((s) => s.spec?.template?.metadata?.annotations?.[INJECT_KEY] !== undefined)
  if (replaced.length) {
    notes.push(
      info(`Service Mesh 3 ignores the annotation ${INJECT_KEY} (only the label is read): replaced by the label ${INJECT_KEY}: "true" on ${names(replaced)}`),
    )
  }
  const piped = changing.flatMap((s) => {
    const p = pipelineOf(s, state.pipelines ?? [])
    return p ? [`${s.metadata.namespace}/${s.metadata.name} (Pipeline ${p.metadata.name})`] : []
  })
  if (piped.length)
    notes.push(
      warning(
        `deployed by OpenShift Pipelines: ${piped.join(', ')}; add the label and annotations to the pipeline's deploy step too, or its next run drops them`,
      ),
    )
  const blocked = new Map<string, string>()
  for (const ns of new Set(state.services.map((s) => s.metadata.namespace!))) {
    const why = injectionBlocker(state.namespaces.get(ns), state.istio)
    if (why) blocked.set(ns, why)
  }
  for (const [ns, why] of blocked) {
    const there = state.services.filter((s) => s.metadata.namespace === ns)
    notes.push(warning(`${names(there)}: not injected even with the label: ${why}`))
  }
  if (state.services.length === 0) notes.push(info(`no Knative Services in ${input.namespaces.length ? input.namespaces.join(', ') : 'the mesh namespaces'}`))
  return {items, notes}
}

/** annotate-services' state, per generation (src/read/annotate.ts readAnnotateFor). */
export type AnnotateStateFor = ({generation: 2} & AnnotateState) | ({generation: 3} & Annotate3State)

/** annotate-services' plan for the generation found: guide 1.4.4's annotations (2) or the label + annotation (3). */
export function planAnnotateServicesFor(state: AnnotateStateFor, input: AnnotateInput): Plan {
  return state.generation === 3 ? planAnnotateServices3(state, input) : planAnnotateServices(state, input)
}
