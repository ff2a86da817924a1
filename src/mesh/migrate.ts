import {ensureObject, getPath, newObject} from '../change/edit.js'
import {actionOf, info, warning, type Note, type Plan, type PlanItem} from '../change/plan.js'
import {KnmeshError, UsageError} from '../errors.js'
import {Kinds, type KindInfo} from '../kube/kinds.js'
import {stripServerFields} from '../kube/objects.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_EVENTING, KNATIVE_SERVING, MANAGED_BY} from './constants.js'
import {KNATIVE_GATEWAY_NAMESPACE_3, KNATIVE_GATEWAY_SERVICE_3, meshIstios} from './generation.js'
import {DEFAULT_CERT_SECRET, INGRESS_GATEWAY, LOCAL_GATEWAY} from './gateways.js'
import {DISABLE_NET_POLICIES_ANNOTATION} from './metrics.js'
import {discoveryLabels, discoverySelectors, planMembers3, withLabels, type Members3State} from './members3.js'
import {desiredIstio, desiredMeshMtls, ISTIO_DRAIN_PATH, ISTIO_EXCLUDE_INBOUND_PATH, type Mesh3State} from './sail.js'
import {drainShortfall} from './smcp.js'

/**
 * migrate-mesh --to 3: the Service Mesh 2.x → 3 migration of a Serverless install as an ordered list of steps
 * (docs/reference/service-mesh-3.md §3, composed with the Serverless objects of §1.1; the order is the
 * reference's, "inferred" where it says so). Each step is a Plan for the change engine, computed from the cluster
 * as it is (--apply re-reads before each step), or, for the read-only plan, from the cluster as the earlier
 * steps would leave it (their desired objects laid over the state read: see planMigration).
 *
 * Steps 5, 7 and 9 need the Service Mesh 3 planners of create-gateways, enable-istio, annotate-services and
 * tenant-authz: they come in through Mesh3Planners (src/mesh/migrate-planners.ts).
 */

/** The namespace of the Knative gateway on Service Mesh 3 (its pods, Services, TLS Secret and Routes). */
export const INGRESS_NAMESPACE_3 = KNATIVE_GATEWAY_NAMESPACE_3
/** The gateway Service of Service Mesh 3 that the route controller targets (SO hack/migrate-mesh-routes.sh SM3_SERVICE). */
export const INGRESS_SERVICE_3 = KNATIVE_GATEWAY_SERVICE_3
/** The label the Serverless route controller puts on the Routes it makes (SO hack/migrate-mesh-routes.sh). */
export const ROUTE_INGRESS_LABEL = 'serving.knative.openshift.io/ingressName'
/** Stops the 2.6 injector in a namespace that 3.x injects (DSAIL multi-tenancy/README.md). */
export const IGNORE_NAMESPACE_LABEL = 'maistra.io/ignore-namespace'
/** The discoverySelectors label of a MultiTenant SMCP's replacement (value: the mesh namespace); any label would do (DSAIL). */
export const DISCOVERY_LABEL = 'istio-discovery'
/** The label Maistra puts on the objects it owns (e.g. the PeerAuthentication "default" of dataPlane.mtls). */
export const MAISTRA_OWNER_LABEL = 'maistra.io/owner'
export const ISTIO_CNI_NAMESPACE = 'istio-cni'
export const DEFAULT_TLS_SECRET = DEFAULT_CERT_SECRET
/** The oldest Service Mesh 2 control plane the migration accepts without a warning (MIG: the latest 2.6). */
export const MIN_SMCP_VERSION = 'v2.6'
/** The number of steps (§3 has eleven). */
export const STEP_COUNT = 11

/**
 * What the migration reads (src/read/migrate.ts), as one index of objects so that a step can be planned on the
 * cluster as the earlier steps leave it. Lists: SMCPs, SMMRs and Services of the mesh namespace; SMMs, Istios,
 * IstioCNIs, Namespaces, Gateways, ServiceEntries, AuthorizationPolicies and Knative Services of the cluster;
 * Services and Routes (labelled ROUTE_INGRESS_LABEL) of the mesh namespace and knative-serving-ingress;
 * PeerAuthentications (v1) of the mesh namespace; KnativeServing, KnativeEventing, KnativeKafka; the TLS Secret
 * in both namespaces.
 */
export interface MigrationState {
  meshNamespace: string
  /** maistra.io ServiceMeshControlPlane is served. */
  maistraServed: boolean
  /** sailoperator.io/v1 istios is served (the Service Mesh 3 operator is installed). */
  sailServed: boolean
  /** spec.version enum of the served istios.sailoperator.io CRD; null when unreadable. */
  istioVersions: string[] | null
  /** Every object read, by objectKey (group/kind/namespace/name; the version is not part of it). */
  objects: Map<string, KObject>
  /** Keys of objects an earlier step of the read-only plan writes (they are not in the cluster yet). */
  projected?: Set<string>
}

/** group/kind/namespace/name of an object ("" group for the core group). */
export function objectKey(group: string, kind: string, namespace: string | undefined, name: string): string {
  return `${group}/${kind}/${namespace ?? ''}/${name}`
}

export function keyOf(obj: KObject): string {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : ''
  return objectKey(group, obj.kind, obj.metadata.namespace, obj.metadata.name)
}

/** An index of objects (the reader builds the state with it). */
export function indexObjects(objects: Iterable<KObject>): Map<string, KObject> {
  const out = new Map<string, KObject>()
  for (const o of objects) out.set(keyOf(o), o)
  return out
}

export function getObject(state: MigrationState, kind: KindInfo, name: string, namespace?: string): KObject | null {
  return state.objects.get(objectKey(kind.group, kind.kind, kind.namespaced ? namespace : undefined, name)) ?? null
}

