import {Kinds} from '../kube/kinds.js'
import {ensureArray, ensureObject, getPath, newObject} from '../change/edit.js'
import {info, type Note, type Plan} from '../change/plan.js'
import {parseGoDuration} from './duration.js'
import {KnmeshError} from '../errors.js'
import type {KObject} from '../kube/types.js'

/** Guide 1.4.2 step 1 and 1.5 step 3: what the ServiceMeshControlPlane must carry. */

export const SMCP_DEFAULT_NAME = 'basic'
/** 8444: metrics; 8022: serving's wait-for-drain pre-stop hook. */
export const EXCLUDED_INBOUND_PORTS = [8444, 8022]
/**
 * Guide 1.4.2 step 1: "Serverless has a graceful termination for Knative Services of 30 seconds. istio-proxy needs
 * to have a longer termination duration": its 35s is a minimum, not an exact value (a longer drain, e.g. 600s for
 * long requests, knative/serving#11793, is kept).
 */
export const TERMINATION_DRAIN_DURATION = '35s'
export const MIN_TERMINATION_DRAIN_MS = 35_000
const DRAIN_PATH = ['spec', 'techPreview', 'meshConfig', 'defaultConfig', 'terminationDrainDuration']
export const INGRESS_GATEWAY_LABEL = {knative: 'ingressgateway'} as const

const EXCLUDED_PATH = ['spec', 'proxy', 'networking', 'trafficControl', 'inbound', 'excludedPorts']

export interface MeshState {
  /** The SMCPs in the mesh namespace. */
  smcps: KObject[]
}

export interface MeshInput {
  meshNamespace: string
  /** --name: which SMCP (needed when there are several). */
  name?: string
  /** --create: create the guide's SMCP when there is none. */
  create?: boolean
}

/**
 * Why an SMCP's terminationDrainDuration falls short of the guide's minimum (35s), or null when it is at least
 * that long. Absent, not a Go duration (e.g. "35", "1d"), or shorter: each is a shortfall.
 */
export function drainShortfall(smcp: KObject, path: string[] = DRAIN_PATH): string | null {
  const value = getPath(smcp, path)
  if (value === undefined || value === null) return `terminationDrainDuration is not set (at least ${TERMINATION_DRAIN_DURATION} needed)`
  const ms = typeof value === 'string' ? parseGoDuration(value) : null
  if (ms === null) return `terminationDrainDuration ${JSON.stringify(value)} is not a duration (at least ${TERMINATION_DRAIN_DURATION} needed)`
  if (ms < MIN_TERMINATION_DRAIN_MS) return `terminationDrainDuration ${value} is shorter than ${TERMINATION_DRAIN_DURATION}`
  return null
}

/**
 * The SMCP with the guide's settings merged in; every other field, port and label is kept. The drain is raised
 * to 35s only when it is shorter (or unset, or not a duration); a longer one is kept (a note says so when `notes`
 * is given).
 */
export function desiredSmcp(live: KObject | null, meshNamespace: string, name = SMCP_DEFAULT_NAME, notes?: Note[]): KObject {
  const smcp = live ? structuredClone(live) : newObject(Kinds.ServiceMeshControlPlane, name, meshNamespace, {spec: {profiles: ['default']}})
  ensureObject(smcp, ['spec', 'security', 'dataPlane']).mtls = true
  const short = drainShortfall(smcp)
  if (short) ensureObject(smcp, DRAIN_PATH.slice(0, -1)).terminationDrainDuration = TERMINATION_DRAIN_DURATION
  else if (live && getPath(live, DRAIN_PATH) !== TERMINATION_DRAIN_DURATION)
    notes?.push(info(`terminationDrainDuration ${getPath(live, DRAIN_PATH)} is kept: the guide needs at least ${TERMINATION_DRAIN_DURATION}`))
  Object.assign(ensureObject(smcp, ['spec', 'gateways', 'ingress', 'service', 'metadata', 'labels']), INGRESS_GATEWAY_LABEL)
  ensureExcludedPorts(smcp, EXCLUDED_INBOUND_PORTS)
  return smcp
}

/**
 * Adds the inbound excludedPorts an SMCP lacks (edits `smcp` in place; ports
 * already there, as numbers or strings, and every other port are kept).
 * configure-mesh adds 8444 and 8022; enable-metrics (guide 1.5) only 8444.
 */
