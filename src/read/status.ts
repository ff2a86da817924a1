import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_SERVING, SMMR_NAME} from '../mesh/constants.js'
import {DEFAULT_CERT_SECRET, INGRESS_GATEWAY, LOCAL_GATEWAY} from '../mesh/gateways.js'
import {clusterDomain, readGateways3, readIstio, readIstioFor, readMesh3, readPrecheck} from './install.js'
import {readMeshViewFor, readTenantAuthz3} from './authz.js'
import {gatewayNamespace, type GenerationDecision, type GenerationFacts} from '../mesh/generation.js'
import {GATEWAY_NAMESPACE} from '../mesh/gateways3.js'
import type {PrecheckState} from '../mesh/precheck.js'
import type {Status3State} from '../mesh/status3.js'
import {namespaceNames} from './members.js'
import {INSTANCE_LABEL} from '../mesh/pipelines.js'
import {filteringEnabled} from '../mesh/secret-filter.js'
import {meshMtlsOf} from '../mesh/smcp.js'
import type {StatusRow, StatusState} from '../mesh/status.js'
import {extraRows, type StatusExtrasState} from '../mesh/status-rows.js'
import {readMetrics} from './metrics.js'
import {readSecretRefs} from './secrets.js'
import {tolerate, unlessForbidden} from './tolerate.js'

/**
 * One read for status: each collection once, cluster-wide (the same lists
 * precheck, create-gateways and probe read), so the number of requests does
 * not grow with the number of namespaces.
 */
export async function readStatus(client: KubeClient, meshNamespace: string): Promise<StatusState> {
  const [precheck, namespaces, localService, certSecret, istio, domain, policies, peerAuthentications] = await Promise.all([
    readPrecheck(client, meshNamespace),
    namespaceNames(client),
    client.get(Kinds.Service, LOCAL_GATEWAY, meshNamespace),
    // null: absent; undefined: not allowed to read it (the row says so).
    tolerate(
      client.get(Kinds.Secret, DEFAULT_CERT_SECRET, meshNamespace).then((secret) => ({secret})),
      'forbidden',
    ).then((r) => (r === null ? undefined : r.secret)),
    // Not served (no Serverless Operator): precheck's rows say so; the Istio rows are skipped.
    tolerate(readIstio(client, {eventing: true}), 'not-served'),
    clusterDomain(client),
    client.listIfServed(Kinds.AuthorizationPolicy),
    client.listIfServed(Kinds.PeerAuthentication),
  ])
  const smmr = precheck.memberRolls?.find((r) => r.metadata.namespace === meshNamespace && r.metadata.name === SMMR_NAME) ?? null
  const gateways = precheck.gateways ?? []
  // Gateway credential Secret and the local gateway Service are core kinds: always readable.
  const find = (name: string): KObject | null => gateways.find((g) => g.metadata.namespace === KNATIVE_SERVING && g.metadata.name === name) ?? null
  return {
    meshNamespace,
    precheck,
    members: {smmr, namespaces},
    gateways: {
      ingress: find(INGRESS_GATEWAY),
      local: find(LOCAL_GATEWAY),
      service: localService,
      secretExists: certSecret === undefined ? null : certSecret !== null,
      allGateways: gateways,
      memberRolls: precheck.memberRolls ?? [],
    },
    istio,
    domain,
    certSecret,
    view: {policies: policies ?? [], peerAuthentications: peerAuthentications ?? [], smmr, meshNamespace, meshMtls: meshMtlsOf(precheck.smcps ?? [])},
  }
}

/**
 * What the operating verbs' areas of status read, cluster-wide: enable-metrics'
 * state, every Knative Service, filter-secrets' references (with secret
 * filtering on) and the linked Pipelines (at most six requests and the
 * secret lists). Throws what the client throws, except forbidden/not served
 * where a field says so (see StatusExtrasState).
 */
export async function readStatusExtras(
  client: KubeClient,
  state: {meshNamespace: string; istio: {serving: KObject | null} | null; precheck: PrecheckState},
  decision?: Pick<GenerationDecision, 'generation' | 'istio'>,
): Promise<StatusExtrasState> {
  const mesh = state.meshNamespace
  const serving = state.istio?.serving ?? null
  const three = decision?.generation === 3
  const [metrics, services, refs, pipelines] = await Promise.all([
    // KnativeServing and the control plane not served: precheck's rows say so; the metrics row is skipped.
    state.istio && (three ? state.precheck.served.istio : state.precheck.served.smcp) ? readMetrics(client, mesh, decision) : null,
    // undefined: Knative Serving not installed (no row); null: not allowed to list.
    client.isServed(Kinds.KnativeService).then((served) => (served ? unlessForbidden(client.listAll(Kinds.KnativeService)) : undefined)),
    serving && filteringEnabled(serving)
      ? readSecretRefs(client, {meshNamespace: mesh, gatewayNamespace: gatewayNamespace(three ? 3 : 2, mesh), namespaces: null})
      : null,
    // The Tekton Pipelines the console links to an application (one list, only those with the link label).
    // Auxiliary: a list refused (forbidden, or 429 while the API server initializes a fresh CRD's storage) only
    // loses the pipeline names in the services rows; any other failure is thrown like every read's.
    tolerate(client.listIfServed(Kinds.Pipeline, undefined, {labelSelector: INSTANCE_LABEL}), 'forbidden', 'busy'),
  ])
  return {metrics, services, refs, pipelines}
}

/**
 * status's state on Service Mesh 3 (src/mesh/status3.ts): precheck's (with the Sail rows), configure-mesh's,
 * create-gateways', enable-istio's, tenant-authz's and probe's readers, then the operating verbs' (readStatusExtras).
 * Each URL is requested once per run (status shares its GETs: KubeClient.readOnce).
 */
export async function readStatus3(client: KubeClient, meshNamespace: string, decision: GenerationDecision & {facts?: GenerationFacts}): Promise<Status3State> {
  const istioName = decision.istio?.metadata.name ?? null
  const [precheck, mesh3, gateways, istio, authz, view, certSecret, domain] = await Promise.all([
    readPrecheck(client, meshNamespace, decision),
    readMesh3(client, meshNamespace, istioName),
    readGateways3(client, meshNamespace, istioName, DEFAULT_CERT_SECRET),
    tolerate(readIstioFor(client, decision, {eventing: true}), 'not-served'),
    readTenantAuthz3(client, meshNamespace, istioName),
    readMeshViewFor(client, meshNamespace, decision),
    tolerate(
      client.get(Kinds.Secret, DEFAULT_CERT_SECRET, GATEWAY_NAMESPACE).then((secret) => ({secret})),
      'forbidden',
    ).then((r) => (r === null ? undefined : r.secret)),
    clusterDomain(client),
  ])
  const istio3 = istio && istio.generation === 3 ? istio : null
  const extras = await readStatusExtras(client, {meshNamespace, istio: istio3, precheck}, decision)
  return {meshNamespace, precheck, mesh3, gateways, istio: istio3, authz, view, certSecret, domain, extras}
}

/** The metrics, secret filtering and services rows of status (reads, then mesh/status-rows extraRows). */
export async function statusExtras(client: KubeClient, state: StatusState): Promise<StatusRow[]> {
  return extraRows(state, await readStatusExtras(client, state))
}
