/** The table of kinds knmesh touches: where each is served and who installs it. */
export interface KindInfo {
  kind: string
  group: string // '' for the core group
  version: string
  plural: string
  namespaced: boolean
  /** Who serves this kind, for the "not served" error. */
  installedBy?: string
}

function k(kind: string, group: string, version: string, plural: string, namespaced: boolean, installedBy?: string): KindInfo {
  return {kind, group, version, plural, namespaced, installedBy}
}

const MESH = 'the Red Hat OpenShift Service Mesh Operator'
const SERVERLESS = 'the OpenShift Serverless Operator'
const MESH3 = 'the Red Hat OpenShift Service Mesh 3 Operator (servicemeshoperator3)'

export const Kinds = {
  Namespace: k('Namespace', '', 'v1', 'namespaces', false),
  Service: k('Service', '', 'v1', 'services', true),
  Secret: k('Secret', '', 'v1', 'secrets', true),
  Node: k('Node', '', 'v1', 'nodes', false),
  Pod: k('Pod', '', 'v1', 'pods', true),
  NetworkPolicy: k('NetworkPolicy', 'networking.k8s.io', 'v1', 'networkpolicies', true),
  ConfigMap: k('ConfigMap', '', 'v1', 'configmaps', true),
  Deployment: k('Deployment', 'apps', 'v1', 'deployments', true),
  StatefulSet: k('StatefulSet', 'apps', 'v1', 'statefulsets', true),
  DaemonSet: k('DaemonSet', 'apps', 'v1', 'daemonsets', true),
  ServiceMeshControlPlane: k('ServiceMeshControlPlane', 'maistra.io', 'v2', 'servicemeshcontrolplanes', true, MESH),
  ServiceMeshMemberRoll: k('ServiceMeshMemberRoll', 'maistra.io', 'v1', 'servicemeshmemberrolls', true, MESH),
  ServiceMeshMember: k('ServiceMeshMember', 'maistra.io', 'v1', 'servicemeshmembers', true, MESH),
  /** Service Mesh 3 (Sail operator): cluster-scoped control plane and CNI. */
  Istio: k('Istio', 'sailoperator.io', 'v1', 'istios', false, MESH3),
  IstioCNI: k('IstioCNI', 'sailoperator.io', 'v1', 'istiocnis', false, MESH3),
  /** security.istio.io/v1 (Istio 1.22+, served by Service Mesh 3's Istio 1.27 CRDs); the mesh-wide mTLS policy on mesh 3. */
  PeerAuthenticationV1: k('PeerAuthentication', 'security.istio.io', 'v1', 'peerauthentications', true, MESH3),
  /** networking.istio.io/v1 (Istio 1.22+; Service Mesh 3's Istio 1.27 CRDs store it): written on mesh 3 when served. */
  GatewayV1: k('Gateway', 'networking.istio.io', 'v1', 'gateways', true, MESH3),
  ServiceEntryV1: k('ServiceEntry', 'networking.istio.io', 'v1', 'serviceentries', true, MESH3),
  /** Service Mesh 3's gateway in knative-serving-ingress reads its TLS Secret through this Role (N2). */
  Role: k('Role', 'rbac.authorization.k8s.io', 'v1', 'roles', true),
  RoleBinding: k('RoleBinding', 'rbac.authorization.k8s.io', 'v1', 'rolebindings', true),
  /** security.istio.io/v1: the AuthorizationPolicies knmesh writes on Service Mesh 3 (same objects as v1beta1, another version). */
  AuthorizationPolicyV1: k('AuthorizationPolicy', 'security.istio.io', 'v1', 'authorizationpolicies', true, MESH3),
  CustomResourceDefinition: k('CustomResourceDefinition', 'apiextensions.k8s.io', 'v1', 'customresourcedefinitions', false),
  Gateway: k('Gateway', 'networking.istio.io', 'v1alpha3', 'gateways', true, MESH),
  ServiceEntry: k('ServiceEntry', 'networking.istio.io', 'v1alpha3', 'serviceentries', true, MESH),
  AuthorizationPolicy: k('AuthorizationPolicy', 'security.istio.io', 'v1beta1', 'authorizationpolicies', true, MESH),
  PeerAuthentication: k('PeerAuthentication', 'security.istio.io', 'v1beta1', 'peerauthentications', true, MESH),
  KnativeServing: k('KnativeServing', 'operator.knative.dev', 'v1beta1', 'knativeservings', true, SERVERLESS),
  KnativeEventing: k('KnativeEventing', 'operator.knative.dev', 'v1beta1', 'knativeeventings', true, SERVERLESS),
  KnativeKafka: k('KnativeKafka', 'operator.serverless.openshift.io', 'v1alpha1', 'knativekafkas', true, SERVERLESS),
  KnativeService: k('Service', 'serving.knative.dev', 'v1', 'services', true, 'Knative Serving'),
  Revision: k('Revision', 'serving.knative.dev', 'v1', 'revisions', true, 'Knative Serving'),
  DomainMapping: k('DomainMapping', 'serving.knative.dev', 'v1beta1', 'domainmappings', true, 'Knative Serving'),
  KIngress: k('Ingress', 'networking.internal.knative.dev', 'v1alpha1', 'ingresses', true, 'Knative Serving'),
  IngressConfig: k('Ingress', 'config.openshift.io', 'v1', 'ingresses', false, 'OpenShift'),
  Route: k('Route', 'route.openshift.io', 'v1', 'routes', true, 'OpenShift'),
  /** Create-only: the API server answers with the caller's identity (v1 since Kubernetes 1.28; whoami falls back to v1beta1, v1alpha1). */
  SelfSubjectReview: k('SelfSubjectReview', 'authentication.k8s.io', 'v1', 'selfsubjectreviews', false, 'Kubernetes 1.28 or later'),
  Pipeline: k('Pipeline', 'tekton.dev', 'v1', 'pipelines', true, 'Red Hat OpenShift Pipelines'),
} satisfies Record<string, KindInfo>

export function apiVersionOf(info: KindInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version
}

/** "servicemeshmemberrolls.maistra.io" or "secrets". */
export function resourceName(info: KindInfo): string {
  return info.group ? `${info.plural}.${info.group}` : info.plural
}

export function collectionPath(info: KindInfo, namespace?: string): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`
  return info.namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${info.plural}` : `${base}/${info.plural}`
}

export function objectPath(info: KindInfo, name: string, namespace?: string): string {
  return `${collectionPath(info, namespace)}/${encodeURIComponent(name)}`
}

/** Finds a kind by apiVersion + kind, for objects a planner returns. */
export function kindOf(obj: {apiVersion?: string; kind?: string}): KindInfo {
  for (const info of Object.values(Kinds) as KindInfo[]) {
    if (info.kind === obj.kind && apiVersionOf(info) === obj.apiVersion) return info
  }
  throw new Error(`knmesh does not know the kind ${obj.apiVersion}/${obj.kind}`)
}
