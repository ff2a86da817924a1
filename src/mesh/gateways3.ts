import {Kinds, type KindInfo} from '../kube/kinds.js'
import {addToList, ensureArray, ensureObject, newObject} from '../change/edit.js'
import {info, warning, type Note, type Plan, type PlanItem} from '../change/plan.js'
import {KnmeshError} from '../errors.js'
import type {JsonObject, KObject} from '../kube/types.js'
import {KNATIVE_GATEWAY_NAMESPACE_3, KNATIVE_GATEWAY_SERVICE_3} from './generation.js'
import {
  gateway,
  gatewayConflictNotes,
  desiredIngressGateway,
  LOCAL_GATEWAY,
  planGateways,
  PORT_TRANSLATION_LABEL,
  upsertServer,
  type GatewaysInput,
  type GatewaysState,
} from './gateways.js'
import {discoveryLabels, injectionLabel, REVISION_LABEL} from './members3.js'
import {INGRESS_GATEWAY_LABEL} from './smcp.js'

/**
 * create-gateways on Service Mesh 3 (docs/reference/service-mesh-3.md §1.1 row 6, N2, N6): the Service Mesh 3
 * operator deploys no gateway, so the Knative gateway is the user's, in `knative-serving-ingress` (docs 3-x module
 * `serverless-ossm-installing-and-configuring-openshift-service-mesh-3-x.adoc`; SO
 * `hack/lib/mesh_v3_resources/05_gateway_deploy.yaml`, `06_serving_gateways.yaml`):
 *  - Namespace knative-serving-ingress (created when missing; the discovery labels of the Istio's first
 *    discoverySelector when it has selectors that miss it, never injection labels: N5);
 *  - Deployment knative-istio-ingressgateway: gateway injection (pod annotation `inject.istio.io/templates: gateway`,
 *    pod labels `knative: ingressgateway`, `sidecar.istio.io/inject: "true"`, container `istio-proxy` image `auto`),
 *    plus pod label `istio.io/rev=<revision>` when the Istio's active revision is not `default` (the pod label
 *    inject=true only reaches the default revision's webhook: N5; DSAIL gateway-migration.md);
 *  - Role + RoleBinding istio-ingressgateway-sds (secrets get/watch/list for ServiceAccount default: the gateway
 *    reads its credentialName Secret, N2);
 *  - Service knative-istio-ingressgateway (ClusterIP, `http2` 80→8080, `https` 443→8443: the Serverless route
 *    controller targets those port names, N6/N18) and Service knative-local-gateway (port-translation label,
 *    `http2` 80→8081), both selecting `knative: ingressgateway`;
 *  - Gateways knative-ingress-gateway (443 HTTPS SIMPLE, credentialName) and knative-local-gateway (8081 plain
 *    HTTP) in knative-serving, of the newest served apiVersion (`state.gatewayKind`: networking.istio.io/v1 on
 *    Sail 1.27).
 *
 * Open question §4.1 (local gateway ports), decided: the docs' pair, Service `http2` 80→8081 and Gateway server
 * 8081/HTTP (name `http`), with the one selector `knative: ingressgateway` everywhere. Why: (1) it is Red Hat's
 * published 3.x procedure, and both SO e2e versions of `06_serving_gateways.yaml` readable in the search index
 * (6e07f01, 26c62fd) carry the same pair; the e2e pair the reference cites (80→8080 + Gateway 80, split selectors,
 * SO 02f6bc2c) could not be read here. (2) The cluster-local listener stays on its own port 8081: with the e2e pair, Istio's
 * gateway port translation maps the local Gateway's port 80 through knative-istio-ingressgateway (80→8080), so the
 * plain-HTTP local listener would sit on 8080, the very port edge Routes reach through `http2` from outside the
 * cluster (inferred from Istio's port translation; not run against Envoy here). (3) The Gateway keeps
 * the port number it has on Service Mesh 2 (8081): a 2.x knative-local-gateway is edited in place (HTTPS
 * ISTIO_MUTUAL → HTTP, its tls removed, with a note) instead of gaining a second server.
 *
 * Every field knmesh does not set is kept (user ports, labels, containers, rules, subjects, replicas…); a port of
 * a Service is matched by name, else by number (then renamed: the route controller needs the names).
 * Throws KnmeshError (exit 4): no Istio for the mesh namespace; a RevisionBased Istio with no active revision yet;
 * a RoleBinding istio-ingressgateway-sds bound to another role (roleRef cannot change); another Gateway binding
 * 443 "*" without --force (as on 2.x). A missing credential Secret in knative-serving-ingress is a warning (as on 2.x).
 */

