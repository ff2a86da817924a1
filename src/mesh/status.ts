import {changesOf, type Plan} from '../change/plan.js'
import type {KObject} from '../kube/types.js'
import {key} from '../kube/types.js'
import {inspectSecret} from './certs.js'
import {REQUIRED_MEMBERS, meshFlag} from './constants.js'
import {DEFAULT_CERT_SECRET, planGateways, type GatewaysState} from './gateways.js'
import {planEnableIstio, type IstioState} from './istio.js'
import {ingressMode} from './ingress-mode.js'
import {members, pendingMembers, pendingText, planMembers, type MembersState} from './members.js'
import {precheckChecks, type CheckStatus, type PrecheckState} from './precheck.js'
import {tenantMatrix, type MeshView} from './probe.js'
import {planConfigureMesh, smcpFindings} from './smcp.js'
import {chartDifferences, DEFAULT_CLUSTER_DOMAIN, planTenantAuthz, tenantsOf, type TenantAuthzInput, type TenantInfo} from './tenant-authz.js'

/**
 * status: every step of the guide's chapters 1 and 2, checked against one
 * read of the cluster. Each area asks the verb's own planner or check; a
 * planner that would change something is a finding, and the verb is its fix.
 */

export interface StatusRow {
  area: string
  check: string
  state: CheckStatus
  detail: string
  /** The knmesh command (or manual step) that fixes a warning or failure. */
  fix?: string
}

export interface StatusState {
  meshNamespace: string
  precheck: PrecheckState
  members: MembersState
  gateways: GatewaysState
  /** null: KnativeServing is not served (precheck's rows say so). */
  istio: IstioState | null
  /** The cluster's apps domain (null: unknown). */
  domain: string | null
  /** The wildcard certificate Secret (undefined: not readable by this user). */
  certSecret: KObject | null | undefined
  /** AuthorizationPolicies, PeerAuthentications and the member roll. */
  view: MeshView
  /** Extra areas contributed by other verbs (metrics, secret filtering, service annotations). */
  extra?: StatusRow[]
}

/** What a planner would do, one line ("update KnativeServing/knative-serving/knative-serving"), or [] when nothing. */
export function wouldChange(plan: Plan): string[] {
  return changesOf(plan).map((c) => `${c.action} ${key((c.desired ?? c.live)!)}`)
}

/** Runs a planner; a throw (a refusal the verb would print) becomes the finding. */
export function fromPlanner(area: string, check: string, fix: string, okDetail: string, run: () => Plan, detailOf?: (changes: string[]) => string): StatusRow {
  let changes: string[]
  try {
    changes = wouldChange(run())
  } catch (error) {
    return {area, check, state: 'failure', detail: (error as Error).message, fix}
  }
  if (changes.length === 0) return {area, check, state: 'ok', detail: okDetail}
  return {area, check, state: 'failure', detail: detailOf ? detailOf(changes) : `would ${changes.join('; ')}`, fix}
}

/**
 * status: one row per step of the guide's chapters 1 and 2 (prerequisites, control plane settings, member roll,
 * gateways, certificates, Istio integration settings, ...), each checked by running the verb's own planner on the
 * state and reporting what it would change. State: StatusState (everything the status reader gathered; null fields
 * were not served or not readable: their rows are left out or say so). Returns the rows in the guide's order
 * ({area, check, state ok|warning|failure, detail, fix}). Throws nothing of its own (a planner's refusal
 * becomes a failure row). Upstream: the guide's chapters 1-2 (Integrations, sections 1.1-1.7, 2.3) as cited per row.
 */
