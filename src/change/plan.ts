import {isDeepStrictEqual} from 'node:util'
import {comparableJson, type Action} from '../kube/objects.js'
import type {KObject} from '../kube/types.js'

export type {Action}

export interface Note {
  level: 'info' | 'warning'
  text: string
}

/**
 * One object a planner cares about: what the cluster has (live) and what it
 * should have (desired). live null → create; desired null → delete; both
 * set and different → update. A planner edits a clone of live, so fields it
 * does not own are carried through untouched.
 */
export interface PlanItem {
  live: KObject | null
  desired: KObject | null
  /**
   * For an update: send this JSON merge patch instead of the conditional JSON
   * patch (e.g. one label, at scale). It names only the fields it sets, so it
   * is atomic; a `metadata.resourceVersion` in it makes it conditional (409 if
   * the object changed since it was read); `desired` still shows the result.
   */
  mergePatch?: Record<string, unknown>
}

export interface Plan {
  items: PlanItem[]
  notes: Note[]
}

export function info(text: string): Note {
  return {level: 'info', text}
}

export function warning(text: string): Note {
  return {level: 'warning', text}
}

export function actionOf(item: PlanItem): Action {
  if (!item.live && item.desired) return 'create'
  if (item.live && !item.desired) return 'delete'
  if (item.live && item.desired && !sameObject(item.live, item.desired)) return 'update'
  return 'unchanged'
}

/**
 * Whether a and b are the same object as the API server would store it:
 * server-owned fields aside, key order and undefined fields ignored (both are
 * compared as JSON).
 */
export function sameObject(a: KObject, b: KObject): boolean {
  return isDeepStrictEqual(comparableJson(a, true), comparableJson(b, true))
}

export function changesOf(plan: Plan): (PlanItem & {action: Exclude<Action, 'unchanged'>})[] {
  const out: (PlanItem & {action: Exclude<Action, 'unchanged'>})[] = []
  for (const item of plan.items) {
    const action = actionOf(item)
    if (action !== 'unchanged') out.push({...item, action})
  }
  return out
}