export const GATEWAY_NAMESPACE = KNATIVE_GATEWAY_NAMESPACE_3
export const GATEWAY_DEPLOYMENT = 'knative-istio-ingressgateway'
export const GATEWAY_SERVICE = KNATIVE_GATEWAY_SERVICE_3
export const SDS_ROLE = 'istio-ingressgateway-sds'
export const SDS_VERBS = ['get', 'watch', 'list']
/** The cluster-local listener: Gateway server port and the local Service's targetPort (§4.1, decided above). */
export const LOCAL_GATEWAY_PORT_3 = 8081
export const GATEWAY_INJECTION_ANNOTATION = {'inject.istio.io/templates': 'gateway'} as const
export const GATEWAY_POD_LABELS = {...INGRESS_GATEWAY_LABEL, 'sidecar.istio.io/inject': 'true'} as const

export interface Gateways3State {
  meshNamespace: string
  /** The Istio serving the mesh namespace (its active revision decides istio.io/rev); null when none. */
  istio: KObject | null
  /** The Gateway apiVersion to write: Kinds.GatewayV1 when served, else Kinds.Gateway (v1alpha3). */
  gatewayKind: KindInfo
  /** Namespace knative-serving-ingress. */
  namespace: KObject | null
  deployment: KObject | null
  role: KObject | null
  roleBinding: KObject | null
  /** Service knative-istio-ingressgateway in knative-serving-ingress. */
  ingressService: KObject | null
  /** Service knative-local-gateway in knative-serving-ingress. */
  localService: KObject | null
  /** Gateways knative-ingress-gateway, knative-local-gateway in knative-serving. */
  ingress: KObject | null
  local: KObject | null
  /** Whether the credential Secret is in knative-serving-ingress (null: could not be read). */
  secretExists: boolean | null
  /** Every Gateway of the cluster, for the 443 "*" conflict. */
  allGateways: KObject[]
}

/** The revision the gateway pods must name: null for the default revision (pod label inject=true is enough). */
export function gatewayRevision(istio: KObject): string | null {
  const [key, value] = injectionLabel(istio)
  return key === REVISION_LABEL ? value : null
}

type Obj = JsonObject

const asStrings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

/** Namespace knative-serving-ingress: kept as it is, plus the discovery labels istiod needs to see it. */
export function desiredGatewayNamespace(live: KObject | null, istio: KObject, notes: Note[] = []): KObject {
  const ns = live ? structuredClone(live) : newObject(Kinds.Namespace, GATEWAY_NAMESPACE)
  const labels = ns.metadata.labels ?? {}
  const discovery = discoveryLabels(istio, labels)
  if (discovery === null)
    notes.push(
      warning(
        `no discoverySelector of Istio ${istio.metadata.name} selects ${GATEWAY_NAMESPACE}, and none is plain matchLabels: label it yourself, or istiod will not program the gateway`,
      ),
    )
  else if (Object.keys(discovery).length) ns.metadata.labels = {...labels, ...discovery}
  return ns
}