/** The objects of a kind (in `namespace` when given), sorted by namespace and name. */
export function listObjects(state: MigrationState, kind: KindInfo, namespace?: string): KObject[] {
  const prefix = `${kind.group}/${kind.kind}/${namespace === undefined ? '' : namespace + '/'}`
  const out = [...state.objects].filter(([k]) => k.startsWith(prefix)).map(([, o]) => o)
  return out.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name))
}

/** The state with a plan's desired objects laid over it (deletes removed): what the next step of a read-only plan sees. */
export function project(state: MigrationState, plan: Plan): MigrationState {
  const objects = new Map(state.objects)
  const projected = new Set(state.projected)
  for (const item of plan.items) {
    if (actionOf(item) === 'unchanged') continue
    if (item.desired) {
      objects.set(keyOf(item.desired), item.desired)
      projected.add(keyOf(item.desired))
    } else if (item.live) {
      objects.delete(keyOf(item.live))
    }
  }
  return {...state, objects, projected}
}

function isProjected(state: MigrationState, obj: KObject): boolean {
  return state.projected?.has(keyOf(obj)) ?? false
}

/**
 * The Service Mesh 3 planners of other verbs a step needs (wired by the command): each gets the state and returns
 * the Plan of its objects (src/mesh/migrate-planners.ts mesh3Planners).
 */
export interface Mesh3Planners {
  /** Step 5: the gateway objects in knative-serving-ingress and the two Gateways (create-gateways on Service Mesh 3). */
  gateways(state: MigrationState): Plan
  /** Step 7: KnativeServing/KnativeEventing/KnativeKafka on Service Mesh 3 (enable-istio): labels, config.istio re-pointed. */
  istio(state: MigrationState): Plan
  /** Step 7: Knative Service templates: the inject annotation becomes a label (annotate-services on Service Mesh 3). */
  services(state: MigrationState): Plan
  /** Step 9: the policies admit knative-serving-ingress (tenant-authz on Service Mesh 3). */
  policies(state: MigrationState): Plan
}

export interface MigrationInput {
  planners: Mesh3Planners
  /** --istio-version: checked against the served CRD's enum. */
  istioVersion?: string
}

/**
 * A step cannot run on this cluster yet: `reason` says why. `wait`: something outside knmesh must happen first
 * (the Istio becoming Ready, the Service Mesh 2 operator removing a Service); else something must be fixed.
 * An exit-4 KnmeshError (the cluster is not in the state the step needs).
 */
export class StepBlockedError extends KnmeshError {
  constructor(
    readonly reason: string,
    readonly wait = false,
  ) {
    super(reason)
  }
}

/** One step of the plan, as shown and applied. */
export interface MigrationStep {
  n: number
  title: string
  /** One line per object the step writes ("update Namespace team-a (labels …)"); empty: nothing to do. */
  changes: string[]
  plan: Plan
  /** Why the step cannot run yet (the read-only plan shows it; --apply stops there). */
  blocked?: {reason: string; wait: boolean}
}

interface StepDef {
  n: number
  title: string
  plan(state: MigrationState, input: MigrationInput): Plan
  /** After the step is applied (--apply, on a fresh read): what must still happen before the next step, or null. */
  pending?(state: MigrationState): string | null
}

// ---------------------------------------------------------------------------------------------------------------
// facts

/** The SMCP of the mesh namespace (several: the step that needs one is blocked). */
function smcpOf(state: MigrationState): KObject | null {
  const smcps = listObjects(state, Kinds.ServiceMeshControlPlane, state.meshNamespace)
  if (smcps.length > 1)
    throw new StepBlockedError(
      `there are ${smcps.length} ServiceMeshControlPlanes in ${state.meshNamespace} (${smcps.map((s) => s.metadata.name).join(', ')}): migrate-mesh migrates one; delete the unused ones first`,
    )
  return smcps[0] ?? null
}

/** The Istio for the mesh namespace (src/mesh/generation.ts rules). */
export function istioOf(state: MigrationState): KObject | null {
  const candidates = meshIstios(listObjects(state, Kinds.Istio), state.meshNamespace)
  return candidates.find((i) => i.metadata.name === 'default') ?? candidates[0] ?? null
}

function conditionTrue(obj: KObject | null, type: string): boolean {
  const conds = obj?.status?.conditions
  return Array.isArray(conds) && conds.some((c: {type?: string; status?: string}) => c.type === type && c.status === 'True')
}

/**
 * Steps 5 to 11 need the Istio and the IstioCNI Ready (the Sail operator reports it): blocked (wait) when not.
 * An Istio the read-only plan creates in step 4 counts as Ready-to-be (a note says the step waits for it).
 */
function requireIstioReady(state: MigrationState, notes: Note[]): KObject {
  const istio = istioOf(state)
  if (!istio) throw new StepBlockedError(`there is no Istio with spec.namespace ${state.meshNamespace}: step 4 creates it`)
  if (isProjected(state, istio)) {
    notes.push(info(`runs once Istio ${istio.metadata.name} and IstioCNI default are Ready (created in step 4)`))
    return istio
  }
  const cni = getObject(state, Kinds.IstioCNI, 'default')
  const notReady = [
    !conditionTrue(istio, 'Ready') && `Istio ${istio.metadata.name}`,
    !(cni && (isProjected(state, cni) || conditionTrue(cni, 'Ready'))) && 'IstioCNI default',
  ].filter(Boolean)
  if (notReady.length) {
    throw new StepBlockedError(
      `${notReady.join(' and ')} ${notReady.length > 1 ? 'are' : 'is'} not Ready yet (the Service Mesh 3 operator installs ${notReady.length > 1 ? 'them' : 'it'}: oc get istio,istiocni)`,
      true,
    )
  }
  return istio
}

