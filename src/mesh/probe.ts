import type {KObject} from '../kube/types.js'
import {applicable, decide, mtlsMode, refText, type Applicable, type AuthzRequest, type Decision, type Verdict, type Workload} from './authz-eval.js'
import {KNATIVE_SERVING, KNATIVE_SERVING_INGRESS} from './constants.js'
import {members} from './members.js'
import {injectedNamespace, injectionLabel, INJECTION_LABEL} from './members3.js'
import {tenantsOf, type TenantInfo} from './tenant-authz.js'

/**
 * Guide 2.4 as a prediction: which sidecars a request crosses on its way to a
 * Knative Service, and what each one's AuthorizationPolicies decide.
 *
 * Cluster-local (http://SERVICE.NS): the caller's sidecar sends it to the
 * activator in knative-serving (scaled to zero, or the activator in the path),
 * which forwards it to the revision pod; or straight to the revision pod.
 * External (the Service's URL): through the OpenShift router to the ingress
 * gateway in the mesh namespace, then the activator or the pod, as above.
 */

export interface MeshView {
  policies: KObject[]
  peerAuthentications: KObject[]
  smmr: KObject | null
  meshNamespace: string
  /**
   * The control plane's security.dataPlane.mtls (guide 1.4.2): true makes
   * STRICT the mesh default where no PeerAuthentication sets a mode.
   */
  meshMtls?: boolean
  /**
   * Service Mesh 3 (service-mesh-3.md rows 5, 6, 17, N5, N17): no member roll and no SMCP. Sidecars run in the
   * namespaces labeled for injection (`namespaces`, by the Istio's revision); mTLS comes from the PeerAuthentications
   * only (the mesh-wide one in the mesh namespace); the Knative gateways run in knative-serving-ingress.
   */
  mesh3?: Mesh3View
}

export interface Mesh3View {
  istio: KObject | null
  /** Every Namespace by name (for the injection labels). */
  namespaces: Map<string, KObject>
  /** The port the local gateway's pods listen on for cluster-local traffic (Service knative-local-gateway's http2 targetPort). */
  localGatewayPort: number
}

/** Service Mesh 3: where the Knative gateways run, and the local gateway's host (N17). */
export const GATEWAY_NAMESPACE_3 = KNATIVE_SERVING_INGRESS
export const LOCAL_GATEWAY_HOST_3 = `knative-local-gateway.${GATEWAY_NAMESPACE_3}.svc.cluster.local`
/** The docs' local gateway port (Service 80 → 8081); the e2e uses 8080 (service-mesh-3.md §4.1). */
export const DEFAULT_LOCAL_GATEWAY_PORT_3 = 8081
/** Labels of the Service Mesh 3 gateway pods (docs and e2e Deployment knative-istio-ingressgateway, N6). */
export const GATEWAY_LABELS_3 = {knative: 'ingressgateway', 'knative-ingress-gateway': 'ingressgateway', 'knative-local-gateway': 'ingressgateway'}

export interface ProbeRequest {
  from: string
  to: string
  service: string
  external: boolean
  /** External host (from the Knative Service's status.url), when known. */
  externalHost?: string
  /** Labels of the target's pods, when known; a Knative revision pod's otherwise. */
  targetLabels?: Record<string, string>
  /**
   * Whether the target's pods get a sidecar, when known from the Knative Service (Service Mesh 3: its template label,
   * ksvcInjection3), and why not; else the namespace decides.
   */
  targetInjection?: {injected: boolean; reason?: string}
  path?: string
  method?: string
}

export interface Hop {
  from: string
  to: string
  decision: Decision
  /** mTLS between the two, and what set the destination's mode. */
  mtls: string
}

export interface PathResult {
  name: string
  hops: Hop[]
  verdict: Verdict
  /** What the caller sees: 200, 403 (RBAC: access denied), or 000 (connection reset). */
  status: string
}

export interface Prediction {
  /** allow / deny, or mixed when the paths disagree, unknown when an external authorizer decides. */
  verdict: Verdict | 'mixed'
  paths: PathResult[]
  /** The decisive reason, one line. */
  reason: string
  url: string
}

/** Labels of the workloads a request crosses. */
export const ACTIVATOR_LABELS = {app: 'activator', 'app.kubernetes.io/component': 'activator', 'app.kubernetes.io/name': 'knative-serving', role: 'activator'}
export const GATEWAY_LABELS = {app: 'istio-ingressgateway', istio: 'ingressgateway'}
/** The queue-proxy's port: where a revision pod's sidecar receives requests. */
export const REVISION_PORT = 8012
export const ACTIVATOR_PORT = 8012

