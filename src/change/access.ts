import {ForbiddenError, KubeError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import {kindOf} from '../kube/kinds.js'
import {debug} from '../debug.js'
import type {Action, PlanItem} from './plan.js'

/** One permission a write needs: verb (create, patch, delete) on group/resource in namespace ('' cluster-scoped). */
export interface Access {
  verb: string
  group: string
  resource: string
  namespace: string
}

/** Namespaces named one by one in the forbidden message; more are counted. */
export const MAX_NAMED_NAMESPACES = 20
/** SelfSubjectAccessReviews sent at once. */
export const ACCESS_CONCURRENCY = 8

const VERB: Record<Exclude<Action, 'unchanged'>, string> = {create: 'create', update: 'patch', delete: 'delete'}

/** The permission one change needs: create → create, update → patch (every update is a patch), delete → delete. */
export function accessOf(c: PlanItem & {action: Exclude<Action, 'unchanged'>}): Access {
  const obj = (c.desired ?? c.live)!
  const info = kindOf(obj)
  return {verb: VERB[c.action], group: info.group, resource: info.plural, namespace: info.namespaced ? (obj.metadata.namespace ?? '') : ''}
}

function accessKey(a: Access): string {
  return `${a.verb} ${a.resource}${a.group ? '.' + a.group : ''} ${a.namespace}`
}

/**
 * Distinct permissions, checked with one SelfSubjectAccessReview (authorization.k8s.io/v1) each, at most
 * ACCESS_CONCURRENCY at once. A verb/resource needed in several namespaces is first asked for every namespace
 * (one review): when that is allowed, the namespaces are not asked one by one. Resolves to the denied
 * permissions ([] when all are allowed). A cluster that does not serve the review (404) or refuses it (403)
 * denies nothing here: the server dry run and the writes still say what is refused. Connection errors throw
 * (KubeError, exit 4).
 */
export async function deniedAccess(client: KubeClient, needed: Iterable<Access>, cache: AccessCache = new Map()): Promise<Access[]> {
  const distinct = new Map<string, Access>()
  for (const a of needed) distinct.set(accessKey(a), a)
  if (distinct.size === 0) return []
  const byResource = new Map<string, Access[]>()
  for (const a of distinct.values()) {
    const k = `${a.verb} ${a.group} ${a.resource}`
    byResource.set(k, [...(byResource.get(k) ?? []), a])
  }
  try {
    // Several namespaces for one verb/resource: one cluster-wide review first.
    const wide = [...byResource.values()].filter((list) => list.length > 1 || cache.has(accessKey({...list[0], namespace: ''})))
    const wideAllowed = await pool(wide, (list) => cached(client, {...list[0], namespace: ''}, cache))
    const ask = [...byResource.values()].flatMap((list) => (wide.includes(list) && wideAllowed[wide.indexOf(list)] ? [] : list))
    const answers = await pool(ask, (a) => cached(client, a, cache))
    return ask.filter((_, i) => !answers[i])
  } catch (error) {
    if (error instanceof KubeError && (error.status === 404 || error.status === 403)) {
      debug('SelfSubjectAccessReview not available (%s): permissions not checked up front', error.message)
      return []
    }
    throw error
  }
}

/** Answers already had, by permission: a bulk run asks each permission once across its pages. */
export type AccessCache = Map<string, Promise<boolean>>

function cached(client: KubeClient, a: Access, cache: AccessCache): Promise<boolean> {
  const k = accessKey(a)
  let p = cache.get(k)
  if (!p) {
    p = allowed(client, a)
    cache.set(k, p)
    p.catch(() => cache.delete(k))
  }
  return p
}

async function allowed(client: KubeClient, a: Access): Promise<boolean> {
  const review = await client.request<{status?: {allowed?: boolean}}>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {resourceAttributes: {verb: a.verb, group: a.group, resource: a.resource, ...(a.namespace ? {namespace: a.namespace} : {})}},
    },
    what: {
      verb: 'create',
      info: {kind: 'SelfSubjectAccessReview', group: 'authorization.k8s.io', version: 'v1', plural: 'selfsubjectaccessreviews', namespaced: false},
    },
    // A review changes nothing: sending it twice is harmless.
    idempotent: true,
  })
  debug('can %s %s%s in %s: %s', a.verb, a.resource, a.group ? '.' + a.group : '', a.namespace || '(cluster)', review.status?.allowed)
  return review.status?.allowed === true
}

async function pool<T, R>(items: T[], fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({length: Math.min(ACCESS_CONCURRENCY, items.length)}, worker))
  return out
}

/**
 * "you cannot create authorizationpolicies.security.istio.io in namespaces a, b; patch
 * servicemeshmemberrolls.maistra.io in namespace istio-system": every denied verb/resource with its namespaces
 * (the first MAX_NAMED_NAMESPACES named, the rest counted), in one line.
 */
export function describeDenied(denied: Access[]): string {
  const groups = new Map<string, string[]>()
  for (const a of denied) {
    const k = `${a.verb} ${a.resource}${a.group ? '.' + a.group : ''}`
    groups.set(k, [...(groups.get(k) ?? []), a.namespace])
  }
  const parts = [...groups].map(([what, nss]) => {
    const named = nss.filter(Boolean).sort()
    if (named.length === 0) return `${what} (cluster-scoped)`
    const shown = named.slice(0, MAX_NAMED_NAMESPACES).join(', ')
    const more = named.length > MAX_NAMED_NAMESPACES ? ` and ${named.length - MAX_NAMED_NAMESPACES} more` : ''
    return `${what} in namespace${named.length > 1 ? 's' : ''} ${shown}${more}`
  })
  return `you cannot ${parts.join('; ')}`
}

/**
 * Throws ForbiddenError (exit 4) naming every missing permission when any write of `changes` is not allowed,
 * before anything is written; resolves when all are allowed.
 */
export async function requireAccess(
  client: KubeClient,
  changes: Iterable<PlanItem & {action: Exclude<Action, 'unchanged'>}>,
  cache?: AccessCache,
): Promise<void> {
  const needed: Access[] = []
  for (const c of changes) needed.push(accessOf(c))
  const denied = await deniedAccess(client, needed, cache)
  if (denied.length) throw new ForbiddenError(`forbidden: ${describeDenied(denied)}; nothing was applied (check with kubectl auth can-i)`, 403, 'Forbidden')
}
