import {ForbiddenError} from '../errors.js'

/** The value of a read, or null when the user may not make it (the verb then says what it could not check). */
export async function unlessForbidden<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p
  } catch (error) {
    if (error instanceof ForbiddenError) return null
    throw error
  }
}