const revisionLabelCache = new Map<string, Record<string, string>>()
const CALLER_LABELS = {app: 'knmesh-probe'}

export function revisionLabels(service: string): Record<string, string> {
  const hit = revisionLabelCache.get(service)
  if (hit) return hit
  const labels = {
    app: `${service}-00001`,
    'serving.knative.dev/service': service,
    'serving.knative.dev/configuration': service,
    'serving.knative.dev/revision': `${service}-00001`,
  }
  revisionLabelCache.set(service, labels)
  return labels
}

interface Party {
  label: string
  workload: Workload
  /** Service account, for the SPIFFE principal. */
  sa: string
  principal?: string
  /** Whether a sidecar runs next to it (mesh member namespace). */
  sidecar: boolean
  /** Why no sidecar runs there, when it does not (default: not a mesh member). */
  noSidecar?: string
  /** An ingress gateway: it terminates the client's TLS itself, PeerAuthentication does not apply. */
  ingress?: boolean
  /** Memoized per party: its applicable policies and its mTLS mode per port. */
  ap?: Applicable
  modes?: Map<number, ReturnType<typeof mtlsMode> & {text: string; texts?: {mutual: string; plain: string}}>
  /** Hops into this party already evaluated, by source party and request. */
  shared?: Map<Party | null, Map<string, Hop>>
}

/**
 * A compiled view: applicable policies per workload, cached, so thousands of
 * requests (probe --matrix) cost one rule scan each.
 */
export class Authorizer {
  private readonly cache = new Map<string, Applicable>()
  private readonly mtlsCache = new Map<string, ReturnType<typeof mtlsMode> & {text: string; texts?: {mutual: string; plain: string}}>()
  readonly members: Set<string>
  private readonly byNamespace = new Map<string, KObject[]>()

  constructor(readonly view: MeshView) {
    // Sidecars run where the member roll says (the mesh namespace's gateways always have one). Service Mesh 3: where
    // the namespace injection label says; Knative's own pods and gateways are injected by their pod labels (N5, N6),
    // so knative-serving and knative-serving-ingress count as in the mesh.
    const m3 = view.mesh3
    this.members = m3
      ? new Set([
          ...[...m3.namespaces.values()].filter((n) => injectedNamespace(n, m3.istio)).map((n) => n.metadata.name),
          KNATIVE_SERVING,
          GATEWAY_NAMESPACE_3,
        ])
      : new Set([...members(view.smmr), view.meshNamespace])
    for (const p of view.policies) {
      const ns = p.metadata.namespace ?? ''
      const list = this.byNamespace.get(ns) ?? []
      list.push(p)
      this.byNamespace.set(ns, list)
    }
  }

  inMesh(ns: string): boolean {
    return this.members.has(ns)
  }

  private readonly labelKeys = new WeakMap<Record<string, string>, string>()

  private workloadKey(w: Workload): string {
    let lk = this.labelKeys.get(w.labels)
    if (lk === undefined) {
      lk = Object.entries(w.labels)
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
      this.labelKeys.set(w.labels, lk)
    }
    return `${w.namespace}\u0000${lk}`
  }

  applicable(w: Workload): Applicable {
    const key = this.workloadKey(w)
    let ap = this.cache.get(key)
    if (!ap) {
      const root = this.view.meshNamespace
      const candidates = [...(this.byNamespace.get(w.namespace) ?? []), ...(w.namespace === root ? [] : (this.byNamespace.get(root) ?? []))]
      ap = applicable(candidates, w, root)
      this.cache.set(key, ap)
    }
    return ap
  }

  mtls(w: Workload, port: number) {
    const key = `${this.workloadKey(w)}\u0000${port}`
    let m = this.mtlsCache.get(key)
    if (!m) {
      const r = mtlsMode(this.view.peerAuthentications, w, this.view.meshNamespace, port)
      if (!r.from && this.view.meshMtls) m = {mode: 'STRICT', text: 'STRICT (SMCP security.dataPlane.mtls)'}
      else m = {...r, text: `${r.mode}${r.from ? ` (${refText(r.from)})` : ' (default)'}`}
      this.mtlsCache.set(key, m)
    }
    return m
  }

  /** role → name → namespace → Party. */
  private readonly parties = new Map<string, Map<string, Map<string, Party>>>()

