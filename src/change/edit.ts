import type {KObject, Json, JsonObject} from '../kube/types.js'
import {apiVersionOf, type KindInfo} from '../kube/kinds.js'

/** Small, pure helpers planners use to edit a clone of a live object. */

type Obj = JsonObject

/** Returns obj[path[0]][path[1]]…, creating empty objects on the way. */
export function ensureObject(obj: Obj, path: string[]): Obj {
  let cur = obj
  for (const p of path) {
    if (cur[p] === null || typeof cur[p] !== 'object' || Array.isArray(cur[p])) cur[p] = {}
    cur = cur[p]
  }
  return cur
}

export function getPath(obj: unknown, path: string[]): unknown {
  let cur: Json = obj
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = cur[p]
  }
  return cur
}

export function setPath(obj: Obj, path: string[], value: unknown): void {
  const parent = ensureObject(obj, path.slice(0, -1))
  parent[path[path.length - 1]] = value
}

export function setLabels(obj: KObject, labels: Record<string, string>): void {
  obj.metadata.labels = {...obj.metadata.labels, ...labels}
}

export function setAnnotations(target: Obj, annotations: Record<string, string>): void {
  target.annotations = {...target.annotations, ...annotations}
}

/**
 * Merges an entry into a list of objects keyed by `name` (KnativeServing
 * spec.deployments, spec.workloads…): an existing entry keeps its other
 * fields; a missing one is appended. Returns the entry.
 */
export function upsertNamed(list: Obj[], name: string): Obj {
  let entry = list.find((e) => e && e.name === name)
  if (!entry) {
    entry = {name}
    list.push(entry)
  }
  return entry
}

export function ensureArray(obj: Obj, path: string[]): Obj[] {
  const cur = getPath(obj, path)
  if (Array.isArray(cur)) return cur
  const arr: Obj[] = []
  setPath(obj, path, arr)
  return arr
}

/** Appends values missing from a list, keeping its order. */
export function addToList<T>(list: T[], values: T[]): T[] {
  for (const v of values) if (!list.includes(v)) list.push(v)
  return list
}

/** A new object of a kind of the kinds table (src/kube/kinds.ts): apiVersion and kind from it, then `rest` (spec, type, …). */
export function newObject(info: KindInfo, name: string, namespace?: string, rest: Obj = {}): KObject {
  return {apiVersion: apiVersionOf(info), kind: info.kind, metadata: namespace ? {name, namespace} : {name}, ...rest}
}
