import type {JournalChange, JournalEntry} from '../journal/entry.js'
import {describeChange, isSecret} from '../journal/entry.js'
import type {KObject} from '../kube/types.js'
import {isDeepStrictEqual} from 'node:util'
import {info, sameObject, warning, type Plan, type PlanItem} from './plan.js'

/** Pure: the undo of a journaled change set, planned against the live objects. No I/O. */

type Json = Record<string, unknown>

/** Equal as JSON (key order and undefined fields ignored). */
const same = (a: unknown, b: unknown): boolean => isDeepStrictEqual(asJson(a), asJson(b))
const asJson = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)))
/** Whether `list` holds an entry equal to `e`. */
const holds = (list: unknown[], e: unknown): boolean => list.some((x) => same(x, e))

function isPlainObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * The JSON merge patch (RFC 7386) that turns `from` into `to`: changed keys set, removed keys null,
 * arrays and scalars replaced whole. undefined when they are equal. E.g. mergeDiff({a: 1, b: 2}, {a: 1, c: 3})
 * → {b: null, c: 3}.
 */
export function mergeDiff(from: unknown, to: unknown): unknown {
  if (isPlainObject(from) && isPlainObject(to)) {
    const patch: Json = {}
    for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null
    for (const k of Object.keys(to)) {
      const d = k in from ? mergeDiff(from[k], to[k]) : structuredClone(to[k])
      if (d !== undefined) patch[k] = d
    }
    return Object.keys(patch).length ? patch : undefined
  }
  return same(from, to) ? undefined : structuredClone(to)
}

/** Applies a JSON merge patch (RFC 7386) to a copy of `target`: null removes a key, objects merge, anything else replaces. */
export function applyMerge<T>(target: T, patch: unknown): T {
  if (!isPlainObject(patch)) return structuredClone(patch) as T
  const out: Json = isPlainObject(target) ? structuredClone(target) : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = applyMerge(out[k], v)
  }
  return out as T
}

/**
 * Three-way undo of one update: `live` with what the verb changed (`after` → `before`) put back and
 * everything else kept. Keys the verb did not change keep their live value; keys it added are removed;
 * objects are merged key by key; a list is restored entry by entry: the entries the verb added are
 * taken out, the ones it removed put back (at the end), entries others added since stay. Anything
 * else: the `before` value. E.g. merge3({members: [a, b, c]}, {members: [a, b]}, {members: [a, b, c, d]})
 * → {members: [a, b, d]}. Pure.
 */
export function merge3(after: unknown, before: unknown, live: unknown): unknown {
  if (same(after, before)) return structuredClone(live)
  if (isPlainObject(after) && isPlainObject(before) && isPlainObject(live)) {
    const out: Json = {}
    for (const k of new Set([...Object.keys(live), ...Object.keys(before)])) {
      if (!(k in before) && k in after && !same(after[k], before[k])) continue
      const v = k in after || k in before ? merge3(after[k], before[k], live[k]) : structuredClone(live[k])
      if (v !== undefined) out[k] = v
    }
    return out
  }
  if (Array.isArray(after) && Array.isArray(before) && Array.isArray(live)) {
    const kept = live.filter((e) => holds(before, e) || !holds(after, e))
    return [...kept, ...before.filter((e) => !holds(after, e) && !holds(kept, e))].map((e) => structuredClone(e))
  }
  return structuredClone(before)
}

/** The key the live objects of an undo are looked up by: "apiVersion/kind/namespace/name". */
export function liveKey(c: {apiVersion: string; kind: string; namespace?: string; name: string}): string {
  return `${c.apiVersion}/${c.kind}/${c.namespace ?? ''}/${c.name}`
}

export interface UndoConflict {
  /** "ServiceMeshMemberRoll istio-system/default" */
  object: string
  /** "resourceVersion 812, the change set wrote 790" or "deleted since" or "exists again, different". */
  why: string
}

export interface UndoPlan {
  /** The writes that restore the before-images (reverse order of the change set); empty when already undone. */
  plan: Plan
  /** Objects changed since the change set wrote them. With force they are undone anyway (and named in a warning). */
  conflicts: UndoConflict[]
  /** Objects whose undo is already in place (nothing to write). */
  alreadyUndone: string[]
}

