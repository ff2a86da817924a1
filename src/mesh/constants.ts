/** Names the guide fixes. */
export const KNATIVE_SERVING = 'knative-serving'
export const KNATIVE_EVENTING = 'knative-eventing'
export const DEFAULT_MESH_NAMESPACE = 'istio-system'
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
