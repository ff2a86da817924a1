import {NotServedError} from '../errors.js'
import type {KubeClient} from './client.js'
import {collectionPath, Kinds} from './kinds.js'

/** authentication.k8s.io SelfSubjectReview, as the API server returns it. */
export interface SelfSubjectReview {
  apiVersion: string
  kind: 'SelfSubjectReview'
  metadata?: Record<string, unknown>
  status?: {userInfo?: {username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]>}}
}

/**
 * Who the API server takes the client for: creates a SelfSubjectReview (authentication.k8s.io v1,
 * falling back to v1beta1 then v1alpha1 when not served, as `kubectl auth whoami` does).
 * Throws KubeError (exit 4): ForbiddenError when refused (an anonymous caller usually is),
 * NotServedError when no version is served.
 */
export async function selfSubjectReview(client: KubeClient): Promise<SelfSubjectReview> {
  let last: unknown
  for (const version of ['v1', 'v1beta1', 'v1alpha1']) {
    const info = {...Kinds.SelfSubjectReview, version}
    const apiVersion = `${info.group}/${version}`
    try {
      return await client.request<SelfSubjectReview>('POST', collectionPath(info), {
        body: {apiVersion, kind: 'SelfSubjectReview'},
        what: {verb: 'create', info},
      })
    } catch (error) {
      if (!(error instanceof NotServedError)) throw error
      last = error
    }
  }
  throw last
}