/** "v2.5" → [2, 5]; null when not a version. */
function majorMinor(v: unknown): [number, number] | null {
  const m = typeof v === 'string' ? /^v?(\d+)\.(\d+)/.exec(v) : null
  return m ? [Number(m[1]), Number(m[2])] : null
}

/**
 * The spec.version of the new Istio: --istio-version when the served enum has it (UsageError, exit 2, when not),
 * else the newest "vX.Y-latest" of the enum, else its newest version. Null when the enum is unreadable and no
 * flag was given.
 */
export function chooseIstioVersion(versions: string[] | null, flag?: string): string | null {
  if (flag !== undefined) {
    if (versions && !versions.includes(flag))
      throw new UsageError(`--istio-version ${flag} is not one this Service Mesh 3 operator installs (its Istio CRD allows ${versions.join(', ')})`)
    return flag
  }
  if (!versions?.length) return null
  const rank = (v: string) => majorMinor(v) ?? [0, 0]
  const newest = (list: string[]) =>
    [...list].sort((a, b) => {
      const [x, y] = [rank(a), rank(b)]
      return y[0] - x[0] || y[1] - x[1] || b.localeCompare(a, undefined, {numeric: true})
    })[0]
  const latest = versions.filter((v) => /^v\d+\.\d+-latest$/.test(v))
  return newest(latest.length ? latest : versions)
}

/** The KnativeServing's config.istio gateway keys name Services outside the mesh namespace (step 7 done); null: yes. */
function servingStillOnMesh2(state: MigrationState): string | null {
  const ks = getObject(state, Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING)
  if (!ks) return null
  const cfg = (getPath(ks, ['spec', 'config', 'istio']) ?? {}) as Record<string, unknown>
  const keys = [`gateway.${KNATIVE_SERVING}.${INGRESS_GATEWAY}`, `local-gateway.${KNATIVE_SERVING}.${LOCAL_GATEWAY}`]
  const old = keys.filter(
    (k) =>
      typeof cfg[k] !== 'string' || (cfg[k] as string).includes(`.${state.meshNamespace}.svc`) || !(cfg[k] as string).includes(`.${INGRESS_NAMESPACE_3}.svc`),
  )
  if (!old.length) return null
  return `KnativeServing ${KNATIVE_SERVING} spec.config.istio still sends ${old.join(' and ')} to ${state.meshNamespace} (or the operator's default there): step 7 (enable-istio on Service Mesh 3) re-points it to ${INGRESS_NAMESPACE_3}`
}

/** The namespaces of the member roll (spec.members, status.configuredMembers) and of the SMMs that name the mesh namespace. */
export function formerMembers(state: MigrationState): string[] {
  const out = new Set<string>()
  for (const smmr of listObjects(state, Kinds.ServiceMeshMemberRoll, state.meshNamespace)) {
    for (const m of [...(smmr.spec?.members ?? []), ...(smmr.status?.configuredMembers ?? [])]) if (typeof m === 'string') out.add(m)
  }
  for (const smm of listObjects(state, Kinds.ServiceMeshMember)) {
    if ((smm.spec?.controlPlaneRef?.namespace ?? state.meshNamespace) === state.meshNamespace && smm.metadata.namespace) out.add(smm.metadata.namespace)
  }
  out.delete(state.meshNamespace)
  return [...out].sort()
}

/** The TLS Secret the ingress Gateway serves (its first credentialName), else wildcard-certs. */
export function credentialName(state: MigrationState): string {
  const gw = getObject(state, Kinds.Gateway, INGRESS_GATEWAY, KNATIVE_SERVING)
  for (const s of (gw?.spec?.servers ?? []) as {tls?: {credentialName?: string}}[]) if (s.tls?.credentialName) return s.tls.credentialName
  return DEFAULT_TLS_SECRET
}

/** Routes of the mesh namespace made by the route controller, split by whether their target Service is gone. */
function meshRoutes(state: MigrationState): {stale: KObject[]; waiting: KObject[]} {
  const routes = listObjects(state, Kinds.Route, state.meshNamespace)
  const stale = new Set(staleMeshRoutes(routes, listObjects(state, Kinds.Service, state.meshNamespace), state.meshNamespace))
  return {stale: [...stale], waiting: routes.filter((r) => r.metadata.labels?.[ROUTE_INGRESS_LABEL] !== undefined && !stale.has(r))}
}

/**
 * The stale Routes of §3 step 8 (SO hack/migrate-mesh-routes.sh): Routes of `meshNamespace` labelled
 * ROUTE_INGRESS_LABEL whose target Service (spec.to.name) is not among `services` of that namespace. Pure.
 */
export function staleMeshRoutes(routes: KObject[], services: KObject[], meshNamespace: string): KObject[] {
  const has = (name: unknown) => typeof name === 'string' && services.some((x) => x.metadata.namespace === meshNamespace && x.metadata.name === name)
  return routes.filter((r) => r.metadata.namespace === meshNamespace && r.metadata.labels?.[ROUTE_INGRESS_LABEL] !== undefined && !has(r.spec?.to?.name))
}

function smcpGatewaysOff(smcp: KObject): boolean {
  return getPath(smcp, ['spec', 'gateways', 'enabled']) === false
}

// ---------------------------------------------------------------------------------------------------------------
// steps