export function statusRows(s: StatusState): StatusRow[] {
  const mesh = s.meshNamespace
  const flag = meshFlag(mesh)
  const rows: StatusRow[] = []

  // 1.1, 1.4.1: prerequisites.
  for (const c of precheckChecks(s.precheck)) rows.push({area: 'prerequisites', check: c.id, state: c.status, detail: c.detail, ...(c.fix ? {fix: c.fix} : {})})

  // 1.4.2 step 1, 1.5 step 3: the control plane's settings.
  const smcps = s.precheck.smcps ?? []
  const served = s.precheck.served
  if (served.smcp)
    rows.push(
      fromPlanner(
        'mesh',
        'control plane settings',
        `knmesh configure-mesh${flag}`,
        `${smcps.map((x) => x.metadata.name).join(', ')}: mTLS, drain at least 35s, gateway label, excluded ports 8444/8022`,
        () => planConfigureMesh({smcps}, {meshNamespace: mesh}),
        () => (smcps.length === 1 ? `${smcps[0].metadata.name}: ${smcpFindings(smcps[0]).join('; ')}` : 'no single control plane to check'),
      ),
    )

  // 1.4.2 steps 2-3, 2.3 step 1: the member roll.
  const roll = members(s.members.smmr)
  const missingMembers = REQUIRED_MEMBERS.filter((m) => !roll.includes(m))
  // Chosen Kourier (1.6): the Knative system namespaces stay outside the mesh (precheck's kourier rows flag them).
  const kourier = ingressMode(s.istio?.serving ?? s.precheck.serving) === 'kourier'
  if (served.smmr && kourier)
    rows.push(
      fromPlanner(
        'mesh',
        'member roll',
        `knmesh add-namespace NAMESPACE --kourier${flag}`,
        `${roll.length} members; Kourier is the ingress, so the Knative system namespaces stay outside the mesh (1.6)`,
        () => planMembers(s.members, {meshNamespace: mesh, kourier: true}),
        () => `no ServiceMeshMemberRoll in ${mesh}`,
      ),
    )
  else if (served.smmr)
    rows.push(
      fromPlanner(
        'mesh',
        'member roll',
        `knmesh add-namespace ${(missingMembers.length ? missingMembers : REQUIRED_MEMBERS).join(' ')}${flag}`,
        `${roll.length} members, including ${REQUIRED_MEMBERS.join(' and ')}`,
        () => planMembers(s.members, {meshNamespace: mesh}),
        () => (s.members.smmr ? `${missingMembers.join(' and ')} not members` : `no ServiceMeshMemberRoll in ${mesh}`),
      ),
    )
  // Members the Service Mesh Operator has not configured yet get no sidecars.
  if (served.smmr && s.members.smmr) {
    const pending = pendingMembers(s.members.smmr)
    if (!s.members.smmr.status) {
      rows.push({
        area: 'mesh',
        check: 'members configured',
        state: 'warning',
        detail: `the Service Mesh Operator has not reported the status of ${mesh}/default yet: which members have sidecars is unknown`,
      })
    } else if (pending.length) {
      rows.push({
        area: 'mesh',
        check: 'members configured',
        state: 'warning',
        detail: pendingText(pending),
        fix: 'wait for the Service Mesh Operator (ServiceMeshMemberRoll status.conditions say why a member is pending), then restart their pods',
      })
    } else {
      rows.push({area: 'mesh', check: 'members configured', state: 'ok', detail: `all ${roll.length} members configured by the Service Mesh Operator`})
    }
  }

  // 1.3: the certificate.
  rows.push(certificateRow(s.certSecret, s.domain, mesh, flag))

  // 1.4.2 steps 4-5: the gateways (a 443 conflict is precheck's row; here only the objects).
  if (served.gateway)
    rows.push(
      fromPlanner(
        'gateways',
        'knative gateways and local gateway service',
        `knmesh create-gateways${flag}`,
        'knative-ingress-gateway, knative-local-gateway and their Service match the guide',
        () =>
          planGateways(s.gateways, {
            meshNamespace: mesh,
            secret: s.gateways.ingress?.spec?.servers?.[0]?.tls?.credentialName ?? DEFAULT_CERT_SECRET,
            force: true,
          }),
      ),
    )

  // 1.4.3: KnativeServing, KnativeEventing, KnativeKafka, the Kafka ServiceEntry — one row each.
  const istio = s.istio
  if (istio) rows.push(...serverlessRows(planEnableIstio(istio, {meshNamespace: mesh, eventing: true}), istio, flag))

  rows.push(...(s.extra ?? []))

  // Chapter 2: tenants (optional: a cluster without tenants passes).
  const tstate = {policies: s.view.policies, smmr: s.members.smmr, namespaces: s.members.namespaces}
  rows.push(
    ...tenantAreaRows(s.view, flag, {
      plan: (input) => planTenantAuthz(tstate, input),
      chart: true,
      outside: (t) => t.namespaces.filter((ns) => !roll.includes(ns)),
      outsideText: 'not in the member roll',
    }),
  )
  return rows
}

/** The failure rows of statusRows (status exits 1 when there is any). Pure; throws nothing. */
/**
 * The certificate row (guide 1.3): the TLS Secret `certSecret` of namespace `namespace` (where the gateway pods run:
 * the mesh namespace on Service Mesh 2, knative-serving-ingress on 3) exists and is valid for `domain`.
 * `certSecret` undefined: not readable (a warning).
 */
export function certificateRow(certSecret: KObject | null | undefined, domain: string | null, namespace: string, flag: string): StatusRow {
  if (certSecret === undefined)
    return {area: 'certificates', check: DEFAULT_CERT_SECRET, state: 'warning', detail: `cannot read Secret ${namespace}/${DEFAULT_CERT_SECRET} (forbidden)`}
  if (!certSecret)
    return {
      area: 'certificates',
      check: DEFAULT_CERT_SECRET,
      state: 'failure',
      detail: `no Secret ${namespace}/${DEFAULT_CERT_SECRET}`,
      fix: `knmesh certs${flag}`,
    }
  if (!domain)
    return {
      area: 'certificates',
      check: DEFAULT_CERT_SECRET,
      state: 'warning',
      detail: 'present; the cluster domain is unknown, so the name was not checked',
      fix: 'knmesh certs --domain DOMAIN',
    }
  const v = inspectSecret(certSecret, domain)
  return {
    area: 'certificates',
    check: DEFAULT_CERT_SECRET,
    state: v.usable ? 'ok' : 'failure',
    detail: v.reason,
    ...(v.usable ? {} : {fix: `knmesh certs --rotate${flag}`}),
  }
}

