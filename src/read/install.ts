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
import {ISTIO_CNI_NAME, type Precheck3State} from '../mesh/precheck3.js'
import {servedIstioVersions} from './generation.js'
import type {EnableIstioState} from '../mesh/istio3.js'
import {GATEWAY_DEPLOYMENT, GATEWAY_NAMESPACE, GATEWAY_SERVICE, SDS_ROLE, type CreateGatewaysState, type Gateways3State} from '../mesh/gateways3.js'
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
export async function readPrecheck(
  client: KubeClient,
  meshNamespace: string,
  generation?: GenerationDecision & {facts?: GenerationFacts},
): Promise<PrecheckState> {
  const entries = await Promise.all(Object.entries(PREREQ_KINDS).map(async ([k, info]) => [k, await client.isServed(info)] as const))
  const served = Object.fromEntries(entries) as Record<PrerequisiteKind, boolean>
  const [smcps, memberRolls, gateways, ingressService, serving, servingNamespaces] = await Promise.all([
    served.smcp ? client.listAll(Kinds.ServiceMeshControlPlane, meshNamespace) : null,
    served.smmr ? client.listAll(Kinds.ServiceMeshMemberRoll) : null,
    // On Service Mesh 3 as create-gateways reads them (v1 when served), so status's shared reads send the list once.
    served.gateway ? client.listAll(generation?.generation === 3 ? await gatewayKindServed(client) : Kinds.Gateway) : null,
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
    unlessForbidden(client.get(Kinds.Service, GATEWAY_SERVICE, KNATIVE_GATEWAY_NAMESPACE_3)),
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
export async function readMeshFor(
  client: KubeClient,
  meshNamespace: string,
  decision: Pick<GenerationDecision, 'generation' | 'istio'>,
): Promise<ConfigureMeshState> {
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

/** The Gateway apiVersion to write: networking.istio.io/v1 when served (Service Mesh 3's Istio 1.27), else v1alpha3. */
export async function gatewayKindServed(client: KubeClient): Promise<KindInfo> {
  return (await client.isServed(Kinds.GatewayV1)) ? Kinds.GatewayV1 : Kinds.Gateway
}

/**
 * Service Mesh 3's Knative gateway as create-gateways sees it (src/mesh/gateways3.ts): the Istio `istioName`, the
 * objects in knative-serving-ingress (absent namespace: all null), the two Gateways of knative-serving from one
 * cluster-wide list (the 443 conflict check needs it) of the apiVersion written, and whether the credential Secret
 * is in knative-serving-ingress.
 */
export async function readGateways3(client: KubeClient, meshNamespace: string, istioName: string | null, secret: string): Promise<Gateways3State> {
  const gatewayKind = await gatewayKindServed(client)
  const ns = GATEWAY_NAMESPACE
  const [istio, namespace, allGateways, deployment, role, roleBinding, ingressService, localService, exists] = await Promise.all([
    istioName ? client.get(Kinds.Istio, istioName) : null,
    client.get(Kinds.Namespace, ns),
    client.listAll(gatewayKind),
    client.get(Kinds.Deployment, GATEWAY_DEPLOYMENT, ns),
    client.get(Kinds.Role, SDS_ROLE, ns),
    client.get(Kinds.RoleBinding, SDS_ROLE, ns),
    client.get(Kinds.Service, GATEWAY_SERVICE, ns),
    client.get(Kinds.Service, LOCAL_GATEWAY, ns),
    secretExists(client, secret, ns),
  ])
  const find = (name: string) => allGateways.find((g) => g.metadata.namespace === KNATIVE_SERVING && g.metadata.name === name) ?? null
  return {
    meshNamespace,
    istio,
    gatewayKind,
    namespace,
    deployment,
    role,
    roleBinding,
    ingressService,
    localService,
    ingress: find(INGRESS_GATEWAY),
    local: find(LOCAL_GATEWAY),
    secretExists: exists,
    allGateways,
  }
}

/** create-gateways' reader for the generation decided (src/read/generation.ts). */
export async function readGatewaysFor(
  client: KubeClient,
  meshNamespace: string,
  decision: Pick<GenerationDecision, 'generation' | 'istio'>,
  secret: string,
): Promise<CreateGatewaysState> {
  if (decision.generation === 3) return {generation: 3, ...(await readGateways3(client, meshNamespace, decision.istio?.metadata.name ?? null, secret))}
  return {generation: 2, ...(await readGateways(client, meshNamespace, secret))}
}

/** enable-istio's state: the three Knative custom resources and the ServiceEntry kafka-cluster (read as `serviceEntryKind`). */
export async function readIstio(client: KubeClient, opts: {eventing: boolean}, serviceEntryKind: KindInfo = Kinds.ServiceEntry): Promise<IstioState> {
  const [serving, eventing, kafka, serviceEntry] = await Promise.all([
    client.get(Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING),
    opts.eventing ? getIfServed(client, Kinds.KnativeEventing, KNATIVE_EVENTING, KNATIVE_EVENTING) : null,
    getIfServed(client, Kinds.KnativeKafka, KNATIVE_KAFKA, KNATIVE_EVENTING),
    getIfServed(client, serviceEntryKind, KAFKA_SERVICE_ENTRY, KNATIVE_EVENTING),
  ])
  return {serving, eventing, kafka, serviceEntry}
}

/**
 * enable-istio's reader for the generation decided: on Service Mesh 3 also the Istio (its active revision) and the
 * ServiceEntry read and written as networking.istio.io/v1 when served.
 */
export async function readIstioFor(
  client: KubeClient,
  decision: Pick<GenerationDecision, 'generation' | 'istio'>,
  opts: {eventing: boolean},
): Promise<EnableIstioState> {
  if (decision.generation !== 3) return {generation: 2, ...(await readIstio(client, opts))}
  const serviceEntryKind = (await client.isServed(Kinds.ServiceEntryV1)) ? Kinds.ServiceEntryV1 : Kinds.ServiceEntry
  const name = decision.istio?.metadata.name
  const [state, istio] = await Promise.all([readIstio(client, opts, serviceEntryKind), name ? client.get(Kinds.Istio, name) : null])
  return {generation: 3, ...state, istio, serviceEntryKind}
}

/** The cluster's apps domain: ingresses.config.openshift.io/cluster spec.domain (null when absent or not served). */
export async function clusterDomain(client: KubeClient): Promise<string | null> {
  const ingress = await getIfServed(client, Kinds.IngressConfig, 'cluster')
  const d = ingress?.spec?.domain
  return typeof d === 'string' && d ? d : null
}