/** Step 1: read-only checks. Blocked when the Service Mesh 3 operator is missing or there is nothing to migrate. */
function planPreconditions(state: MigrationState): Plan {
  const notes: Note[] = []
  const ns = state.meshNamespace
  if (!state.sailServed) {
    throw new StepBlockedError(
      `the Service Mesh 3 operator is not installed (istios.sailoperator.io/v1 is not served): upgrade the Service Mesh 2 operator to the latest 2.6 first, then install servicemeshoperator3 (channel stable) in openshift-operators`,
    )
  }
  const smcp = state.maistraServed ? smcpOf(state) : null
  const istio = istioOf(state)
  if (!smcp && !istio) throw new StepBlockedError(`there is no ServiceMeshControlPlane in ${ns}: nothing to migrate (or pass --mesh-namespace)`)
  if (!smcp)
    notes.push(
      info(
        `no ServiceMeshControlPlane in ${ns}: Istio ${istio!.metadata.name} serves it (the migration's last step is done, or the mesh was 3 from the start)`,
      ),
    )
  if (smcp) {
    const v = majorMinor(smcp.spec?.version)
    const min = majorMinor(MIN_SMCP_VERSION)!
    if (!v || v[0] < min[0] || (v[0] === min[0] && v[1] < min[1])) {
      notes.push(
        warning(
          `ServiceMeshControlPlane ${smcp.metadata.name} is ${smcp.spec?.version ?? 'of no spec.version'}: Service Mesh 2 must be on the latest 2.6 (operator and control plane) before migrating, and the 2.x operator upgraded before the 3 one is installed`,
        ),
      )
    }
    notes.push(info(`set the servicemeshoperator Subscription's installPlanApproval to Manual, and add no namespace nor mesh setting until the migration ends`))
    if (!istio && state.istioVersions === null) notes.push(warning(`the spec.version enum of istios.sailoperator.io is not readable: pass --istio-version`))
  }
  notes.push(
    info(
      `Service Mesh 3 needs OpenShift Serverless 1.37 or later (Technology Preview there); knmesh cannot read the Serverless version: check it (oc get csv -n openshift-serverless)`,
    ),
  )
  return {items: [], notes}
}

/** The SMCP fields DSAIL's migration-checker.sh wants before the migration, as [path, value]. */
const PREPARED_SMCP_FIELDS: [string[], unknown][] = [
  [['spec', 'security', 'manageNetworkPolicy'], false],
  [['spec', 'addons', 'prometheus', 'enabled'], false],
  [['spec', 'addons', 'kiali', 'enabled'], false],
  [['spec', 'addons', 'grafana', 'enabled'], false],
  [['spec', 'tracing', 'type'], 'None'],
]

/** Step 2: the DSAIL migration-checker fields (gateways wait for step 8) and the KnativeServing/Eventing annotation. */
function planPrepareSmcp(state: MigrationState): Plan {
  const items: PlanItem[] = []
  const notes: Note[] = []
  const smcp = state.maistraServed ? smcpOf(state) : null
  if (smcp) {
    const d = structuredClone(smcp)
    for (const [path, value] of PREPARED_SMCP_FIELDS) ensureObject(d, path.slice(0, -1))[path[path.length - 1]] = value
    items.push({live: smcp, desired: d})
    if (!smcpGatewaysOff(smcp)) notes.push(info(`the ServiceMeshControlPlane's gateways stay on until step 8: they serve Knative until the new gateway does`))
  }
  for (const [kind, name] of [
    [Kinds.KnativeServing, KNATIVE_SERVING],
    [Kinds.KnativeEventing, KNATIVE_EVENTING],
  ] as const) {
    const live = getObject(state, kind, name, name)
    if (!live) continue
    const d = structuredClone(live)
    d.metadata.annotations = {...d.metadata.annotations, [DISABLE_NET_POLICIES_ANNOTATION]: 'true'}
    items.push({live, desired: d})
  }
  return {items, notes}
}

/**
 * Step 2 is done when the SMCP kept the fields: a ServiceMeshControlPlane CRD older than 2.6 drops the ones it does not
 * know (spec.security.manageNetworkPolicy), so they never stick.
 */
function pendingPrepareSmcp(state: MigrationState): string | null {
  const smcp = state.maistraServed ? smcpOf(state) : null
  if (!smcp) return null
  const dropped = PREPARED_SMCP_FIELDS.filter(([path, value]) => getPath(smcp, path) !== value).map(([path, value]) => `${path.join('.')}=${scalar(value)}`)
  if (!dropped.length) return null
  return `ServiceMeshControlPlane ${smcp.metadata.name} did not keep ${dropped.join(', ')} (the API server dropped ${dropped.length > 1 ? 'them' : 'it'}: the Service Mesh 2 operator's CRD is older than 2.6): upgrade the Service Mesh 2 operator and the control plane to 2.6`
}

/** The ports with unique names: a repeated name becomes NAME-NUMBER (then NAME-NUMBER-2, …), the first keeps it. */
export function uniquePortNames(ports: {name?: string; number?: number}[]): {name?: string; number?: number}[] {
  const taken = new Set(ports.map((p) => p.name).filter(Boolean))
  const seen = new Set<string>()
  return ports.map((p) => {
    if (!p.name || !seen.has(p.name)) {
      if (p.name) seen.add(p.name)
      return p
    }
    let name = `${p.name}-${p.number ?? 'port'}`
    for (let i = 2; taken.has(name) || seen.has(name); i++) name = `${p.name}-${p.number ?? 'port'}-${i}`
    seen.add(name)
    taken.add(name)
    return {...p, name}
  })
}

