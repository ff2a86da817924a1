import {afterEach, describe, expect, it, vi} from 'vitest'
import {onInterrupt, pool} from '../../src/change/bulk.js'

const tick = () => new Promise((r) => setTimeout(r, 1))

describe('pool: the one bounded worker pool', () => {
  it('never runs more than `concurrency` at once, and runs every item once', async () => {
    let running = 0
    let most = 0
    const seen: number[] = []
    await pool([...Array(20).keys()], 3, async (n) => {
      most = Math.max(most, ++running)
      await tick()
      seen.push(n)
      running--
    })
    expect(most).toBe(3)
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(20).keys()])
  })

  it('starts nothing new once aborted; those in flight finish', async () => {
    const abort = new AbortController()
    const finished: number[] = []
    await pool(
      [...Array(10).keys()],
      2,
      async (n) => {
        if (n === 3) abort.abort()
        await tick()
        finished.push(n)
      },
      abort.signal,
    )
    expect(finished.sort((a, b) => a - b)).toEqual([0, 1, 2, 3])
  })

  it('rejects with the first error of work', async () => {
    await expect(
      pool([1, 2, 3], 1, async (n) => {
        if (n === 2) throw new Error('boom 2')
      }),
    ).rejects.toThrow('boom 2')
  })
})

describe('onInterrupt: Ctrl-C during a long run', () => {
  afterEach(() => vi.restoreAllMocks())

  it('the first SIGINT calls the handler, a second exits 130; removed, it calls nothing', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never)
    const first = vi.fn()
    const off = onInterrupt(first)
    process.emit('SIGINT')
    await tick()
    expect(first).toHaveBeenCalledTimes(1)
    expect(exit).not.toHaveBeenCalled()
    process.emit('SIGINT')
    expect(exit).toHaveBeenCalledWith(130)
    off()
    const before = process.listenerCount('SIGINT')
    expect(before).toBe(0)
  })

  it('with exitAfter, exits 130 once the handler (the cleanup) is done; SIGTERM too', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never)
    const order: string[] = []
    const off = onInterrupt(
      async () => {
        await tick()
        order.push('cleaned up')
      },
      {signals: ['SIGINT', 'SIGTERM'], exitAfter: true},
    )
    exit.mockImplementation(((code: number) => order.push(`exit ${code}`)) as never)
    process.emit('SIGTERM')
    await tick()
    await tick()
    expect(order).toEqual(['cleaned up', 'exit 130'])
    off()
  })
})