export function ensureExcludedPorts(smcp: KObject, wanted: number[]): KObject {
  const ports = ensureArray(smcp, EXCLUDED_PATH) as unknown as (number | string)[]
  for (const p of wanted) if (!ports.some((x) => Number(x) === p)) ports.push(p)
  return smcp
}

/** The ports of `wanted` an SMCP does not exclude yet. */
export function missingExcludedPorts(smcp: KObject, wanted: number[]): number[] {
  const ports = getPath(smcp, EXCLUDED_PATH)
  return wanted.filter((p) => !(Array.isArray(ports) && ports.some((x) => Number(x) === p)))
}

/** What an SMCP lacks of the guide's settings (empty: nothing). */
export function smcpFindings(smcp: KObject): string[] {
  const out: string[] = []
  if (getPath(smcp, ['spec', 'security', 'dataPlane', 'mtls']) !== true) out.push('security.dataPlane.mtls is not true')
  const short = drainShortfall(smcp)
  if (short) out.push(short)
  if (getPath(smcp, ['spec', 'gateways', 'ingress', 'service', 'metadata', 'labels', 'knative']) !== INGRESS_GATEWAY_LABEL.knative) {
    out.push('the ingress gateway service lacks the label knative: ingressgateway')
  }
  const missing = missingExcludedPorts(smcp, EXCLUDED_INBOUND_PORTS)
  if (missing.length) out.push(`inbound excludedPorts lack ${missing.join(', ')}`)
  return out
}

/** Which SMCP to edit: --name, the only one, or (with create) a new one. Throws a one-line error otherwise. */
export function selectSmcp(state: MeshState, input: MeshInput): {live: KObject | null; name: string} {
  const {smcps} = state
  const ns = input.meshNamespace
  if (input.name) {
    const live = smcps.find((s) => s.metadata.name === input.name) ?? null
    if (!live && !input.create) {
      const others = smcps.length ? ` (there is ${smcps.map((s) => s.metadata.name).join(', ')})` : ''
      throw new KnmeshError(`there is no ServiceMeshControlPlane ${input.name} in ${ns}${others}; pass --create to create it`)
    }
    return {live, name: input.name}
  }
  if (smcps.length === 1) return {live: smcps[0], name: smcps[0].metadata.name}
  if (smcps.length === 0) {
    if (input.create) return {live: null, name: SMCP_DEFAULT_NAME}
    throw new KnmeshError(`there is no ServiceMeshControlPlane in ${ns}; pass --create to create "${SMCP_DEFAULT_NAME}" as the guide does, or --mesh-namespace`)
  }
  throw new KnmeshError(`there are ${smcps.length} ServiceMeshControlPlanes in ${ns} (${smcps.map((s) => s.metadata.name).join(', ')}); choose one with --name`)
}

/**
 * configure-mesh on Service Mesh 2: the ServiceMeshControlPlane with the guide's settings (mTLS on, a
 * terminationDrainDuration of at least 35s, the knative-local-gateway label, inbound ports 8444 and 8022 excluded;
 * every other field, port and label kept; a longer drain kept). State: MeshState (the SMCPs of the mesh namespace).
 * Returns one item (created from the default profile with --create when there is none) and notes. Throws KnmeshError
 * (exit 4) when --name names no SMCP (without --create), when there is none (without --create), or when there are
 * several and no --name. Upstream: the guide's 1.4.2 step 1 and 1.5 step 3 (Integrations, "Installing and configuring
 * Service Mesh", "Enabling Knative Serving metrics when using Service Mesh with mTLS").
 */
export function planConfigureMesh(state: MeshState, input: MeshInput): Plan {
  const {live, name} = selectSmcp(state, input)
  const notes = live ? [] : [info(`ServiceMeshControlPlane ${input.meshNamespace}/${name} does not exist: it will be created with the default profile`)]
  const desired = desiredSmcp(live, input.meshNamespace, name, notes)
  return {items: [{live, desired}], notes}
}

/** Whether the mesh's control plane enforces mTLS (SMCP spec.security.dataPlane.mtls). */
export function meshMtlsOf(smcps: KObject[]): boolean {
  return smcps.some((s) => s.spec?.security?.dataPlane?.mtls === true)
}
