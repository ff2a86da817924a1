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