/** Step 3: ServiceEntries the Service Mesh 3 CRDs refuse (N10): repeated port names renamed; the rest is a warning. */
function planServiceEntries(state: MigrationState): Plan {
  const items: PlanItem[] = []
  const notes: Note[] = []
  for (const se of listObjects(state, Kinds.ServiceEntry)) {
    const where = `ServiceEntry ${se.metadata.namespace}/${se.metadata.name}`
    const ports = se.spec?.ports
    if (!Array.isArray(ports) || ports.length === 0) {
      notes.push(warning(`${where} has no ports: the Service Mesh 3 operator's install fails on it; add its ports or delete it`))
      continue
    }
    const numbers = ports.map((p: {number?: number}) => p.number)
    if (new Set(numbers).size < numbers.length) notes.push(warning(`${where} repeats a port number: Service Mesh 3 refuses it; fix it yourself`))
    if ((se.spec?.hosts?.length ?? 0) > 256) notes.push(warning(`${where} has more than 256 hosts: Service Mesh 3 refuses it; split it`))
    const names = ports.map((p: {name?: string}) => p.name)
    if (new Set(names).size === names.length) continue
    const d = structuredClone(se)
    d.spec.ports = uniquePortNames(ports)
    items.push({live: se, desired: d})
  }
  return {items, notes}
}

/** The Istio a 2.x SMCP maps to (§3 step 4, §1.2): drain, excluded inbound ports, access log, discoverySelectors. */
export function istioForSmcp(smcp: KObject | null, meshNamespace: string, version: string): KObject {
  const istio = newObject(Kinds.Istio, 'default', undefined, {spec: {namespace: meshNamespace, version, updateStrategy: {type: 'InPlace'}}})
  istio.metadata.labels = {...MANAGED_BY}
  const drain = getPath(smcp, ['spec', 'techPreview', 'meshConfig', 'defaultConfig', 'terminationDrainDuration'])
  if (smcp && typeof drain === 'string' && !drainShortfall(smcp)) ensureObject(istio, ISTIO_DRAIN_PATH.slice(0, -1)).terminationDrainDuration = drain
  const excluded = getPath(smcp, ['spec', 'proxy', 'networking', 'trafficControl', 'inbound', 'excludedPorts'])
  if (Array.isArray(excluded) && excluded.length)
    ensureObject(istio, ISTIO_EXCLUDE_INBOUND_PATH.slice(0, -1)).excludeInboundPorts = excluded.map(String).join(',')
  const accessLog = getPath(smcp, ['spec', 'proxy', 'accessLogging', 'file', 'name'])
  if (typeof accessLog === 'string' && accessLog) ensureObject(istio, ['spec', 'values', 'meshConfig']).accessLogFile = accessLog
  if (smcp && (smcp.spec?.mode ?? 'MultiTenant') === 'MultiTenant') {
    ensureObject(istio, ['spec', 'values', 'meshConfig']).discoverySelectors = [{matchLabels: {[DISCOVERY_LABEL]: meshNamespace}}]
  }
  return desiredIstio(istio)
}

/** Step 4: namespaces istio-cni and knative-serving-ingress, IstioCNI default, the Istio (created from the SMCP, or the guide's settings merged), mTLS. */
function planInstall(state: MigrationState, input: MigrationInput): Plan {
  const items: PlanItem[] = []
  const notes: Note[] = []
  const ns = state.meshNamespace
  if (!state.sailServed) throw new StepBlockedError(`istios.sailoperator.io/v1 is not served: install the Service Mesh 3 operator (step 1)`)
  const smcp = state.maistraServed ? smcpOf(state) : null
  const live = istioOf(state)
  const version = live?.spec?.version ?? chooseIstioVersion(state.istioVersions, input.istioVersion)
  if (!version) throw new StepBlockedError(`the spec.version enum of istios.sailoperator.io is not readable: pass --istio-version`)
  if (!live) {
    const taken = getObject(state, Kinds.Istio, 'default')
    if (taken)
      throw new StepBlockedError(
        `Istio default serves ${taken.spec?.namespace ?? 'istio-system'}, not ${ns} (spec.namespace is immutable): create the Istio for ${ns} yourself or migrate that mesh`,
      )
  }
  // The namespaces of the CNI and of the new gateway (step 5 writes into it: the engine's preflight needs it there).
  for (const n of [ISTIO_CNI_NAMESPACE, INGRESS_NAMESPACE_3]) {
    if (!getObject(state, Kinds.Namespace, n))
      items.push({live: null, desired: newObject(Kinds.Namespace, n, undefined, {metadata: {name: n, labels: {...MANAGED_BY}}})})
  }
  if (!getObject(state, Kinds.IstioCNI, 'default')) {
    const cni = newObject(Kinds.IstioCNI, 'default', undefined, {spec: {namespace: ISTIO_CNI_NAMESPACE, version}})
    cni.metadata.labels = {...MANAGED_BY}
    items.push({live: null, desired: cni})
  }
  if (live) {
    const d = desiredIstio(live, notes)
    if (smcp && (smcp.spec?.mode ?? 'MultiTenant') === 'MultiTenant' && discoverySelectors(live).length === 0) {
      notes.push(
        warning(
          `Istio ${live.metadata.name} has no discoverySelectors while ServiceMeshControlPlane ${smcp.metadata.name} is MultiTenant: it discovers every namespace (kept)`,
        ),
      )
    }
    items.push({live, desired: d})
  } else {
    items.push({live: null, desired: istioForSmcp(smcp, ns, version)})
    notes.push(
      info(
        `Istio default: spec.version ${version}${input.istioVersion ? ' (--istio-version)' : ' (the newest this operator installs; --istio-version picks another)'}, updateStrategy InPlace`,
      ),
    )
  }
  if (!smcp || getPath(smcp, ['spec', 'security', 'dataPlane', 'mtls']) === true) {
    // Maistra's own PeerAuthentication goes with the SMCP (step 11): the mesh-wide policy must be one of the user's.
    const pas = listObjects(state, Kinds.PeerAuthenticationV1, ns).filter((p) => p.metadata.labels?.[MAISTRA_OWNER_LABEL] === undefined)
    const mesh3: Mesh3State = {meshNamespace: ns, istio: live, peerAuthentications: pas}
    items.push(desiredMeshMtls(mesh3))
  } else {
    notes.push(
      info(
        `ServiceMeshControlPlane ${smcp.metadata.name} does not set security.dataPlane.mtls: no mesh-wide PeerAuthentication is made (configure-mesh --mesh-version 3 makes it STRICT, as the guide wants)`,
      ),
    )
  }
  return {items, notes}
}

