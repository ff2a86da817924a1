export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  [key: string]: unknown
}

/** A Kubernetes object as JSON. Fields knmesh does not know are carried through untouched. */
export interface KObject {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  // Objects are open: spec/status/data and anything else are kept as they are.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any
}

/**
 * Unstructured JSON: a field of a CRD's spec or status that knmesh reads
 * defensively (`?.`, `Array.isArray`) rather than through a schema type.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- schema-less JSON, like KObject's open fields
export type Json = any
/** An unstructured JSON object (see Json). */
export type JsonObject = Record<string, Json>

export interface ListResult<T = KObject> {
  items: T[]
  metadata: {continue?: string; resourceVersion?: string}
}

export type DryRun = 'none' | 'client' | 'server'

export function key(obj: {kind: string; metadata: {name: string; namespace?: string}}): string {
  return `${obj.kind}/${obj.metadata.namespace ? obj.metadata.namespace + '/' : ''}${obj.metadata.name}`
}

export function clone<T>(v: T): T {
  return structuredClone(v)
}
