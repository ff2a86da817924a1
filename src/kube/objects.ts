import type {KObject} from './types.js'

/** Pure helpers on objects as JSON, shared by the change engine and ui/: no I/O. */

/** What applying a plan does to one object. */
export type Action = 'create' | 'update' | 'delete' | 'unchanged'

/** Server-owned metadata that never takes part in a comparison or an output. */
const SERVER_FIELDS = ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink']

/** A deep copy of obj without server-owned metadata, kubectl's last-applied annotation and (unless keepStatus) status. */
export function stripServerFields(obj: KObject, keepStatus = false): KObject {
  return stripInPlace(structuredClone(obj), keepStatus)
}

/**
 * A copy of obj as JSON (undefined fields dropped, key order kept) without what stripServerFields drops: for
 * comparisons, one copy instead of two (bulk runs compare every object of every page).
 */
export function comparableJson(obj: KObject, keepStatus = false): KObject {
  return stripInPlace(JSON.parse(JSON.stringify(obj)) as KObject, keepStatus)
}

function stripInPlace(out: KObject, keepStatus: boolean): KObject {
  for (const f of SERVER_FIELDS) delete out.metadata[f]
  if (out.metadata.annotations) {
    delete out.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']
    if (Object.keys(out.metadata.annotations).length === 0) delete out.metadata.annotations
  }
  if (!keepStatus) delete out.status
  return out
}

/** Secret values are never printed: each becomes a marker that still shows whether it changed. */
export function redact(obj: KObject, other?: KObject | null, side: 'before' | 'after' = 'after'): KObject {
  if (obj.kind !== 'Secret' || obj.apiVersion !== 'v1') return obj
  const out = structuredClone(obj)
  for (const field of ['data', 'stringData'] as const) {
    if (!out[field]) continue
    for (const k of Object.keys(out[field])) {
      // The new side of a changed value says so, so the diff still shows which keys change.
      const changed = side === 'after' && other?.[field]?.[k] !== undefined && other[field][k] !== obj[field][k]
      out[field][k] = `<redacted${changed ? ', changed' : ''}>`
    }
  }
  return out
}