/** Step 4 is done when the Istio and IstioCNI report Ready. */
function pendingInstall(state: MigrationState): string | null {
  try {
    requireIstioReady(state, [])
    return null
  } catch (error) {
    if (error instanceof StepBlockedError) return `${error.reason}: wait until the operator reports Ready`
    throw error
  }
}

/** Step 5: the TLS Secret copied to knative-serving-ingress (type, data and labels), the gateway objects (injected). */
function planGateway(state: MigrationState, input: MigrationInput): Plan {
  const notes: Note[] = []
  requireIstioReady(state, notes)
  const items: PlanItem[] = []
  if (!getObject(state, Kinds.Namespace, INGRESS_NAMESPACE_3)) throw new StepBlockedError(`namespace ${INGRESS_NAMESPACE_3} does not exist: step 4 creates it`)
  const name = credentialName(state)
  const source = getObject(state, Kinds.Secret, name, state.meshNamespace)
  const target = getObject(state, Kinds.Secret, name, INGRESS_NAMESPACE_3)
  if (!target && source) {
    const copy = newObject(Kinds.Secret, name, INGRESS_NAMESPACE_3, {type: source.type ?? 'Opaque', data: structuredClone(source.data ?? {})})
    // The source's labels go along: with secret filtering on (1.7) net-istio sees only Secrets carrying
    // networking.internal.knative.dev/certificate-uid, so a copy without it would leave HTTPS with no certificate.
    copy.metadata.labels = {...(source.metadata.labels ?? {}), ...MANAGED_BY}
    items.push({live: null, desired: copy})
  } else if (target && source && JSON.stringify(target.data ?? {}) !== JSON.stringify(source.data ?? {})) {
    notes.push(
      warning(`Secret ${INGRESS_NAMESPACE_3}/${name} differs from ${state.meshNamespace}/${name}: kept (the gateway serves the one in ${INGRESS_NAMESPACE_3})`),
    )
  } else if (!target && !source) {
    notes.push(
      warning(
        `Secret ${name} is in neither ${state.meshNamespace} nor ${INGRESS_NAMESPACE_3}: the HTTPS listener will have no certificate (knmesh certs --mesh-version 3 makes one)`,
      ),
    )
  }
  const gw = input.planners.gateways(state)
  return {items: [...items, ...gw.items], notes: [...notes, ...gw.notes]}
}

/**
 * Step 6: labels instead of member-roll membership. Former members (not knative-serving/knative-eventing): the
 * injection label of the Istio's revision (planMembers3) and maistra.io/ignore-namespace "true"; knative-serving and
 * knative-eventing: ignore-namespace only (3.x injects them per pod, N5); with discoverySelectors the discovery
 * labels on those and on knative-serving-ingress and the mesh namespace.
 */
function planLabels(state: MigrationState): Plan {
  const notes: Note[] = []
  const istio = requireIstioReady(state, notes)
  const ns = state.meshNamespace
  const system = [KNATIVE_SERVING, KNATIVE_EVENTING]
  const members = formerMembers(state)
  const tenants = members.filter((m) => !system.includes(m))
  const namespaces = new Map<string, KObject | null>()
  for (const n of [...tenants, ...system, INGRESS_NAMESPACE_3, ns]) namespaces.set(n, getObject(state, Kinds.Namespace, n))
  const m3: Members3State = {meshNamespace: ns, istio, namespaces}
  const base = tenants.length ? planMembers3(m3, {add: tenants}) : {items: [], notes: []}
  notes.push(...base.notes.filter((n) => n.level === 'warning' || !n.text.startsWith('Service Mesh 3 has no member roll')))
  const desired = new Map<string, KObject>()
  for (const item of base.items) if (item.desired) desired.set(item.desired.metadata.name, item.desired)
  const edit = (name: string, labels: Record<string, string>) => {
    const live = namespaces.get(name)
    if (!live) return
    desired.set(name, withLabels(desired.get(name) ?? live, labels))
  }
  for (const t of tenants) edit(t, {[IGNORE_NAMESPACE_LABEL]: 'true'})
  for (const s of system) edit(s, {[IGNORE_NAMESPACE_LABEL]: 'true'})
  if (discoverySelectors(istio).length) {
    for (const n of [...system, INGRESS_NAMESPACE_3, ns]) {
      const live = namespaces.get(n)
      const labels = live && discoveryLabels(istio, (desired.get(n) ?? live).metadata.labels ?? {})
      if (labels && Object.keys(labels).length) edit(n, labels)
    }
  }
  const items: PlanItem[] = [...namespaces.keys()].filter((n) => desired.has(n)).map((n) => ({live: namespaces.get(n)!, desired: desired.get(n)!}))
  if (!members.length) notes.push(info(`the member roll of ${ns} names no namespace (or is gone): no namespace label to move`))
  return {items, notes}
}

/** Step 7: Serving/Eventing/Kafka and the Knative Service templates on Service Mesh 3 (injected planners). */
function planServing(state: MigrationState, input: MigrationInput): Plan {
  const notes: Note[] = []
  requireIstioReady(state, notes)
  const a = input.planners.istio(state)
  const b = input.planners.services(state)
  return {items: [...a.items, ...b.items], notes: [...notes, ...a.notes, ...b.notes]}
}

