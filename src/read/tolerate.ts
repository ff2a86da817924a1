import {ForbiddenError, KubeError, NotServedError} from '../errors.js'

/**
 * A refusal a reader may tolerate: the user may not make the read (forbidden), the cluster does not serve the kind
 * (not-served), or the API server still answers 429 Too Many Requests after the client's retries honouring
 * Retry-After (busy: e.g. "storage is (re)initializing" while a freshly installed CRD's storage starts; only for
 * auxiliary reads, whose loss only shortens the output).
 */
export type Refusal = 'forbidden' | 'not-served' | 'busy'

/**
 * The one way a reader tolerates a failed read: the value of `read`, or null when the API server refuses it
 * for one of `refusals` (ForbiddenError, NotServedError, a KubeError with status 429); the verb then says what it
 * could not check. Every
 * other error (unreachable, 5xx after retries, …) is thrown as it came.
 */
export async function tolerate<T>(read: Promise<T>, ...refusals: Refusal[]): Promise<T | null> {
  try {
    return await read
  } catch (error) {
    if (refusals.includes('forbidden') && error instanceof ForbiddenError) return null
    if (refusals.includes('not-served') && error instanceof NotServedError) return null
    if (refusals.includes('busy') && error instanceof KubeError && error.status === 429) return null
    throw error
  }
}

/** The value of a read, or null when the user may not make it (the verb then says what it could not check). */
export async function unlessForbidden<T>(read: Promise<T>): Promise<T | null> {
  return tolerate(read, 'forbidden')
}