/** Deployment knative-istio-ingressgateway with gateway injection (docs; SO 05_gateway_deploy.yaml). */
export function desiredGatewayDeployment(live: KObject | null, revision: string | null, notes: Note[] = []): KObject {
  const d = live
    ? structuredClone(live)
    : newObject(Kinds.Deployment, GATEWAY_DEPLOYMENT, GATEWAY_NAMESPACE, {spec: {selector: {matchLabels: {...INGRESS_GATEWAY_LABEL}}}})
  // The selector is immutable: a live one is kept (the template only gains labels, so it still matches).
  const meta = ensureObject(d, ['spec', 'template', 'metadata'])
  meta.annotations = {...meta.annotations, ...GATEWAY_INJECTION_ANNOTATION}
  const labels: Record<string, string> = {...meta.labels, ...GATEWAY_POD_LABELS}
  if (revision) {
    if (labels[REVISION_LABEL] !== undefined && labels[REVISION_LABEL] !== revision)
      notes.push(
        info(
          `Deployment ${GATEWAY_NAMESPACE}/${GATEWAY_DEPLOYMENT}: pod label ${REVISION_LABEL} ${labels[REVISION_LABEL]} becomes ${revision}, the Istio's active revision`,
        ),
      )
    labels[REVISION_LABEL] = revision
  }
  meta.labels = labels
  const containers = ensureArray(d, ['spec', 'template', 'spec', 'containers'])
  const proxy = containers.find((c) => c?.name === 'istio-proxy')
  // A user's own image for istio-proxy is kept; "auto" is the placeholder the injector replaces.
  if (!proxy) containers.push({name: 'istio-proxy', image: 'auto'})
  else if (!proxy.image) proxy.image = 'auto'
  return d
}

/** Role istio-ingressgateway-sds: a rule for core secrets gets get/watch/list (other rules and verbs kept). */
export function desiredSdsRole(live: KObject | null): KObject {
  const role = live ? structuredClone(live) : newObject(Kinds.Role, SDS_ROLE, GATEWAY_NAMESPACE)
  const rules = ensureArray(role, ['rules'])
  const rule = rules.find((r) => asStrings(r?.apiGroups).includes('') && asStrings(r?.resources).includes('secrets') && !r?.resourceNames)
  if (!rule) rules.push({apiGroups: [''], resources: ['secrets'], verbs: [...SDS_VERBS]})
  else if (!asStrings(rule.verbs).includes('*')) rule.verbs = addToList(asStrings(rule.verbs), SDS_VERBS)
  return role
}

/**
 * RoleBinding istio-ingressgateway-sds: roleRef Role istio-ingressgateway-sds, subject ServiceAccount default
 * (added when missing; other subjects kept). Throws KnmeshError (exit 4) when a live one binds another role.
 */
export function desiredSdsRoleBinding(live: KObject | null): KObject {
  const ref = live?.roleRef
  if (live && (ref?.kind !== 'Role' || ref?.name !== SDS_ROLE)) {
    throw new KnmeshError(
      `RoleBinding ${GATEWAY_NAMESPACE}/${SDS_ROLE} binds ${ref?.kind ?? '?'} ${ref?.name ?? '?'}, not Role ${SDS_ROLE}, and its roleRef cannot change: delete it (kubectl delete rolebinding ${SDS_ROLE} -n ${GATEWAY_NAMESPACE}) and run create-gateways again; nothing was changed`,
    )
  }
  const binding = live
    ? structuredClone(live)
    : newObject(Kinds.RoleBinding, SDS_ROLE, GATEWAY_NAMESPACE, {roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: SDS_ROLE}})
  const subjects = ensureArray(binding, ['subjects'])
  const bound = subjects.some((s) => s?.kind === 'ServiceAccount' && s?.name === 'default' && (!s?.namespace || s.namespace === GATEWAY_NAMESPACE))
  if (!bound) subjects.push({kind: 'ServiceAccount', name: 'default'})
  return binding
}

/** The port named `name` (else the one numbered `port`, renamed) set to port → targetPort; other ports kept. */
function upsertServicePort(svc: KObject, name: string, port: number, targetPort: number): void {
  const ports = ensureArray(svc, ['spec', 'ports'])
  let entry: Obj | undefined = ports.find((p) => p?.name === name) ?? ports.find((p) => Number(p?.port) === port)
  if (!entry) {
    entry = {name}
    ports.push(entry)
  }
  entry.name = name
  entry.port = port
  entry.targetPort = targetPort
}

function gatewayService(live: KObject | null, name: string): KObject {
  const svc = live ? structuredClone(live) : newObject(Kinds.Service, name, GATEWAY_NAMESPACE)
  const spec = ensureObject(svc, ['spec'])
  spec.type = 'ClusterIP'
  // A selector is a match: the gateway pods' label replaces another selector (merging would AND the labels).
  spec.selector = {...INGRESS_GATEWAY_LABEL}
  return svc
}

