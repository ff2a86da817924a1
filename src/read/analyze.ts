import type {KubeClient} from '../kube/client.js'
import {Kinds, type KindInfo} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_SERVING, SMMR_NAME} from '../mesh/constants.js'
import {gpuLimitOf, containersOf} from '../mesh/gpu.js'
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
 */
export async function readAnalyze(client: KubeClient, meshNamespace: string): Promise<AnalyzeState> {
  const list = (info: KindInfo, ns?: string) => unlessForbidden(client.listIfServed(info, ns)).then((x) => x ?? [])
  const [smcps, memberRolls, gateways, workloads, configIstio, istio, serviceEntries, policies, peerAuthentications, networkPolicies, knativeServices, revisions, kingresses, meshServices] = await Promise.all([
    list(Kinds.ServiceMeshControlPlane, meshNamespace),
    list(Kinds.ServiceMeshMemberRoll),
    list(Kinds.Gateway),
    Promise.all([list(Kinds.Deployment), list(Kinds.StatefulSet), list(Kinds.DaemonSet)]).then((x) => x.flat()),
    unlessForbidden(client.get(Kinds.ConfigMap, 'config-istio', KNATIVE_SERVING)),
    // Not served (no Serverless Operator): precheck says so.
    tolerate(readIstio(client, {eventing: true}), 'forbidden', 'not-served'),
    list(Kinds.ServiceEntry),
    list(Kinds.AuthorizationPolicy),
    list(Kinds.PeerAuthentication),
    list(Kinds.NetworkPolicy, KNATIVE_SERVING),
    list(Kinds.KnativeService),
    list(Kinds.Revision),
    list(Kinds.KIngress),
    list(Kinds.Service, meshNamespace),
  ])
  const smmr = memberRolls.find((r) => r.metadata.namespace === meshNamespace && r.metadata.name === SMMR_NAME) ?? null
  const serving = istio?.serving ?? null
  const partial = {meshNamespace, workloads, knativeServices, revisions}
  // Second round: Services of the namespaces config-istio names, Secrets where gateway pods run, nodes for GPU limits.
  const hostNamespaces = [...new Set(configGatewayHosts({serving, configIstio}).map((h) => serviceOfHost(h.host)?.namespace).filter((n): n is string => Boolean(n) && n !== meshNamespace))]
  const secretNamespaces = [...new Set(gateways.filter((g) => (g.spec?.servers ?? []).some((x: {tls?: {credentialName?: string}}) => x?.tls?.credentialName)).flatMap((g) => gatewayNamespaces(partial, g)))]
  const wantsGpus = knativeServices.some((k) => containersOf(k).some((c) => gpuLimitOf(c) > 0))
  const [otherServices, secrets, nodes] = await Promise.all([
    Promise.all(hostNamespaces.map((ns) => list(Kinds.Service, ns))).then((x) => x.flat()),
    Promise.all(secretNamespaces.map((ns) => unlessForbidden(client.listAll(Kinds.Secret, ns)))).then((x) => (x.some((l) => l === null) ? null : (x as KObject[][]).flat())),
    wantsGpus ? readNodes(client) : Promise.resolve(null),
  ])
  return {
    meshNamespace,
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
