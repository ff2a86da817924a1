import {describe, expect, it} from 'vitest'
import {ForbiddenError, KubeError, NotServedError} from '../../src/errors.js'
import {tolerate, unlessForbidden} from '../../src/read/tolerate.js'

describe('tolerate: the one tolerant read', () => {
  it('gives the value of a read that succeeds', async () => {
    expect(await tolerate(Promise.resolve({a: 1}), 'forbidden')).toEqual({a: 1})
  })

  it('turns only the named refusals into null', async () => {
    expect(await tolerate(Promise.reject(new ForbiddenError('forbidden: x', 403)), 'forbidden')).toBeNull()
    expect(await tolerate(Promise.reject(new NotServedError('not served', 404)), 'not-served')).toBeNull()
    expect(await tolerate(Promise.reject(new NotServedError('not served', 404)), 'forbidden', 'not-served')).toBeNull()
    await expect(tolerate(Promise.reject(new NotServedError('not served', 404)), 'forbidden')).rejects.toBeInstanceOf(NotServedError)
    await expect(tolerate(Promise.reject(new ForbiddenError('forbidden: x', 403)), 'not-served')).rejects.toBeInstanceOf(ForbiddenError)
    await expect(unlessForbidden(Promise.reject(new NotServedError('not served', 404)))).rejects.toBeInstanceOf(NotServedError)
  })

  it("busy: a 429 still answered after the retries (a fresh CRD's storage initializing), for auxiliary reads only", async () => {
    const busy = () =>
      Promise.reject(new KubeError('list pipelines failed: storage is (re)initializing (still 429 after 5 retries honouring Retry-After)', 429))
    expect(await tolerate(busy(), 'forbidden', 'busy')).toBeNull()
    await expect(tolerate(busy(), 'forbidden', 'not-served')).rejects.toThrow('storage is (re)initializing')
    await expect(tolerate(Promise.reject(new KubeError('list failed: etcdserver: leader changed', 500)), 'forbidden', 'busy')).rejects.toThrow('leader changed')
  })

  it('never swallows anything else (unreachable, 5xx, a bug)', async () => {
    await expect(tolerate(Promise.reject(new KubeError('list failed: etcdserver: leader changed', 500)), 'forbidden', 'not-served')).rejects.toThrow(
      'leader changed',
    )
    await expect(tolerate(Promise.reject(new TypeError('x is undefined')), 'forbidden', 'not-served')).rejects.toBeInstanceOf(TypeError)
  })
})
