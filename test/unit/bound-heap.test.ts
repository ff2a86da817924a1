/**
 * boundHeap (src/change/bulk.ts): the V8 settings a bulk run makes take effect in a process that has already
 * started. A child Node process runs a bulk run's allocation pattern (a stream of short-lived objects, a window of
 * 50,000 of them alive at a time, in a ring) with and without boundHeap(); the young generation (new_space) must stay at its
 * start-up size with it and grow without it, and the process must end smaller. Sizes, not times: deterministic.
 */
import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

const bulk = fileURLToPath(new URL('../../src/change/bulk.ts', import.meta.url))

const child = `
import v8 from 'node:v8'
if (process.argv[1] === 'bound') (await import(${JSON.stringify(bulk)})).boundHeap()
const window = new Array(50_000)
for (let i = 0; i < 2_000_000; i++) window[i % 50_000] = {i, name: 'secret-' + i, labels: {a: String(i)}}
const space = (name) => v8.getHeapSpaceStatistics().find((s) => s.space_name === name).space_size
console.log(JSON.stringify({newSpace: space('new_space'), rss: process.memoryUsage().rss}))
`

function run(mode: 'bound' | 'default'): {newSpace: number; rss: number} {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child, mode], {encoding: 'utf8'})
  return JSON.parse(out.trim().split('\n').at(-1)!)
}

describe('boundHeap: a bulk run keeps the V8 heap flat', () => {
  it('the young generation stays at its start-up size (V8 alone grows it to tens of MB), and the process ends smaller', () => {
    const plain = run('default')
    const bounded = run('bound')
    expect(plain.newSpace).toBeGreaterThan(16 * 2 ** 20)
    expect(bounded.newSpace).toBeLessThanOrEqual(4 * 2 ** 20)
    expect(bounded.rss).toBeLessThan(plain.rss - 8 * 2 ** 20)
  }, 60_000)
})
