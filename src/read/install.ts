import type {KubeClient} from '../kube/client.js'
import {Kinds, type KindInfo} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_EVENTING, KNATIVE_SERVING} from '../mesh/constants.js'
import {INGRESS_GATEWAY, LOCAL_GATEWAY, type GatewaysState} from '../mesh/gateways.js'
import {KAFKA_SERVICE_ENTRY, KNATIVE_KAFKA, type IstioState} from '../mesh/istio.js'
import type {PrecheckState, PrerequisiteKind} from '../mesh/precheck.js'
import type {MeshState} from '../mesh/smcp.js'
import type {Mesh3State} from '../mesh/sail.js'
import type {ConfigureMeshState} from '../mesh/configure.js'
import {KNATIVE_GATEWAY_NAMESPACE_3, type GenerationDecision, type GenerationFacts} from '../mesh/generation.js'
import {ISTIO_CNI_NAME, KNATIVE_INGRESS_SERVICE_3, type Precheck3State} from '../mesh/precheck3.js'
import {servedIstioVersions} from './generation.js'
import {readPartOfNamespaces} from './members.js'
import {unlessForbidden} from './tolerate.js'

/**
 * Readers for the installation verbs (precheck, certs, configure-mesh,
 * create-gateways, enable-istio): one request per object or collection,
 * cluster-wide lists instead of per-namespace loops.
 */

const PREREQ_KINDS: Record<PrerequisiteKind, KindInfo> = {
  smcp: Kinds.ServiceMeshControlPlane,
  smmr: Kinds.ServiceMeshMemberRoll,
  gateway: Kinds.Gateway,
  knativeServing: Kinds.KnativeServing,
  knativeEventing: Kinds.KnativeEventing,
  knativeKafka: Kinds.KnativeKafka,
  istio: Kinds.Istio,
  istioCni: Kinds.IstioCNI,
}

/** GET that answers null when the kind is not served or the object is absent. */
async function getIfServed(client: KubeClient, info: KindInfo, name: string, namespace?: string): Promise<KObject | null> {
  if (!(await client.isServed(info))) return null
  return client.get(info, name, namespace)
}

/**
 * precheck's state. `generation`: the decision of src/read/generation.ts (with its facts); on Service Mesh 3 the
 * IstioCNI, the served Istio versions, knative-serving-ingress and its gateway Service are read too.
 */
export async function readPrecheck(client: KubeClient, meshNamespace: string, generation?: GenerationDecision & {facts?: GenerationFacts}): Promise<PrecheckState> {
  const entries = await Promise.all(Object.entries(PREREQ_KINDS).map(async ([k, info]) => [k, await client.isServed(info)] as const))
  const served = Object.fromEntries(entries) as Record<PrerequisiteKind, boolean>
  const [smcps, memberRolls, gateways, ingressService, serving, servingNamespaces] = await Promise.all([
    served.smcp ? client.listAll(Kinds.ServiceMeshControlPlane, meshNamespace) : null,
    served.smmr ? client.listAll(Kinds.ServiceMeshMemberRoll) : null,
    served.gateway ? client.listAll(Kinds.Gateway) : null,
    client.get(Kinds.Service, 'istio-ingressgateway', meshNamespace),
    // For the Kourier checks (guide 1.6): which ingress runs, and the two namespaces' labels.
    served.knativeServing ? unlessForbidden(client.get(Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING)) : null,
    readPartOfNamespaces(client),
  ])
  const mesh3 = generation?.generation === 3 && generation.facts ? await readPrecheck3(client, generation.istio, generation.facts) : undefined
  return {
    meshNamespace,
    served,
    smcps,
    memberRolls,
    gateways,
    ingressService,
    serving,
    servingNamespaces,
    generation: generation?.generation,
    ...(mesh3 ? {mesh3} : {}),
  }
}