  /**
   * The same Party object for the same workload, so its memoized policies are
   * reused. role: caller | system | target; name: the workload (or Service) name.
   */
  party(role: string, name: string, namespace: string, labels: Record<string, string>, sa: string, ingress = false): Party {
    let byName = this.parties.get(role)
    if (!byName) this.parties.set(role, (byName = new Map()))
    let byNs = byName.get(name)
    if (!byNs) byName.set(name, (byNs = new Map()))
    let p = byNs.get(namespace)
    if (!p) {
      const label = role === 'caller' ? `${namespace} (caller)` : `${namespace}/${name}`
      p = {label, workload: {namespace, labels}, sa, sidecar: ingress || this.inMesh(namespace), ingress}
      byNs.set(namespace, p)
    }
    return p
  }

  /** hop(), remembered: for hops from fixed system workloads (gateway, activator) that many requests share. */
  sharedHop(src: Party | null, dst: Party, port: number, req: Omit<AuthzRequest, 'source' | 'destination'>): Hop {
    dst.shared ??= new Map()
    let bySrc = dst.shared.get(src)
    if (!bySrc) dst.shared.set(src, (bySrc = new Map()))
    const key = `${port}\u0000${req.host}\u0000${req.path}\u0000${req.method}`
    let h = bySrc.get(key)
    if (!h) {
      h = this.hop(src, dst, port, req)
      bySrc.set(key, h)
    }
    return h
  }

  /** One hop: the connection (mTLS or not), then the destination sidecar's policies. */
  hop(src: Party | null, dst: Party, port: number, req: Omit<AuthzRequest, 'source' | 'destination'>): Hop {
    const from = src?.label ?? 'outside the mesh'
    if (!dst.sidecar) {
      const why = dst.noSidecar ?? `${dst.workload.namespace} is not a mesh member`
      return {
        from,
        to: dst.label,
        mtls: 'none (no sidecar at the destination)',
        decision: {verdict: 'allow', by: 'NONE', reason: `${why}: no sidecar enforces policies there`},
      }
    }
    dst.modes ??= new Map()
    let m = dst.modes.get(port)
    if (!m) {
      m = this.mtls(dst.workload, port)
      dst.modes.set(port, m)
    }
    const modeText = m.text
    const mutual = Boolean(src?.sidecar) && m.mode !== 'DISABLE' && !dst.ingress
    if (!mutual && m.mode === 'STRICT' && !dst.ingress) {
      return {
        from,
        to: dst.label,
        mtls: `plaintext refused: ${modeText}`,
        decision: {
          verdict: 'deny',
          by: 'NONE',
          policy: m.from,
          reason: `${dst.label} requires mTLS (${modeText}) and ${src ? `${src.workload.namespace} has no sidecar` : 'the caller is outside the mesh'}: connection reset`,
        },
      }
    }
    const source =
      mutual && src ? {namespace: src.workload.namespace, principal: (src.principal ??= `cluster.local/ns/${src.workload.namespace}/sa/${src.sa}`)} : {}
    dst.ap ??= this.applicable(dst.workload)
    const decision = decide(dst.ap, {
      host: req.host,
      path: req.path,
      method: req.method,
      headers: req.headers,
      source,
      destination: {namespace: dst.workload.namespace, labels: dst.workload.labels, port},
    })
    m.texts ??= {mutual: `mTLS ${modeText}`, plain: `plaintext ${modeText}: no peer identity`}
    // An ingress gateway is reached from the router (external), or on Service Mesh 3 by a caller's plain HTTP (local gateway).
    const mtls = dst.ingress
      ? src
        ? 'plain HTTP into the gateway: no peer identity'
        : 'TLS from the router: no peer identity'
      : mutual
        ? m.texts.mutual
        : m.texts.plain
    return {from, to: dst.label, mtls, decision}
  }
}

function pathOf(name: string, hops: Hop[]): PathResult {
  const denied = hops.find((h) => h.decision.verdict !== 'allow')
  const verdict: Verdict = denied ? denied.decision.verdict : 'allow'
  const status = !denied ? '200' : denied.decision.verdict === 'unknown' ? '?' : denied.mtls.startsWith('plaintext refused') ? '000' : '403'
  return {name, hops, verdict, status}
}

export function clusterLocalHost(service: string, namespace: string): string {
  return `${service}.${namespace}`
}

