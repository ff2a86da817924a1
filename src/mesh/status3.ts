import type {KObject} from '../kube/types.js'
import {meshAnnotationFindings3} from './annotate3.js'
import {meshFlag} from './constants.js'
import {DEFAULT_CERT_SECRET} from './gateways.js'
import {GATEWAY_NAMESPACE, planGateways3, type Gateways3State} from './gateways3.js'
import {planEnableIstio3, type Istio3State} from './istio3.js'
import {injectedNamespace} from './members3.js'
import {precheckChecks, type PrecheckState} from './precheck.js'
import type {MeshView} from './probe.js'
import {istioFindings, planConfigureMesh3, type Mesh3State} from './sail.js'
import {certificateRow, fromPlanner, serverlessRows, tenantAreaRows, type StatusRow} from './status.js'
import {extraRows, type StatusExtrasState} from './status-rows.js'
import {planTenantAuthz3, type TenantAuthz3State} from './tenant-authz3.js'

/**
 * status on Service Mesh 3 (docs/reference/service-mesh-3.md §1.1): every row of the Service Mesh 2 status, each
 * asked of the verb's Service Mesh 3 planner or check — precheck's Sail rows, configure-mesh's Istio and mesh-wide
 * PeerAuthentication, the certificate in knative-serving-ingress, create-gateways' objects there, enable-istio's
 * labels, enable-metrics, filter-secrets, annotate-services' inject label in the namespaces labeled for injection,
 * tenant-authz's v1 policies and probe's matrix. A planner that would change something is a finding.
 */
export interface Status3State {
  meshNamespace: string
  precheck: PrecheckState
  /** configure-mesh's state: the Istio and the PeerAuthentications of the mesh namespace. */
  mesh3: Mesh3State
  gateways: Gateways3State
  /** enable-istio's state; null: KnativeServing is not served (precheck's rows say so). */
  istio: Istio3State | null
  /** tenant-authz's state (v1 policies, Namespaces, KnativeServing readiness). */
  authz: TenantAuthz3State
  /** probe's view (mesh3 set). */
  view: MeshView
  /** The TLS Secret in knative-serving-ingress (undefined: not readable). */
  certSecret: KObject | null | undefined
  domain: string | null
  /** The operating verbs' state (src/read/status.ts readStatusExtras). */
  extras: StatusExtrasState
  /** Rows contributed by other areas (analyze). */
  extra?: StatusRow[]
}

/** The namespaces labeled for the Istio's injection (the Service Mesh 3 "members"), sorted. */
export function injectedNamespaces(s: Pick<Status3State, 'authz'>): string[] {
  const istio = s.authz.istio
  return [...(s.authz.namespaces?.values() ?? [])]
    .filter((n) => injectedNamespace(n, istio))
    .map((n) => n.metadata.name)
    .sort()
}

/** Every status row on Service Mesh 3, in the guide's order. Pure; never throws (a planner's refusal is its row). */
export function statusRows3(s: Status3State): StatusRow[] {
  const mesh = s.meshNamespace
  const flag = meshFlag(mesh)
  const rows: StatusRow[] = []
  for (const c of precheckChecks(s.precheck)) rows.push({area: 'prerequisites', check: c.id, state: c.status, detail: c.detail, ...(c.fix ? {fix: c.fix} : {})})

  const istioName = s.mesh3.istio?.metadata.name ?? 'Istio'
  rows.push(
    fromPlanner(
      'mesh',
      'control plane settings',
      `knmesh configure-mesh${flag}`,
      `Istio ${istioName}: drain at least 35s, excluded ports 8444/8022, mesh-wide mTLS STRICT`,
      () => planConfigureMesh3(s.mesh3),
      () => `Istio ${istioName}: ${istioFindings(s.mesh3).join('; ')}`,
    ),
  )
  const members = injectedNamespaces(s)
  rows.push({
    area: 'mesh',
    check: 'namespaces in the mesh',
    state: 'ok',
    detail: members.length
      ? `${members.length} labeled for injection: ${members.slice(0, 8).join(', ')}${members.length > 8 ? ', …' : ''}`
      : "none labeled for injection yet (Knative's own pods are injected by pod labels)",
  })

  rows.push(certificateRow(s.certSecret, s.domain, GATEWAY_NAMESPACE, flag))

  const secret = s.gateways.ingress?.spec?.servers?.[0]?.tls?.credentialName ?? DEFAULT_CERT_SECRET
  rows.push(
    fromPlanner(
      'gateways',
      `gateway in ${GATEWAY_NAMESPACE}`,
      `knmesh create-gateways${flag}`,
      `the gateway Deployment, its RBAC and Services in ${GATEWAY_NAMESPACE}, knative-ingress-gateway and knative-local-gateway match`,
      () => planGateways3(s.gateways, {meshNamespace: mesh, secret, force: true}),
    ),
  )

  if (s.istio) rows.push(...serverlessRows(planEnableIstio3(s.istio, {meshNamespace: mesh, eventing: true}), s.istio, flag))

  rows.push(
    ...extraRows({meshNamespace: mesh, istio: s.istio}, s.extras, {
      namespaces: members,
      findings: meshAnnotationFindings3,
      what: 'the Service Mesh 3 inject label and annotations',
    }),
  )
  rows.push(...(s.extra ?? []))

  rows.push(
    ...tenantAreaRows(s.view, flag, {
      plan: (input) => planTenantAuthz3(s.authz, input),
      chart: false,
      outside: (t) => t.namespaces.filter((ns) => !injectedNamespace(s.authz.namespaces?.get(ns), s.authz.istio)),
      outsideText: 'not labeled for injection',
    }),
  )
  return rows
}
