import {Kinds} from '../kube/kinds.js'
import {ensureObject, getPath, newObject} from '../change/edit.js'
import {info, type Note, type Plan, type PlanItem} from '../change/plan.js'
import {KnmeshError} from '../errors.js'
import type {KObject} from '../kube/types.js'
import {MANAGED_BY} from './constants.js'
import {drainShortfall, EXCLUDED_INBOUND_PORTS, TERMINATION_DRAIN_DURATION} from './smcp.js'

/**
 * configure-mesh on Service Mesh 3 (docs/reference/service-mesh-3.md §1.1 row 4, §1.2): the cluster-scoped
 * `sailoperator.io/v1` Istio carries the drain and the excluded inbound ports; mTLS, which has no switch in the
 * Istio, is a mesh-wide PeerAuthentication STRICT in the control-plane namespace (`security.istio.io/v1`).
 */

export const ISTIO_DRAIN_PATH = ['spec', 'values', 'meshConfig', 'defaultConfig', 'terminationDrainDuration']
/** A comma-separated string in the Istio CRD (the SMCP field it replaces was an int array). */
export const ISTIO_EXCLUDE_INBOUND_PATH = ['spec', 'values', 'global', 'proxy', 'excludeInboundPorts']
/** The name the Serverless e2e gives the mesh-wide policy (SO hack/lib/mesh_v3_resources/07_peer_authentication.yaml). */
export const MESH_MTLS_POLICY = 'mesh-mtls'

export interface Mesh3State {
  meshNamespace: string
  /** The Istio whose spec.namespace is the mesh namespace (src/mesh/generation.ts), null when none. */
  istio: KObject | null
  /** The PeerAuthentications of the mesh namespace (security.istio.io/v1). */
  peerAuthentications: KObject[]
}

/** The ports of an excludeInboundPorts string ("8022, 8444" → ["8022", "8444"]); empty entries dropped. */
export function parsePortList(value: unknown): string[] {
  if (typeof value !== 'string') return []
  return value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
}

/** The ports of `wanted` an Istio does not exclude yet. */
export function missingIstioExcludedPorts(istio: KObject, wanted: number[] = EXCLUDED_INBOUND_PORTS): number[] {
  const have = parsePortList(getPath(istio, ISTIO_EXCLUDE_INBOUND_PATH))
  return wanted.filter((p) => !have.some((x) => Number(x) === p))
}

/**
 * The mesh-wide PeerAuthentications of the mesh namespace (no selector, or an empty one): Istio applies the
 * oldest when there are several. Sorted oldest first (creationTimestamp, then name).
 */
export function meshWidePeerAuthentications(pas: KObject[]): KObject[] {
  const wide = pas.filter((p) => {
    const labels = p.spec?.selector?.matchLabels
    return !labels || Object.keys(labels).length === 0
  })
  return wide.sort(
    (a, b) =>
      String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? '')) || a.metadata.name.localeCompare(b.metadata.name),
  )
}

/** What a Service Mesh 3 control plane lacks of the guide's settings (empty: nothing). */
export function istioFindings(state: Mesh3State): string[] {
  if (!state.istio) return [`there is no Istio with spec.namespace ${state.meshNamespace}`]
  const out: string[] = []
  const short = drainShortfall(state.istio, ISTIO_DRAIN_PATH)
  if (short) out.push(short)
  const missing = missingIstioExcludedPorts(state.istio)
  if (missing.length) out.push(`spec.values.global.proxy.excludeInboundPorts lacks ${missing.join(', ')}`)
  const wide = meshWidePeerAuthentications(state.peerAuthentications)[0]
  if (!wide) out.push(`no mesh-wide PeerAuthentication in ${state.meshNamespace} (mTLS is not STRICT)`)
  else if (wide.spec?.mtls?.mode !== 'STRICT')
    out.push(`PeerAuthentication ${state.meshNamespace}/${wide.metadata.name} has mtls.mode ${wide.spec?.mtls?.mode ?? 'unset'}, not STRICT`)
  return out
}

/**
 * The Istio with the guide's settings merged in: terminationDrainDuration raised to 35s when shorter, unset or
 * not a duration (a longer one is kept, with a note); excludeInboundPorts keeps the user's ports, in their
 * order, and appends 8444 and 8022 when missing. Every other field is kept.
 */
export function desiredIstio(live: KObject, notes?: Note[]): KObject {
  const istio = structuredClone(live)
  if (drainShortfall(istio, ISTIO_DRAIN_PATH)) ensureObject(istio, ISTIO_DRAIN_PATH.slice(0, -1)).terminationDrainDuration = TERMINATION_DRAIN_DURATION
  else if (getPath(live, ISTIO_DRAIN_PATH) !== TERMINATION_DRAIN_DURATION)
    notes?.push(info(`terminationDrainDuration ${getPath(live, ISTIO_DRAIN_PATH)} is kept: the guide needs at least ${TERMINATION_DRAIN_DURATION}`))
  return desiredIstioPorts(istio)
}

/** A copy of the Istio whose excludeInboundPorts string also lists `wanted` (user ports kept first, in their order). */
export function desiredIstioPorts(live: KObject, wanted: number[] = EXCLUDED_INBOUND_PORTS): KObject {
  const istio = structuredClone(live)
  const missing = missingIstioExcludedPorts(istio, wanted)
  if (missing.length) {
    const have = parsePortList(getPath(istio, ISTIO_EXCLUDE_INBOUND_PATH))
    ensureObject(istio, ISTIO_EXCLUDE_INBOUND_PATH.slice(0, -1)).excludeInboundPorts = [...have, ...missing.map(String)].join(',')
  }
  return istio
}

/**
 * The mesh-wide mTLS policy: the oldest mesh-wide PeerAuthentication of the mesh namespace with mtls.mode STRICT
 * merged in (other fields, port-level settings included, kept), or a new `mesh-mtls` when there is none.
 */
export function desiredMeshMtls(state: Mesh3State): PlanItem {
  const live = meshWidePeerAuthentications(state.peerAuthentications)[0] ?? null
  if (live) {
    const desired = structuredClone(live)
    ensureObject(desired, ['spec', 'mtls']).mode = 'STRICT'
    return {live, desired}
  }
  const desired = newObject(Kinds.PeerAuthenticationV1, MESH_MTLS_POLICY, state.meshNamespace, {spec: {mtls: {mode: 'STRICT'}}})
  desired.metadata.labels = {...MANAGED_BY}
  return {live: null, desired}
}

/**
 * configure-mesh on Service Mesh 3: the Istio and the mesh-wide PeerAuthentication. Throws KnmeshError (exit 4)
 * when no Istio serves the mesh namespace (knmesh does not create the control plane of Service Mesh 3).
 */
export function planConfigureMesh3(state: Mesh3State): Plan {
  if (!state.istio) {
    throw new KnmeshError(
      `there is no Istio (sailoperator.io/v1) with spec.namespace ${state.meshNamespace}: create the IstioCNI "default" and an Istio for ${state.meshNamespace} as the Service Mesh 3 docs show, or pass --mesh-namespace`,
    )
  }
  const notes: Note[] = []
  const istio = desiredIstio(state.istio, notes)
  return {items: [{live: state.istio, desired: istio}, desiredMeshMtls(state)], notes}
}