/** Predicts one request, along every path it may take. */
export function predict(az: Authorizer, r: ProbeRequest): Prediction {
  const mesh = az.view.meshNamespace
  const m3 = az.view.mesh3
  const caller = az.party('caller', 'caller', r.from, CALLER_LABELS, 'default')
  const activator = az.party('system', 'activator', KNATIVE_SERVING, ACTIVATOR_LABELS, 'controller')
  const target =
    r.targetLabels || r.targetInjection
      ? {
          label: `${r.to}/${r.service}`,
          workload: {namespace: r.to, labels: r.targetLabels ?? revisionLabels(r.service)},
          sa: 'default',
          sidecar: r.targetInjection?.injected ?? az.inMesh(r.to),
          noSidecar: r.targetInjection?.reason,
        }
      : az.party('target', r.service, r.to, revisionLabels(r.service), 'default')
  // Service Mesh 3: the user-owned gateway Deployment knative-istio-ingressgateway in knative-serving-ingress (N6).
  const gateway = m3
    ? az.party('system', 'knative-istio-ingressgateway', GATEWAY_NAMESPACE_3, GATEWAY_LABELS_3, 'default', true)
    : az.party('system', 'istio-ingressgateway', mesh, GATEWAY_LABELS, 'istio-ingressgateway-service-account', true)
  const host = r.external ? (r.externalHost ?? `${r.service}-${r.to}.apps`) : clusterLocalHost(r.service, r.to)
  const req = {host, path: r.path ?? '/', method: r.method ?? 'GET', headers: {}}
  const paths: PathResult[] = []
  if (r.external) {
    // The router is outside the mesh; the gateway has no inbound policies of the tenants.
    const atGateway = az.sharedHop(null, gateway, 8443, req)
    paths.push(
      pathOf('via ingress gateway and activator', [
        atGateway,
        az.sharedHop(gateway, activator, ACTIVATOR_PORT, req),
        az.sharedHop(activator, target, REVISION_PORT, req),
      ]),
    )
    paths.push(pathOf('via ingress gateway, direct to the pod', [atGateway, az.sharedHop(gateway, target, REVISION_PORT, req)]))
  } else if (m3 && !caller.sidecar) {
    // Service Mesh 3: SERVICE.NS is an ExternalName for the local gateway; without a sidecar nothing routes the call
    // past it, and the local gateway is plain HTTP (no ISTIO_MUTUAL, N6): the caller reaches it, it forwards with its
    // own identity (knative-serving-ingress).
    const local = az.party('system', 'knative-local-gateway', GATEWAY_NAMESPACE_3, GATEWAY_LABELS_3, 'default', true)
    const atLocal = az.hop(caller, local, m3.localGatewayPort, req)
    paths.push(
      pathOf(`via ${LOCAL_GATEWAY_HOST_3} and activator`, [
        atLocal,
        az.sharedHop(local, activator, ACTIVATOR_PORT, req),
        az.sharedHop(activator, target, REVISION_PORT, req),
      ]),
    )
    paths.push(pathOf(`via ${LOCAL_GATEWAY_HOST_3}, direct to the pod`, [atLocal, az.sharedHop(local, target, REVISION_PORT, req)]))
  } else {
    paths.push(pathOf('via activator', [az.hop(caller, activator, ACTIVATOR_PORT, req), az.sharedHop(activator, target, REVISION_PORT, req)]))
    paths.push(pathOf('direct to the pod', [az.hop(caller, target, REVISION_PORT, req)]))
  }
  const verdicts = new Set(paths.map((p) => p.verdict))
  const verdict: Prediction['verdict'] = verdicts.size === 1 ? paths[0].verdict : 'mixed'
  return {
    verdict,
    paths,
    // Built when read: a matrix of 40,000 pairs reads it only for the pairs it reports.
    get reason() {
      if (verdict === 'mixed') return `depends on the path: ${paths.map((p) => `${p.name}: ${p.verdict}`).join('; ')}`
      const first = paths.find((p) => p.verdict !== 'allow')
      const deciding = first ? first.hops.find((h) => h.decision.verdict !== 'allow')! : paths[0].hops.at(-1)!
      return `at ${deciding.to}: ${deciding.decision.reason}`
    },
    url: r.external ? `https://${host}` : `http://${host}:80`,
  }
}

/** The HTTP status the caller should see, from a prediction. */
export function expectedStatus(p: Prediction): string {
  if (p.verdict === 'mixed' || p.verdict === 'unknown') return '?'
  return p.paths[0].status
}

// ---------------------------------------------------------------------------
// probe --matrix: every pair of tenant namespaces.

export interface MatrixCell {
  from: string
  to: string
  fromTenant: string
  toTenant: string
  verdict: Prediction['verdict']
  /** Same tenant → allow, different tenants → deny. */
  expected: 'allow' | 'deny'
  /** Why, for the cells that break isolation. */
  reason?: string
}

