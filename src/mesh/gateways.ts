import {Kinds, type KindInfo} from '../kube/kinds.js'
import {ensureArray, ensureObject, newObject} from '../change/edit.js'
import {actionOf, warning, type Note, type Plan} from '../change/plan.js'
import {KnmeshError} from '../errors.js'
import type {KObject, JsonObject} from '../kube/types.js'
import {KNATIVE_SERVING} from './constants.js'
import {gatewayConflicts} from './precheck.js'
import {INGRESS_GATEWAY_LABEL} from './smcp.js'

/** Guide 1.4.2 steps 4-5: the two Knative gateways and the local gateway Service. */

export const INGRESS_GATEWAY = 'knative-ingress-gateway'
export const LOCAL_GATEWAY = 'knative-local-gateway'
export const DEFAULT_CERT_SECRET = 'wildcard-certs'
export const PORT_TRANSLATION_LABEL = {'experimental.istio.io/disable-gateway-port-translation': 'true'} as const

export interface GatewaysState {
  ingress: KObject | null
  local: KObject | null
  /** Service knative-local-gateway in the mesh namespace. */
  service: KObject | null
  /** Whether the credential Secret is in the mesh namespace (null: could not be read). */
  secretExists: boolean | null
  /** Every Gateway and member roll in the cluster, for precheck's 443 conflict. */
  allGateways: KObject[]
  memberRolls: KObject[]
}

export interface GatewaysInput {
  meshNamespace: string
  /** credentialName of knative-ingress-gateway. */
  secret: string
  /** Go on despite a conflicting Gateway. */
  force?: boolean
}

type Obj = JsonObject

/** The server of a Gateway bound to `port`: existing entries are merged into, others are kept. */
export function upsertServer(gw: KObject, port: number): Obj {
  const servers = ensureArray(gw, ['spec', 'servers'])
  let server = servers.find((s) => Number(s?.port?.number) === port)
  if (!server) {
    server = {}
    servers.push(server)
  }
  return server
}

/** A Gateway of knative-serving edited from `live` (or new, of `kind`: v1alpha3 on 2.x, v1 on Service Mesh 3), with the guide's selector. */
export function gateway(live: KObject | null, name: string, kind: KindInfo = Kinds.Gateway): KObject {
  const gw = live ? structuredClone(live) : newObject(kind, name, KNATIVE_SERVING)
  // The selector is a match: the guide's selector replaces another one (merging would AND the labels).
  ensureObject(gw, ['spec']).selector = {...INGRESS_GATEWAY_LABEL}
  return gw
}

export function desiredIngressGateway(live: KObject | null, secret: string, kind: KindInfo = Kinds.Gateway): KObject {
  const gw = gateway(live, INGRESS_GATEWAY, kind)
  const server = upsertServer(gw, 443)
  server.port = {...server.port, number: 443, name: 'https', protocol: 'HTTPS'}
  server.hosts = ['*']
  server.tls = {...server.tls, mode: 'SIMPLE', credentialName: secret}
  return gw
}

export function desiredLocalGateway(live: KObject | null): KObject {
  const gw = gateway(live, LOCAL_GATEWAY)
  const server = upsertServer(gw, 8081)
  server.port = {...server.port, number: 8081, name: 'https', protocol: 'HTTPS'}
  const {credentialName: _c, ...tls} = server.tls ?? {}
  server.tls = {...tls, mode: 'ISTIO_MUTUAL'}
  server.hosts = ['*']
  return gw
}

export function desiredLocalGatewayService(live: KObject | null, meshNamespace: string): KObject {
  const svc = live ? structuredClone(live) : newObject(Kinds.Service, LOCAL_GATEWAY, meshNamespace)
  svc.metadata.labels = {...svc.metadata.labels, ...PORT_TRANSLATION_LABEL}
  const spec = ensureObject(svc, ['spec'])
  spec.type = 'ClusterIP'
  spec.selector = {istio: 'ingressgateway'}
  const ports = ensureArray(svc, ['spec', 'ports'])
  let port = ports.find((p) => p?.name === 'http2')
  if (!port) {
    port = {name: 'http2'}
    ports.push(port)
  }
  port.port = 80
  port.targetPort = 8081
  return svc
}

/**
 * Another Gateway (outside knative-serving, not of another mesh's member roll) binding port 443 with host "*":
 * throws KnmeshError (exit 4) when `items` would write anything and --force is not given; else one warning.
 */
export function gatewayConflictNotes(allGateways: KObject[], memberRolls: KObject[], input: GatewaysInput, items: Plan['items']): Note[] {
  const conflicts = gatewayConflicts(allGateways, memberRolls, input.meshNamespace).filter((c) => !c.otherMesh)
  if (!conflicts.length) return []
  const names = conflicts.map((c) => `${c.namespace}/${c.name}`).join(', ')
  // Refuse to write while another Gateway claims 443 "*"; with nothing to write, only say so.
  const writes = items.some((i) => actionOf(i) !== 'unchanged')
  if (writes && !input.force) throw new KnmeshError(`Gateway ${names} already binds port 443 with host "*" (see knmesh precheck); remove it, or pass --force`)
  return [warning(`Gateway ${names} also binds port 443 with host "*"${writes ? ': going on because of --force' : ' (see knmesh precheck)'}`)]
}

export function planGateways(state: GatewaysState, input: GatewaysInput): Plan {
  const notes: Note[] = []
  const items: Plan['items'] = [
    {live: state.ingress, desired: desiredIngressGateway(state.ingress, input.secret)},
    {live: state.local, desired: desiredLocalGateway(state.local)},
    {live: state.service, desired: desiredLocalGatewayService(state.service, input.meshNamespace)},
  ]
  notes.push(...gatewayConflictNotes(state.allGateways, state.memberRolls, input, items))
  if (state.secretExists === false) {
    notes.push(warning(`Secret ${input.meshNamespace}/${input.secret} does not exist: the ingress gateway cannot serve TLS until it does (knmesh certs)`))
  }
  return {items, notes}
}