/** An object to create again from its before-image: no server fields (the image has none), no deletion marks. */
function recreated(before: KObject): KObject {
  const o = structuredClone(before)
  delete o.metadata.deletionTimestamp
  delete o.metadata.deletionGracePeriodSeconds
  delete o.status
  return o
}

/**
 * Plans the undo of `entry` against `live` (liveKey → the object now, null when absent; Secrets as
 * metadata only). Only changes the journal marks applied are undone, last first:
 * - create → delete, when the object still has the resourceVersion the change set wrote;
 * - delete → create again from the before-image (a Secret cannot be: its data is not journaled; a warning);
 * - update → merge3(after, before, live), sent as a JSON merge patch conditional on its resourceVersion: only
 *   the fields the verb changed go back; fields and list entries others added since are kept (with force).
 * An object changed since (another resourceVersion; deleted; re-created differently) is a conflict: with
 * `force` it is undone anyway, else it is only listed in `conflicts` (the caller refuses). An object whose
 * undo is already in place is listed in `alreadyUndone`. Pure: no I/O.
 */
export function planUndo(entry: JournalEntry, live: Map<string, KObject | null>, opts: {force: boolean}): UndoPlan {
  const items: PlanItem[] = []
  const notes = []
  const conflicts: UndoConflict[] = []
  const alreadyUndone: string[] = []
  const applied = entry.changes.filter((c) => c.result === 'applied')
  for (const c of [...applied].reverse()) {
    const now = live.get(liveKey(c)) ?? null
    const what = describeChange(c)
    const conflict = (why: string): boolean => {
      conflicts.push({object: what, why})
      return opts.force
    }
    const rv = now?.metadata.resourceVersion
    const changedSince = `resourceVersion ${rv}, the change set wrote ${c.written ?? 'none'}`
    if (c.action === 'create') {
      if (!now) alreadyUndone.push(what)
      else if (rv === c.written || conflict(changedSince)) items.push({live: now, desired: null})
    } else if (c.action === 'delete') {
      if (!c.before) continue
      if (isSecret(c)) {
        notes.push(warning(`${what} was deleted and its data is not journaled: undo cannot create it again`))
      } else if (!now) {
        items.push({live: null, desired: recreated(c.before)})
      } else if (sameObject(stripped(now), c.before)) {
        alreadyUndone.push(what)
      } else if (conflict('exists again, with other content')) {
        items.push({
          live: now,
          desired: {
            ...recreated(c.before),
            metadata: {...now.metadata, ...c.before.metadata, resourceVersion: rv},
            ...(now.status ? {status: now.status} : {}),
          },
        })
      }
    } else {
      const patch = mergeDiff(c.after, c.before) as Json | undefined
      if (!patch || !c.before) continue
      if (!now) {
        if (conflict('deleted since') && !isSecret(c)) items.push({live: null, desired: recreated(c.before)})
        continue
      }
      const desired = merge3(c.after, c.before, now) as KObject
      const fix = mergeDiff(now, desired) as Json | undefined
      if (!fix) alreadyUndone.push(what)
      else if (rv === c.written || conflict(changedSince)) {
        const metadata = {...(isPlainObject(fix.metadata) ? fix.metadata : {}), resourceVersion: rv}
        items.push({live: now, desired, mergePatch: {...fix, metadata}})
      }
    }
  }
  if (conflicts.length && opts.force)
    notes.push(warning(`changed since change set ${entry.id}, undone anyway (--force): ${conflicts.map((c) => c.object).join(', ')}`))
  if (items.length === 0 && conflicts.length === 0) {
    notes.push(info(applied.length === 0 ? `change set ${entry.id} applied no change: nothing to undo` : `change set ${entry.id} is already undone`))
  }
  return {plan: {items, notes}, conflicts, alreadyUndone}
}

/** The live object shaped like a journal image, for comparison (status dropped). */
function stripped(o: KObject): KObject {
  const out = structuredClone(o)
  delete out.status
  return out
}

/** One line naming every conflicting object, for the refusal (exit 5). */
export function conflictMessage(entry: JournalEntry, conflicts: UndoConflict[]): string {
  const list = conflicts.map((c) => `${c.object} (${c.why})`).join(', ')
  return `cannot undo change set ${entry.id}: changed since it was applied: ${list}; run again with --force to undo it anyway (fields set since are kept)`
}

export type {JournalChange}
