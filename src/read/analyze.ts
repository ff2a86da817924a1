import type {KubeClient} from '../kube/client.js'
import {Kinds, type KindInfo} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_SERVING, SMMR_NAME} from '../mesh/constants.js'
import {KNATIVE_GATEWAY_NAMESPACE_3, type GenerationDecision, type GenerationFacts, type MeshGeneration} from '../mesh/generation.js'
import {gpuLimitOf, containersOf} from '../mesh/gpu.js'
import {ROUTE_INGRESS_LABEL} from '../mesh/migrate.js'
import {readIstio} from './install.js'
import {readNodes} from './workloads.js'
import {tolerate, unlessForbidden} from './tolerate.js'
import {configGatewayHosts, gatewayNamespaces, serviceOfHost} from '../mesh/analyze/gateways.js'
import type {AnalyzeState} from '../mesh/analyze/types.js'

/**
 * The one read of analyze: every kind listed once, cluster-wide (paged), in
 * parallel; then the few lists that depend on the first ones (the Secrets and
 * Services of the namespaces the gateways and config-istio name, nodes when a
 * Knative Service asks for GPUs). The number of requests does not grow with
 * the number of namespaces, Knative Services or policies.
 * Kinds not served, and lists this user may not make, read as empty.
 *
 * Service Mesh 3 (`generation` 3): no SMCP or member roll is read; instead the Namespaces (injection labels), the
 * Routes of the mesh namespace labelled serving.knative.openshift.io/ingressName, the Services of
 * knative-serving-ingress, the Secrets of the mesh namespace (a 2.x wildcard-certs left there), and the
 * AuthorizationPolicies and PeerAuthentications as security.istio.io/v1 (as tenant-authz and configure-mesh read them there). `istio`/`istios`
 * come from the generation decision (src/read/generation.ts), already read.
 */
export async function readAnalyze(
  client: KubeClient,
  meshNamespace: string,
  generation: MeshGeneration = 2,
  mesh3: {istio: KObject | null; istios: KObject[]} = {istio: null, istios: []},
): Promise<AnalyzeState> {
  const three = generation === 3
  const list = (info: KindInfo, ns?: string, labelSelector?: string) =>
    unlessForbidden(client.listIfServed(info, ns, labelSelector ? {labelSelector} : {})).then((x) => x ?? [])
  const none = Promise.resolve([] as KObject[])
  const [
    smcps,
    memberRolls,
    gateways,
    workloads,
    configIstio,
    istio,
    serviceEntries,
    policies,
    peerAuthentications,
    networkPolicies,
    knativeServices,
    revisions,
    kingresses,
    meshServices,
    namespaces,
    routes,
  ] = await Promise.all([
    three ? none : list(Kinds.ServiceMeshControlPlane, meshNamespace),
    three ? none : list(Kinds.ServiceMeshMemberRoll),
    list(Kinds.Gateway),
    Promise.all([list(Kinds.Deployment), list(Kinds.StatefulSet), list(Kinds.DaemonSet)]).then((x) => x.flat()),
    unlessForbidden(client.get(Kinds.ConfigMap, 'config-istio', KNATIVE_SERVING)),
    // Not served (no Serverless Operator): precheck says so.
    tolerate(readIstio(client, {eventing: true}), 'forbidden', 'not-served'),
    list(Kinds.ServiceEntry),
    list(three ? Kinds.AuthorizationPolicyV1 : Kinds.AuthorizationPolicy),
    list(three ? Kinds.PeerAuthenticationV1 : Kinds.PeerAuthentication),
    list(Kinds.NetworkPolicy, KNATIVE_SERVING),
    list(Kinds.KnativeService),
    list(Kinds.Revision),
    list(Kinds.KIngress),
    list(Kinds.Service, meshNamespace),
    three ? unlessForbidden(client.listAll(Kinds.Namespace)) : Promise.resolve(null),
    three ? list(Kinds.Route, meshNamespace, ROUTE_INGRESS_LABEL) : none,
  ])
  const smmr = memberRolls.find((r) => r.metadata.namespace === meshNamespace && r.metadata.name === SMMR_NAME) ?? null
  const serving = istio?.serving ?? null
  const partial = {meshNamespace, generation, workloads, knativeServices, revisions}
  // Second round: Services of the namespaces config-istio names (and of knative-serving-ingress on 3), Secrets where
  // gateway pods run (and of the mesh namespace on 3), nodes for GPU limits.
  const hosts = configGatewayHosts({serving, configIstio}).map((h) => serviceOfHost(h.host)?.namespace)
  const hostNamespaces = [...new Set([...hosts, ...(three ? [KNATIVE_GATEWAY_NAMESPACE_3] : [])].filter((n): n is string => Boolean(n) && n !== meshNamespace))]
  const tlsGateways = gateways.filter((g) => (g.spec?.servers ?? []).some((x: {tls?: {credentialName?: string}}) => x?.tls?.credentialName))
  const secretNamespaces = [...new Set([...tlsGateways.flatMap((g) => gatewayNamespaces(partial, g)), ...(three && tlsGateways.length ? [meshNamespace] : [])])]
  const wantsGpus = knativeServices.some((k) => containersOf(k).some((c) => gpuLimitOf(c) > 0))
  const [otherServices, secrets, nodes] = await Promise.all([
    Promise.all(hostNamespaces.map((ns) => list(Kinds.Service, ns))).then((x) => x.flat()),
    Promise.all(secretNamespaces.map((ns) => unlessForbidden(client.listAll(Kinds.Secret, ns)))).then((x) =>
      x.some((l) => l === null) ? null : (x as KObject[][]).flat(),
    ),
    wantsGpus ? readNodes(client) : Promise.resolve(null),
  ])
  return {
    meshNamespace,
    generation,
    mesh3: three ? {istio: mesh3.istio, istios: mesh3.istios, namespaces: namespaces && new Map(namespaces.map((n) => [n.metadata.name, n])), routes} : null,
    smcps,
    smmr,
    memberRolls,
    gateways,
    services: [...meshServices, ...otherServices],
    secrets,
    workloads,
    configIstio,
    serving,
    eventing: istio?.eventing ?? null,
    kafka: istio?.kafka ?? null,
    serviceEntries,
    policies,
    peerAuthentications,
    networkPolicies,
    knativeServices,
    revisions,
    kingresses,
    nodes,
  }
}

/**
 * analyze's reader for the generation decided (src/read/generation.ts): readAnalyze on 2 (also when neither control
 * plane is there), its Service Mesh 3 reads on 3, with the Istio of the decision and every Istio of its facts.
 */
export function readAnalyzeFor(
  client: KubeClient,
  meshNamespace: string,
  decision: Pick<GenerationDecision, 'generation' | 'istio'> & {facts?: GenerationFacts},
): Promise<AnalyzeState> {
  if (decision.generation !== 3) return readAnalyze(client, meshNamespace, 2)
  return readAnalyze(client, meshNamespace, 3, {istio: decision.istio, istios: decision.facts?.istios ?? (decision.istio ? [decision.istio] : [])})
}