/** Service Mesh 3's control plane for precheck (src/mesh/precheck3.ts): four GETs. */
async function readPrecheck3(client: KubeClient, istio: KObject | null, facts: GenerationFacts): Promise<Precheck3State> {
  const [istioCni, istioVersions, ingressNamespace, gatewayService] = await Promise.all([
    getIfServed(client, Kinds.IstioCNI, ISTIO_CNI_NAME),
    servedIstioVersions(client),
    unlessForbidden(client.get(Kinds.Namespace, KNATIVE_GATEWAY_NAMESPACE_3)),
    unlessForbidden(client.get(Kinds.Service, KNATIVE_INGRESS_SERVICE_3, KNATIVE_GATEWAY_NAMESPACE_3)),
  ])
  return {facts, istio, istioCni, istioVersions, ingressNamespace, gatewayService}
}

export async function readMesh(client: KubeClient, meshNamespace: string): Promise<MeshState> {
  return {smcps: await client.listAll(Kinds.ServiceMeshControlPlane, meshNamespace)}
}

/**
 * Service Mesh 3's control plane as configure-mesh sees it: the Istio `istioName` (cluster-scoped, read again
 * on every attempt; null when absent or not named) and the PeerAuthentications of the mesh namespace.
 */
export async function readMesh3(client: KubeClient, meshNamespace: string, istioName: string | null): Promise<Mesh3State> {
  const [istio, peerAuthentications] = await Promise.all([
    istioName ? client.get(Kinds.Istio, istioName) : null,
    client.listAll(Kinds.PeerAuthenticationV1, meshNamespace),
  ])
  return {meshNamespace, istio, peerAuthentications}
}

/** configure-mesh's reader for the generation decided (src/read/generation.ts). */
export async function readMeshFor(client: KubeClient, meshNamespace: string, decision: Pick<GenerationDecision, 'generation' | 'istio'>): Promise<ConfigureMeshState> {
  if (decision.generation === 3) return {generation: 3, ...(await readMesh3(client, meshNamespace, decision.istio?.metadata.name ?? null))}
  return {generation: 2, ...(await readMesh(client, meshNamespace))}
}

/** Whether a Secret exists; null when the user may not read Secrets there. */
export async function secretExists(client: KubeClient, name: string, namespace: string): Promise<boolean | null> {
  const read = await unlessForbidden(client.get(Kinds.Secret, name, namespace).then((secret) => ({secret})))
  return read === null ? null : read.secret !== null
}

export async function readGateways(client: KubeClient, meshNamespace: string, secret: string): Promise<GatewaysState> {
  const [allGateways, memberRolls, service, exists] = await Promise.all([
    client.listAll(Kinds.Gateway),
    client.listIfServed(Kinds.ServiceMeshMemberRoll),
    client.get(Kinds.Service, LOCAL_GATEWAY, meshNamespace),
    secretExists(client, secret, meshNamespace),
  ])
  const find = (name: string) => allGateways.find((g) => g.metadata.namespace === KNATIVE_SERVING && g.metadata.name === name) ?? null
  return {ingress: find(INGRESS_GATEWAY), local: find(LOCAL_GATEWAY), service, secretExists: exists, allGateways, memberRolls: memberRolls ?? []}
}

export async function readIstio(client: KubeClient, opts: {eventing: boolean}): Promise<IstioState> {
  const [serving, eventing, kafka, serviceEntry] = await Promise.all([
    client.get(Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING),
    opts.eventing ? getIfServed(client, Kinds.KnativeEventing, KNATIVE_EVENTING, KNATIVE_EVENTING) : null,
    getIfServed(client, Kinds.KnativeKafka, KNATIVE_KAFKA, KNATIVE_EVENTING),
    getIfServed(client, Kinds.ServiceEntry, KAFKA_SERVICE_ENTRY, KNATIVE_EVENTING),
  ])
  return {serving, eventing, kafka, serviceEntry}
}

/** The cluster's apps domain: ingresses.config.openshift.io/cluster spec.domain (null when absent or not served). */
export async function clusterDomain(client: KubeClient): Promise<string | null> {
  const ingress = await getIfServed(client, Kinds.IngressConfig, 'cluster')
  const d = ingress?.spec?.domain
  return typeof d === 'string' && d ? d : null
}