export interface Matrix {
  tenants: string[]
  namespaces: string[]
  cells: MatrixCell[]
  /** Cells that break isolation: cross-tenant allowed, or same-tenant denied. */
  violations: MatrixCell[]
  /** Tenant namespaces that are not mesh members (no sidecar): the usual cause of "mixed" cells. */
  outsideMesh: string[]
  ms: number
}

export function tenantMatrix(view: MeshView, opts: {tenants?: string[]; service?: string} = {}): Matrix {
  const t0 = performance.now()
  const az = new Authorizer(view)
  let tenants: TenantInfo[] = tenantsOf(view.policies)
  if (opts.tenants?.length) tenants = tenants.filter((t) => opts.tenants!.includes(t.name))
  const owner = new Map<string, string>()
  for (const t of tenants) for (const ns of t.namespaces) owner.set(ns, t.name)
  const namespaces = [...owner.keys()]
  const cells: MatrixCell[] = []
  const service = opts.service ?? 'test-webapp'
  for (const from of namespaces) {
    for (const to of namespaces) {
      const p = predict(az, {from, to, service, external: false})
      const expected = owner.get(from) === owner.get(to) ? 'allow' : 'deny'
      const cell: MatrixCell = {from, to, fromTenant: owner.get(from)!, toTenant: owner.get(to)!, verdict: p.verdict, expected}
      // The reason only where isolation breaks: keeping 40,000 predictions alive costs more than computing them.
      if (p.verdict !== expected) cell.reason = p.reason
      cells.push(cell)
    }
  }
  return {
    tenants: tenants.map((t) => t.name),
    namespaces,
    cells,
    violations: cells.filter((c) => c.verdict !== c.expected),
    outsideMesh: namespaces.filter((ns) => !az.inMesh(ns)),
    ms: performance.now() - t0,
  }
}

/**
 * Service Mesh 3: whether the pods of a Knative Service get a sidecar (N5, N11): yes in a namespace labeled for
 * injection; else only with the template *label* sidecar.istio.io/inject: "true" (default revision, namespace without
 * istio-injection/istio.io/rev). The annotation alone injects nothing on Service Mesh 3, and the reason says so.
 */
export function ksvcInjection3(ksvc: KObject | null, ns: KObject | undefined, istio: KObject | null): {injected: boolean; reason?: string} {
  const name = `${ns?.metadata.name ?? ksvc?.metadata.namespace}/${ksvc?.metadata.name ?? '?'}`
  const nsName = ns?.metadata.name ?? ksvc?.metadata.namespace ?? '?'
  const nsLabels = (ns?.metadata.labels ?? {}) as Record<string, string>
  const meta = ksvc?.spec?.template?.metadata ?? {}
  if (meta.labels?.['sidecar.istio.io/inject'] === 'false') return {injected: false, reason: `${name} has the template label sidecar.istio.io/inject: "false"`}
  if (injectedNamespace(ns, istio)) return {injected: true}
  const [key, value] = istio ? injectionLabel3(istio) : [INJECTION_LABEL, 'enabled']
  const nsLabeled = nsLabels[INJECTION_LABEL] !== undefined || nsLabels['istio.io/rev'] !== undefined
  if (meta.labels?.['sidecar.istio.io/inject'] === 'true' && !nsLabeled && key === INJECTION_LABEL) return {injected: true}
  const fix = `label the namespace ${key}=${value} (knmesh add-namespace ${nsName}) or the template (knmesh annotate-services -n ${nsName})`
  if (meta.labels?.['sidecar.istio.io/inject'] === 'true')
    return {
      injected: false,
      reason: `${name} is not injected on Service Mesh 3: its template label sidecar.istio.io/inject injects only in a namespace without injection labels, for the default revision; ${fix}`,
    }
  if (meta.annotations?.['sidecar.istio.io/inject'] === 'true') {
    return {
      injected: false,
      reason: `${name} is not injected on Service Mesh 3: it has only the annotation sidecar.istio.io/inject, which Service Mesh 3 ignores, and namespace ${nsName} is not labeled ${key}=${value}; ${fix}`,
    }
  }
  return {
    injected: false,
    reason: `${name} is not injected: namespace ${nsName} is not labeled ${key}=${value} and the template has no label sidecar.istio.io/inject; ${fix}`,
  }
}

/** injectionLabel that never throws (a RevisionBased Istio without status: the namespace label istio-injection). */
function injectionLabel3(istio: KObject): [string, string] {
  try {
    return injectionLabel(istio)
  } catch {
    return [INJECTION_LABEL, 'enabled']
  }
}
