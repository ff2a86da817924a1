import {describe, expect, it} from 'vitest'
import {MAX_RETRIES, MAX_RETRY_WAIT_MS, retryWaitMs} from '../../src/kube/client.js'

describe("retryWaitMs: client-go's Retry-After rule (rest/with_retry.go checkWait), 5xx only when idempotent", () => {
  it.each([
    [429, '1', false, 1000],
    [429, '0', false, 0],
    [429, ' 2 ', true, 2000],
    [429, ['3', '9'], false, 3000],
    [503, '2', true, 2000],
    [500, '1', true, 1000],
    [504, '1', true, 1000],
    [503, '2', false, null],
    [500, undefined, true, null],
    [429, undefined, false, null],
    [429, 'Wed, 21 Oct 2015 07:28:00 GMT', false, null],
    [429, '-1', false, null],
    [429, '1.5', false, null],
    [404, '1', true, null],
    [409, '1', true, null],
    [200, '1', true, null],
  ])('%d Retry-After %j idempotent=%s → %s', (status, header, idempotent, want) => {
    expect(retryWaitMs(status, header as string | string[] | undefined, idempotent)).toBe(want)
  })

  it('caps a long Retry-After at 10 s and retries 10 times, as client-go', () => {
    expect(retryWaitMs(429, '3600', false)).toBe(MAX_RETRY_WAIT_MS)
    expect(MAX_RETRY_WAIT_MS).toBe(10_000)
    expect(MAX_RETRIES).toBe(10)
  })
})
