/** Names the guide fixes. */
export const KNATIVE_SERVING = 'knative-serving'
export const KNATIVE_EVENTING = 'knative-eventing'
export const DEFAULT_MESH_NAMESPACE = 'istio-system'
/** Where Kourier runs, and on Service Mesh 3 the Knative gateway (its pods, Services, TLS Secret and Routes). */
export const KNATIVE_SERVING_INGRESS = 'knative-serving-ingress'
/** The sidecar injection key: a pod annotation on Service Mesh 2, a pod label on Service Mesh 3 (reference N5, N11). */
export const INJECT_KEY = 'sidecar.istio.io/inject'
export const REWRITE_PROBERS_KEY = 'sidecar.istio.io/rewriteAppHTTPProbers'
export const SMMR_NAME = 'default'

/**
 * The --mesh-namespace part of a knmesh command line a fix names: "" for the
 * default mesh namespace, else " --mesh-namespace NS" (with its leading space).
 */
export function meshFlag(meshNamespace: string): string {
  return meshNamespace === DEFAULT_MESH_NAMESPACE ? '' : ` --mesh-namespace ${meshNamespace}`
}
export const REQUIRED_MEMBERS = [KNATIVE_SERVING, KNATIVE_EVENTING]

export const SIDECAR_ANNOTATIONS = {
  'sidecar.istio.io/inject': 'true',
  'sidecar.istio.io/rewriteAppHTTPProbers': 'true',
} as const

/** The label knmesh puts on objects it creates. */
export const MANAGED_BY = {'app.kubernetes.io/managed-by': 'knmesh'} as const
