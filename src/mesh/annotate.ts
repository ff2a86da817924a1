import {ensureObject, setAnnotations} from '../change/edit.js'
import {info, warning, type Note, type Plan} from '../change/plan.js'
import type {KObject} from '../kube/types.js'
import {SIDECAR_ANNOTATIONS} from './constants.js'
import {pendingText} from './members.js'
import {pipelineOf} from './pipelines.js'

/** Guide 1.4.4: the annotations every Knative Service needs to work with Service Mesh. */

export const PASSTHROUGH_ANNOTATION = 'serving.knative.openshift.io/enablePassthrough'
export const SERVICE_ANNOTATIONS = {[PASSTHROUGH_ANNOTATION]: 'true'} as const

export interface AnnotateState {
  /** The Knative Services in scope. */
  services: KObject[]
  /** Mesh member namespaces (spec and status of the member roll), or null when there is no member roll. */
  members: string[] | null
  /** Members the Service Mesh Operator has not configured yet (pendingMembers of members.ts); absent: unknown. */
  pending?: string[]
  /** Tekton Pipelines carrying app.kubernetes.io/instance (absent: not served or not readable). */
  pipelines?: KObject[]
  /** Namespaces asked for that do not exist. */
  missing: string[]
}

export interface AnnotateInput {
  meshNamespace: string
  /** One service by name (in the one namespace). */
  name?: string
  namespaces: string[]
}

/** What a Knative Service lacks of guide 1.4.4 ("metadata.annotations[…]", "spec.template…"); empty: nothing. */
export function meshAnnotationFindings(svc: KObject): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(SERVICE_ANNOTATIONS)) {
    if (svc.metadata.annotations?.[k] !== v) out.push(`metadata.annotations["${k}"] is not "${v}"`)
  }
  const tmpl = svc.spec?.template?.metadata?.annotations ?? {}
  for (const [k, v] of Object.entries(SIDECAR_ANNOTATIONS)) {
    if (tmpl[k] !== v) out.push(`spec.template.metadata.annotations["${k}"] is not "${v}"`)
  }
  return out
}

/** The service with the guide's three annotations; other annotations and fields kept. */
export function desiredAnnotated(live: KObject): KObject {
  const svc = structuredClone(live)
  setAnnotations(svc.metadata, SERVICE_ANNOTATIONS)
  setAnnotations(ensureObject(svc, ['spec', 'template', 'metadata']), SIDECAR_ANNOTATIONS)
  return svc
}

export function planAnnotateServices(state: AnnotateState, input: AnnotateInput): Plan {
  const notes: Note[] = []
  if (state.missing.length)
    notes.push(
      warning(`namespace${state.missing.length > 1 ? 's' : ''} ${state.missing.join(', ')} do${state.missing.length > 1 ? '' : 'es'} not exist: skipped`),
    )
  const items = state.services.map((live) => ({live, desired: desiredAnnotated(live)}))
  const changing = items.filter((i) => meshAnnotationFindings(i.live).length > 0).map((i) => i.live)
  if (changing.length) {
    notes.push(info(`${changing.length} Knative Service(s) will roll out a new revision (the revision template changes): ${names(changing)}`))
  }
  const piped = changing.flatMap((s) => {
    const p = pipelineOf(s, state.pipelines ?? [])
    return p ? [`${s.metadata.namespace}/${s.metadata.name} (Pipeline ${p.metadata.name})`] : []
  })
  if (piped.length) {
    notes.push(
      warning(`deployed by OpenShift Pipelines: ${piped.join(', ')}; add the annotations to the pipeline's deploy step too, or its next run drops them`),
    )
  }
  const members = state.members
  const outside = state.services.filter((s) => !members?.includes(s.metadata.namespace!))
  if (outside.length) {
    const nss = [...new Set(outside.map((s) => s.metadata.namespace!))]
    notes.push(
      warning(
        `${outside.length} service(s) in namespace(s) that are not mesh members of ${input.meshNamespace} (${nss.join(', ')}): ${names(outside)}; ` +
          `their sidecars are injected only once the namespace joins: knmesh add-namespace ${nss.join(' ')}`,
      ),
    )
  }
  const pendingNs = [...new Set(state.services.map((s) => s.metadata.namespace!))].filter((ns) => state.pending?.includes(ns))
  if (pendingNs.length) {
    const there = state.services.filter((s) => pendingNs.includes(s.metadata.namespace!))
    notes.push(
      warning(
        `${pendingText(pendingNs)}; ${names(there)} get${there.length > 1 ? '' : 's'} sidecars only once it has, and pods started before need a new revision or restart`,
      ),
    )
  }
  if (state.services.length === 0) notes.push(info(`no Knative Services in ${input.namespaces.length ? input.namespaces.join(', ') : 'the mesh members'}`))
  return {items, notes}
}

/** "ns/a, ns/b, … (N more)": the objects named in a note, at most `max`. */
export function names(svcs: KObject[], max = 10): string {
  const list = svcs.slice(0, max).map((s) => `${s.metadata.namespace}/${s.metadata.name}`)
  return list.join(', ') + (svcs.length > max ? `, … (${svcs.length - max} more)` : '')
}