/**
 * Step 8: the SMCP's gateways and IOR off, then the stale Routes of the mesh namespace deleted (SO
 * hack/migrate-mesh-routes.sh: labelled ROUTE_INGRESS_LABEL, target Service gone from the mesh namespace; only once
 * knative-istio-ingressgateway exists in knative-serving-ingress). Blocked while config.istio still points at the
 * mesh namespace: turning the gateways off then would cut Knative's traffic.
 */
function planRoutes(state: MigrationState): Plan {
  const notes: Note[] = []
  requireIstioReady(state, notes)
  if (!getObject(state, Kinds.Service, INGRESS_SERVICE_3, INGRESS_NAMESPACE_3)) {
    throw new StepBlockedError(
      `Service ${INGRESS_NAMESPACE_3}/${INGRESS_SERVICE_3} does not exist: the new gateway (step 5, create-gateways on Service Mesh 3) must serve before the old one goes`,
    )
  }
  const still = servingStillOnMesh2(state)
  if (still) throw new StepBlockedError(still)
  const items: PlanItem[] = []
  const smcp = state.maistraServed ? smcpOf(state) : null
  if (smcp) {
    const d = structuredClone(smcp)
    ensureObject(d, ['spec', 'gateways']).enabled = false
    ensureObject(d, ['spec', 'gateways', 'openshiftRoute']).enabled = false
    items.push({live: smcp, desired: d})
  }
  const {stale, waiting} = meshRoutes(state)
  for (const r of stale) items.push({live: r, desired: null})
  if (waiting.length) {
    notes.push(
      info(
        `${waiting.length} Route${waiting.length > 1 ? 's' : ''} in ${state.meshNamespace} still target${waiting.length > 1 ? '' : 's'} a Service there (${[...new Set(waiting.map((r) => r.spec?.to?.name))].join(', ')}): deleted once Service Mesh 2 removes it`,
      ),
    )
  }
  return {items, notes}
}

/** Step 8 is done when no Route of the mesh namespace still waits for its Service to go. */
function pendingRoutes(state: MigrationState): string | null {
  const {waiting} = meshRoutes(state)
  if (!waiting.length) return null
  const svcs = [...new Set(waiting.map((r) => `${state.meshNamespace}/${r.spec?.to?.name}`))].join(', ')
  return `${waiting.length} Route${waiting.length > 1 ? 's' : ''} in ${state.meshNamespace} still target Service ${svcs}, which Service Mesh 2 removes now that the ServiceMeshControlPlane's gateways are off (their hosts stay claimed, HostAlreadyClaimed, until the Routes go): wait until it is gone`
}

/** Step 9: the policies (injected planner). */
function planPolicies(state: MigrationState, input: MigrationInput): Plan {
  const notes: Note[] = []
  requireIstioReady(state, notes)
  const p = input.planners.policies(state)
  return {items: p.items, notes: [...notes, ...p.notes]}
}

/** Step 10: nothing to write; what to restart so that 3.x injects the pods (DSAIL: oc rollout restart). */
function planRestart(state: MigrationState): Plan {
  const notes: Note[] = []
  requireIstioReady(state, notes)
  const tenants = formerMembers(state).filter((m) => m !== KNATIVE_SERVING && m !== KNATIVE_EVENTING)
  notes.push(
    info(
      `restart the workloads yourself so Service Mesh 3 injects them: oc rollout restart deployment -n ${[KNATIVE_SERVING, KNATIVE_EVENTING, ...tenants].join(' / -n ')}; Knative revisions: a new revision, or restart their Deployments (no documented safe way: reference §4 q8); check with istioctl ps`,
    ),
  )
  return {items: [], notes}
}

/**
 * Step 11: the member roll, the SMMs naming the mesh namespace, the SMCP, and the Service knative-local-gateway of
 * the mesh namespace (it selected the SMCP's gateway pods) deleted. Kept: the TLS Secret of the mesh namespace (key
 * material: delete it yourself), the ignore-namespace labels, the 2.x operator (OLM). Blocked until step 8 is done.
 */
function planCleanup(state: MigrationState): Plan {
  const notes: Note[] = []
  requireIstioReady(state, notes)
  const still = servingStillOnMesh2(state)
  if (still) throw new StepBlockedError(still)
  const smcp = state.maistraServed ? smcpOf(state) : null
  if (smcp && !smcpGatewaysOff(smcp)) throw new StepBlockedError(`ServiceMeshControlPlane ${smcp.metadata.name} still runs its gateways: step 8 turns them off`)
  const pending = pendingRoutes(state)
  if (pending) throw new StepBlockedError(pending, true)
  const ns = state.meshNamespace
  const items: PlanItem[] = []
  for (const smm of listObjects(state, Kinds.ServiceMeshMember)) {
    if ((smm.spec?.controlPlaneRef?.namespace ?? ns) === ns) items.push({live: smm, desired: null})
  }
  for (const smmr of listObjects(state, Kinds.ServiceMeshMemberRoll, ns)) items.push({live: smmr, desired: null})
  if (smcp) items.push({live: smcp, desired: null})
  const local = getObject(state, Kinds.Service, LOCAL_GATEWAY, ns)
  if (local && !(local.metadata.ownerReferences as unknown[] | undefined)?.length) items.push({live: local, desired: null})
  const secret = credentialName(state)
  if (smcp && getObject(state, Kinds.Secret, secret, ns))
    notes.push(
      info(
        `Secret ${ns}/${secret} is kept (key material): delete it yourself once the gateway in ${INGRESS_NAMESPACE_3} serves (kubectl delete secret -n ${ns} ${secret})`,
      ),
    )
  if (smcp)
    notes.push(
      info(`then remove the Service Mesh 2 operator (its Subscription and CSV) and the *.maistra.io CRDs; the ${IGNORE_NAMESPACE_LABEL} labels may go then`),
    )
  return {items, notes}
}