/** Service knative-istio-ingressgateway: ClusterIP, http2 80→8080, https 443→8443. */
export function desiredGatewayService(live: KObject | null): KObject {
  const svc = gatewayService(live, GATEWAY_SERVICE)
  upsertServicePort(svc, 'http2', 80, 8080)
  upsertServicePort(svc, 'https', 443, 8443)
  return svc
}

/** Service knative-local-gateway in knative-serving-ingress: port-translation label, ClusterIP, http2 80→8081. */
export function desiredLocalGatewayService3(live: KObject | null): KObject {
  const svc = gatewayService(live, LOCAL_GATEWAY)
  svc.metadata.labels = {...svc.metadata.labels, ...PORT_TRANSLATION_LABEL}
  upsertServicePort(svc, 'http2', 80, LOCAL_GATEWAY_PORT_3)
  return svc
}

/** Gateway knative-local-gateway: server 8081 plain HTTP, hosts "*" (a 2.x HTTPS ISTIO_MUTUAL server becomes HTTP). */
export function desiredLocalGateway3(live: KObject | null, kind: KindInfo, notes: Note[] = []): KObject {
  const gw = gateway(live, LOCAL_GATEWAY, kind)
  const server = upsertServer(gw, LOCAL_GATEWAY_PORT_3)
  if (server.tls !== undefined) {
    notes.push(
      info(
        `Gateway knative-serving/${LOCAL_GATEWAY}: port ${LOCAL_GATEWAY_PORT_3} is plain HTTP on Service Mesh 3; its tls (${server.tls?.mode ?? 'set'}) is removed`,
      ),
    )
    delete server.tls
  }
  server.port = {...server.port, number: LOCAL_GATEWAY_PORT_3, name: 'http', protocol: 'HTTP'}
  server.hosts = ['*']
  return gw
}

/** create-gateways on Service Mesh 3: see the module comment above for the objects, the §4.1 decision and the errors. */
export function planGateways3(state: Gateways3State, input: GatewaysInput): Plan {
  const {istio} = state
  if (!istio)
    throw new KnmeshError(
      `there is no Istio (sailoperator.io/v1) with spec.namespace ${state.meshNamespace}: create it first (Service Mesh 3 docs); nothing was changed`,
    )
  const notes: Note[] = []
  const revision = gatewayRevision(istio)
  const items: PlanItem[] = [
    {live: state.namespace, desired: desiredGatewayNamespace(state.namespace, istio, notes)},
    {live: state.role, desired: desiredSdsRole(state.role)},
    {live: state.roleBinding, desired: desiredSdsRoleBinding(state.roleBinding)},
    {live: state.deployment, desired: desiredGatewayDeployment(state.deployment, revision, notes)},
    {live: state.ingressService, desired: desiredGatewayService(state.ingressService)},
    {live: state.localService, desired: desiredLocalGatewayService3(state.localService)},
    {live: state.ingress, desired: desiredIngressGateway(state.ingress, input.secret, state.gatewayKind)},
    {live: state.local, desired: desiredLocalGateway3(state.local, state.gatewayKind, notes)},
  ]
  // No member rolls on Service Mesh 3: every Gateway outside knative-serving on 443 "*" competes.
  notes.push(...gatewayConflictNotes(state.allGateways, [], input, items))
  if (state.secretExists === false) {
    notes.push(warning(`Secret ${GATEWAY_NAMESPACE}/${input.secret} does not exist: the ingress gateway cannot serve TLS until it does (knmesh certs)`))
  }
  return {items, notes}
}

/** create-gateways' state, per generation (src/read/install.ts readGatewaysFor). */
export type CreateGatewaysState = ({generation: 2} & GatewaysState) | ({generation: 3} & Gateways3State)

/** create-gateways' plan for the generation found: the 2.x gateways (src/mesh/gateways.ts) or {@link planGateways3}. */
export function planGatewaysFor(state: CreateGatewaysState, input: GatewaysInput): Plan {
  return state.generation === 3 ? planGateways3(state, input) : planGateways(state, input)
}
