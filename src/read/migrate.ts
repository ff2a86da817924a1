import type {KubeClient} from '../kube/client.js'
import {Kinds, type KindInfo} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_EVENTING, KNATIVE_SERVING} from '../mesh/constants.js'
import {KNATIVE_KAFKA} from '../mesh/istio.js'
import {credentialName, indexObjects, INGRESS_NAMESPACE_3, ROUTE_INGRESS_LABEL, type MigrationState} from '../mesh/migrate.js'
import {servedIstioVersions} from './generation.js'
import {tolerate} from './tolerate.js'

/**
 * migrate-mesh's reader (src/mesh/migrate.ts MigrationState): one request per collection or object, all at once,
 * then the TLS Secret the ingress Gateway names, in the mesh namespace and in knative-serving-ingress. A kind that
 * is not served reads as none. To give a wired Service Mesh 3 planner more to read, add its list to `reads`.
 */
export async function readMigration(client: KubeClient, meshNamespace: string): Promise<MigrationState> {
  const [maistraServed, sailServed] = await Promise.all([client.isServed(Kinds.ServiceMeshControlPlane), client.isServed(Kinds.Istio)])
  const list = (kind: KindInfo, namespace?: string, labelSelector?: string) =>
    tolerate(client.listAll(kind, namespace, labelSelector ? {labelSelector} : {}), 'not-served')
  const get = (kind: KindInfo, name: string, namespace?: string) => tolerate(client.get(kind, name, namespace), 'not-served')
  // With the Sail operator installed its Istio 1.27 CRDs serve networking/security.istio.io v1: read (and so write) that.
  const v1 = sailServed
  const reads: Promise<KObject[] | KObject | null>[] = [
    maistraServed ? list(Kinds.ServiceMeshControlPlane, meshNamespace) : Promise.resolve(null),
    maistraServed ? list(Kinds.ServiceMeshMemberRoll, meshNamespace) : Promise.resolve(null),
    maistraServed ? list(Kinds.ServiceMeshMember) : Promise.resolve(null),
    sailServed ? list(Kinds.Istio) : Promise.resolve(null),
    sailServed ? list(Kinds.IstioCNI) : Promise.resolve(null),
    list(Kinds.Namespace),
    list(v1 ? Kinds.GatewayV1 : Kinds.Gateway),
    list(Kinds.Service, meshNamespace),
    list(Kinds.Service, INGRESS_NAMESPACE_3),
    list(Kinds.Route, meshNamespace, ROUTE_INGRESS_LABEL),
    list(Kinds.Route, INGRESS_NAMESPACE_3, ROUTE_INGRESS_LABEL),
    list(v1 ? Kinds.ServiceEntryV1 : Kinds.ServiceEntry),
    list(v1 ? Kinds.AuthorizationPolicyV1 : Kinds.AuthorizationPolicy),
    list(Kinds.PeerAuthenticationV1, meshNamespace),
    // For the wired Service Mesh 3 planners (src/mesh/migrate-planners.ts): the gateway's workload objects and the
    // PeerAuthentications of knative-serving (tenant-authz's autoscaler-permissive).
    list(Kinds.Deployment, INGRESS_NAMESPACE_3),
    list(Kinds.Role, INGRESS_NAMESPACE_3),
    list(Kinds.RoleBinding, INGRESS_NAMESPACE_3),
    list(Kinds.PeerAuthenticationV1, KNATIVE_SERVING),
    list(Kinds.KnativeService),
    get(Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING),
    get(Kinds.KnativeEventing, KNATIVE_EVENTING, KNATIVE_EVENTING),
    get(Kinds.KnativeKafka, KNATIVE_KAFKA, KNATIVE_EVENTING),
  ]
  const [results, istioVersions] = await Promise.all([Promise.all(reads), sailServed ? servedIstioVersions(client) : null])
  const objects = results.flatMap((r) => (r === null ? [] : Array.isArray(r) ? r : [r]))
  const state: MigrationState = {meshNamespace, maistraServed, sailServed, istioVersions, objects: indexObjects(objects)}
  const secret = credentialName(state)
  const secrets = await Promise.all([meshNamespace, INGRESS_NAMESPACE_3].map((ns) => tolerate(client.get(Kinds.Secret, secret, ns), 'forbidden')))
  for (const s of secrets) if (s) state.objects = new Map([...state.objects, ...indexObjects([s])])
  return state
}