const STEPS: StepDef[] = [
  {n: 1, title: 'Check the preconditions', plan: planPreconditions},
  {n: 2, title: 'Prepare the ServiceMeshControlPlane', plan: planPrepareSmcp, pending: pendingPrepareSmcp},
  {n: 3, title: 'Fix ServiceEntries', plan: planServiceEntries},
  {n: 4, title: 'Install the Istio and IstioCNI', plan: planInstall, pending: pendingInstall},
  {n: 5, title: `Gateway in ${INGRESS_NAMESPACE_3}`, plan: planGateway},
  {n: 6, title: 'Namespace labels instead of the member roll', plan: planLabels},
  {n: 7, title: 'Re-point Serving to Service Mesh 3', plan: planServing},
  {n: 8, title: 'Turn off the 2.x gateways, delete stale Routes', plan: planRoutes, pending: pendingRoutes},
  {n: 9, title: 'Policies for the new gateway', plan: planPolicies},
  {n: 10, title: 'Restart workloads', plan: planRestart},
  {n: 11, title: 'Remove the ServiceMeshControlPlane and member roll', plan: planCleanup},
]

/** The step titles by number. */
export function stepTitle(n: number): string {
  const s = STEPS.find((x) => x.n === n)
  if (!s) throw new UsageError(`there is no step ${n}: migrate-mesh has steps 1 to ${STEP_COUNT}`)
  return s.title
}

/**
 * One step's Plan on the cluster as it is (--apply). Throws StepBlockedError (exit 4) when the step cannot run
 * yet, UsageError (exit 2) for an --istio-version the operator does not install.
 */
export function planStep(n: number, state: MigrationState, input: MigrationInput): Plan {
  const s = STEPS.find((x) => x.n === n)
  if (!s) throw new UsageError(`there is no step ${n}: migrate-mesh has steps 1 to ${STEP_COUNT}`)
  return s.plan(state, input)
}

/** After step n was applied, on a fresh read: what must still happen before the next step, and what to do (null: nothing). */
export function stepPending(n: number, state: MigrationState): string | null {
  return STEPS.find((x) => x.n === n)?.pending?.(state) ?? null
}

/**
 * The whole migration for the read-only plan: every step planned on the state as the earlier steps would leave it
 * (their desired objects laid over the state read; blocked steps change nothing). A blocked step is reported, not
 * thrown. Throws UsageError (exit 2) for an --istio-version the operator does not install.
 */
export function planMigration(state: MigrationState, input: MigrationInput): MigrationStep[] {
  chooseIstioVersion(state.istioVersions, input.istioVersion)
  const out: MigrationStep[] = []
  let s = state
  for (const def of STEPS) {
    try {
      const plan = def.plan(s, input)
      out.push({n: def.n, title: def.title, changes: describePlan(plan), plan})
      s = project(s, plan)
    } catch (error) {
      if (!(error instanceof StepBlockedError)) throw error
      out.push({n: def.n, title: def.title, changes: [], plan: {items: [], notes: []}, blocked: {reason: error.reason, wait: error.wait}})
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// one line per object

function name(o: KObject): string {
  return `${o.metadata.namespace ? o.metadata.namespace + '/' : ''}${o.metadata.name}`
}

function scalar(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/** The paths that differ between a and b (leaf values shown when scalar; never a Secret's values). */
function differences(a: unknown, b: unknown, path: string[], out: string[], secret: boolean): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return
  const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x)
  const p = path.join('.')
  if (isObj(b) && (isObj(a) || a === undefined) && path.length < 6) {
    const before = a ?? {}
    for (const k of [...new Set([...Object.keys(before), ...Object.keys(b)])].sort()) differences(before[k], b[k], [...path, k], out, secret)
  } else if (b === undefined) out.push(`-${p}`)
  else if (secret && (path[0] === 'data' || path[0] === 'stringData')) out.push(p)
  else if (isObj(b) || Array.isArray(b)) out.push(p)
  else out.push(`${p}=${scalar(b)}`)
}

/** "update Namespace team-a (labels istio-injection=enabled, maistra.io/ignore-namespace=true)". */
export function describeItem(item: PlanItem): string | null {
  const action = actionOf(item)
  if (action === 'unchanged') return null
  const o = (item.desired ?? item.live)!
  const head = `${action} ${o.kind} ${name(o)}`
  if (action !== 'update') return head
  const a = stripServerFields(item.live!)
  const b = stripServerFields(item.desired!)
  const parts: string[] = []
  for (const field of ['labels', 'annotations'] as const) {
    const before = a.metadata[field] ?? {}
    const after = b.metadata[field] ?? {}
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]).sort()
    if (changed.length) parts.push(`${field} ${changed.map((k) => (after[k] === undefined ? `-${k}` : `${k}=${after[k]}`)).join(', ')}`)
  }
  const rest: string[] = []
  const {metadata: _ma, ...ra} = a
  const {metadata: _mb, ...rb} = b
  differences(ra, rb, [], rest, o.kind === 'Secret')
  return `${head}${parts.length || rest.length ? ` (${[...parts, ...rest].join('; ')})` : ''}`
}

/** One line per object a plan writes. */
export function describePlan(plan: Plan): string[] {
  return plan.items.map(describeItem).filter((l): l is string => l !== null)
}