/** The serverless rows (guide 1.4.3): one per object enable-istio's plan covers, and the optional components absent. */
export function serverlessRows(plan: Plan, istio: IstioState, flag: string): StatusRow[] {
  const rows: StatusRow[] = []
  const pending = new Set(wouldChange(plan))
  for (const item of plan.items) {
    const obj = (item.desired ?? item.live)!
    const change = [...pending].find((c) => c.endsWith(' ' + key(obj)))
    rows.push({
      area: 'serverless',
      check: `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`,
      state: change ? 'failure' : 'ok',
      detail: change ? `Istio integration settings missing: would ${change}` : 'Istio integration settings as in the guide',
      ...(change ? {fix: `knmesh enable-istio${flag}`} : {}),
    })
  }
  if (!istio.eventing) rows.push({area: 'serverless', check: 'KnativeEventing', state: 'ok', detail: 'not installed (optional)'})
  if (!istio.kafka) rows.push({area: 'serverless', check: 'KnativeKafka', state: 'ok', detail: 'not installed (optional)'})
  return rows
}

/**
 * The tenants rows (guide chapter 2): the cluster-wide policies, one row per tenant (as tenant-authz renders it for the
 * generation: `plan`), its namespaces outside the mesh (`outside`, said as `outsideText`), and the cross-tenant matrix
 * of probe. `chart`: compare field for field with the chart's render (Service Mesh 2's chart 1.32).
 */
export function tenantAreaRows(
  view: MeshView,
  flag: string,
  opts: {plan: (input: TenantAuthzInput) => Plan; chart: boolean; outside: (t: TenantInfo) => string[]; outsideText: string},
): StatusRow[] {
  const rows: StatusRow[] = []
  const mesh = view.meshNamespace
  const tenants = tenantsOf(view.policies)
  const domain = DEFAULT_CLUSTER_DOMAIN
  if (tenants.length === 0) return [{area: 'tenants', check: 'tenant isolation', state: 'ok', detail: 'no tenants defined (chapter 2 is optional)'}]
  rows.push(
    fromPlanner(
      'tenants',
      'cluster-wide policies (2.3 step 2)',
      `knmesh tenant-authz --defaults${flag}`,
      'deny-all-by-default and the system allow policies are in place',
      () => opts.plan({defaults: true, meshNamespace: mesh, clusterDomain: domain}),
      (changes) => `${changes.length} missing or different: ${changes.slice(0, 3).join('; ')}${changes.length > 3 ? '; …' : ''}`,
    ),
  )
  for (const t of tenants) {
    const fix = `knmesh tenant-authz ${t.name} --namespaces ${t.namespaces.join(',')}${flag}`
    const row = fromPlanner(
      'tenants',
      `tenant ${t.name}`,
      fix,
      `${t.namespaces.join(', ')}: ${t.policies.length} policies as ${opts.chart ? 'the chart renders them' : 'tenant-authz renders them'}`,
      () => opts.plan({tenant: t.name, meshNamespace: mesh, clusterDomain: domain}),
    )
    // "as the chart renders them" only when it holds field for field: the planner keeps spec fields it does not own.
    const diffs = row.state === 'ok' && opts.chart ? chartDifferences(t, mesh, domain) : []
    if (diffs.length) {
      row.state = 'warning'
      row.detail = `${t.namespaces.join(', ')}: ${t.policies.length} policies with the chart's rules, but ${diffs.slice(0, 3).join('; ')}${diffs.length > 3 ? `; … (${diffs.length - 3} more)` : ''}`
      row.fix = 'remove the fields the chart does not set: oc edit authorizationpolicy -n NAMESPACE NAME'
    }
    rows.push(row)
    const outside = opts.outside(t)
    if (outside.length) {
      rows.push({
        area: 'tenants',
        check: `tenant ${t.name} in the mesh`,
        state: 'failure',
        detail: `${outside.join(', ')} ${opts.outsideText}: no sidecar enforces the policies`,
        fix: `knmesh add-namespace ${outside.join(' ')}${flag}`,
      })
    }
  }
  const m = tenantMatrix(view)
  if (m.violations.length === 0) {
    rows.push({
      area: 'tenants',
      check: 'cross-tenant matrix',
      state: 'ok',
      detail: `${m.namespaces.length} namespaces of ${m.tenants.length} tenants: ${m.cells.length} pairs as expected`,
    })
  } else {
    for (const v of m.violations.slice(0, 10)) {
      rows.push({
        area: 'tenants',
        check: `${v.from} -> ${v.to}`,
        state: 'failure',
        detail: `predicted ${v.verdict}, expected ${v.expected}: ${v.reason}`,
        fix: `knmesh probe --from ${v.from} --to ${v.to}`,
      })
    }
    if (m.violations.length > 10)
      rows.push({
        area: 'tenants',
        check: 'cross-tenant matrix',
        state: 'failure',
        detail: `${m.violations.length - 10} more pairs break isolation`,
        fix: 'knmesh probe --matrix',
      })
  }
  return rows
}

export function statusFailed(rows: StatusRow[]): StatusRow[] {
  return rows.filter((r) => r.state === 'failure')
}
