import jsonPatch from 'fast-json-patch'
import {describe, expect, it} from 'vitest'
import {runChanges, type EngineOptions} from '../../src/change/engine.js'
import type {Plan} from '../../src/change/plan.js'
import {ConflictError, ExitCode, KnmeshError} from '../../src/errors.js'
import type {KubeClient} from '../../src/kube/client.js'
import type {KObject} from '../../src/kube/types.js'

/**
 * A fake API server holding one ServiceMeshMemberRoll: a JSON patch carrying a stale resourceVersion gets 409, as
 * the real one answers; `others` are the writes of a concurrent writer, one made right after each of knmesh's reads.
 */
function fakeServer(others: ((o: KObject) => void)[] = []) {
  let stored: KObject = {
    apiVersion: 'maistra.io/v1',
    kind: 'ServiceMeshMemberRoll',
    metadata: {name: 'default', namespace: 'istio-system', resourceVersion: '1'},
    spec: {members: ['knative-serving']},
  }
  const log: string[] = []
  const bump = () => (stored.metadata.resourceVersion = String(Number(stored.metadata.resourceVersion) + 1))
  const client = {
    async get() {
      log.push(`get rv=${stored.metadata.resourceVersion}`)
      const copy = structuredClone(stored)
      const other = others.shift()
      if (other) {
        other(stored)
        bump()
      }
      return copy
    },
    async patch(_info: unknown, _name: string, _ns: string, ops: {op: string; path: string; value?: unknown}[]) {
      const rv = ops.find((o) => o.path === '/metadata/resourceVersion')?.value
      if (rv !== stored.metadata.resourceVersion) {
        log.push(`patch rv=${String(rv)}: 409`)
        throw new ConflictError(`Operation cannot be fulfilled on servicemeshmemberrolls.maistra.io "default": the object has been modified`, 409)
      }
      stored = jsonPatch.applyPatch(structuredClone(stored), ops.filter((o) => o.path !== '/metadata/resourceVersion') as never).newDocument
      bump()
      log.push(`patch rv=${String(rv)}: ok`)
      return {metadata: stored.metadata}
    },
  }
  return {client: client as unknown as KubeClient, log, stored: () => stored}
}

/** The plan of "add-namespace team-a": the live roll with team-a added to spec.members (kept in order). */
function addMember(live: KObject | null): Plan {
  const desired = structuredClone(live!)
  const members = desired.spec.members as string[]
  if (!members.includes('team-a')) members.push('team-a')
  return {items: [{live, desired}], notes: []}
}

function options(over: Partial<EngineOptions> = {}): EngineOptions & {infos: string[]} {
  const infos: string[] = []
  return {
    yes: true,
    dryRun: 'none',
    color: false,
    interactive: false,
    printer: {info: (s) => infos.push(s), warn: () => {}, data: () => {}, table: () => {}},
    confirm: async () => true,
    infos,
    ...over,
  }
}

describe("the engine's conflict loop (409: re-read, re-plan, apply)", () => {
  it("a concurrent edit between read and write: 409, then the re-planned patch keeps the other writer's member", async () => {
    const server = fakeServer([(o) => (o.spec.members as string[]).push('team-b')])
    const opts = options()
    let reads = 0
    const result = await runChanges(server.client, {read: (c) => (reads++, c.get(undefined as never, 'default', 'istio-system')), plan: addMember}, opts)
    expect(server.log).toEqual(['get rv=1', 'patch rv=1: 409', 'get rv=2', 'patch rv=2: ok'])
    expect(reads).toBe(2)
    expect(server.stored().spec.members).toEqual(['knative-serving', 'team-b', 'team-a'])
    expect(result).toMatchObject({applied: true, noop: false, changes: [{action: 'update', kind: 'ServiceMeshMemberRoll', name: 'default', result: 'applied'}]})
    expect(opts.infos).toContain('conflict: re-read and re-planned (attempt 2)')
  })

  it('the other writer made the same change: after the re-read nothing is left to do', async () => {
    const server = fakeServer([(o) => (o.spec.members as string[]).push('team-a')])
    const opts = options()
    const result = await runChanges(server.client, {read: (c) => c.get(undefined as never, 'default', 'istio-system'), plan: addMember}, opts)
    expect(server.log).toEqual(['get rv=1', 'patch rv=1: 409', 'get rv=2'])
    expect(result).toMatchObject({applied: false, noop: true, changes: []})
    expect(opts.infos).toContain('nothing left to do after re-reading: the cluster already matches')
  })

  it('conflicts on every attempt: gives up after maxRetries re-plans with exit 5, nothing written', async () => {
    const edit = (o: KObject) => (o.metadata.labels = {n: String(Math.random())})
    const server = fakeServer(Array.from({length: 10}, () => edit))
    const err = await runChanges(
      server.client,
      {read: (c) => c.get(undefined as never, 'default', 'istio-system'), plan: addMember},
      options({maxRetries: 2}),
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KnmeshError)
    expect((err as KnmeshError).exitCode).toBe(ExitCode.CONFLICT)
    expect((err as Error).message).toMatch(/^gave up after 3 conflicting updates: Operation cannot be fulfilled/)
    expect(server.log.filter((l) => l.startsWith('get'))).toHaveLength(3)
    expect(server.log.filter((l) => l.endsWith('ok'))).toEqual([])
    expect(server.stored().spec.members).toEqual(['knative-serving'])
  })
})
