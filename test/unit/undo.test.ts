import {mkdtempSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {actionOf} from '../../src/change/plan.js'
import {applyMerge, conflictMessage, liveKey, merge3, mergeDiff, planUndo} from '../../src/change/undo.js'
import {journalChange, journalImage, scrubArgs, type JournalEntry} from '../../src/journal/entry.js'
import {findEntry, journalDir, journalRecorder, readEntries} from '../../src/journal/store.js'
import type {KObject} from '../../src/kube/types.js'

const smmr = (members: string[], rv: string, extra: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'maistra.io/v1',
  kind: 'ServiceMeshMemberRoll',
  metadata: {name: 'default', namespace: 'mesh', resourceVersion: rv, uid: 'u1', managedFields: [{manager: 'x'}], ...extra},
  spec: {members},
})

const policy = (name: string, rv: string): KObject => ({
  apiVersion: 'security.istio.io/v1beta1',
  kind: 'AuthorizationPolicy',
  metadata: {name, namespace: 'team-1', resourceVersion: rv, uid: 'p-' + name, creationTimestamp: '2025-01-01T00:00:00Z'},
  spec: {action: 'ALLOW', rules: [{from: [{source: {namespaces: ['team-1']}}]}]},
})

/** An entry as the recorder leaves it after the writes: each change applied with the resourceVersion written. */
function entry(changes: {action: 'create' | 'update' | 'delete'; live: KObject | null; desired: KObject | null; written?: string}[]): JournalEntry {
  return {
    version: 1,
    id: '20250101-000000-000-abcd',
    time: '2025-01-01T00:00:00.000Z',
    verb: 'add-namespace',
    args: ['a'],
    context: 'ctx',
    server: 'https://k:6443/',
    status: 'applied',
    changes: changes.map((c) => ({...journalChange(c.action, c.live, c.desired), result: 'applied' as const, ...(c.written ? {written: c.written} : {})})),
  }
}

const lives = (...objs: [KObject, KObject | null][]) =>
  new Map(objs.map(([k, v]) => [liveKey({apiVersion: k.apiVersion, kind: k.kind, namespace: k.metadata.namespace, name: k.metadata.name}), v]))

describe('JSON merge diff', () => {
  it('sets changed keys, nulls removed ones, replaces arrays whole; undefined when equal', () => {
    expect(mergeDiff({a: 1, b: {c: 2, d: 3}, l: [1, 2]}, {a: 1, b: {c: 2}, l: [1], e: 'x'})).toEqual({b: {d: null}, l: [1], e: 'x'})
    expect(mergeDiff({a: {b: [1]}}, {a: {b: [1]}})).toBeUndefined()
  })
  it('applying the diff to the source gives the target, and leaves keys it does not name', () => {
    const from = {spec: {members: ['a', 'b']}, metadata: {labels: {x: '1'}}}
    const to = {spec: {members: ['a']}, metadata: {}}
    const patch = mergeDiff(from, to)
    expect(applyMerge(from, patch)).toEqual({spec: {members: ['a']}, metadata: {}})
    expect(applyMerge({...from, other: {kept: true}}, patch)).toEqual({spec: {members: ['a']}, metadata: {}, other: {kept: true}})
  })
})

describe('undo planner', () => {
  it('undoes a create by a delete conditioned on the resourceVersion the change set wrote', () => {
    const created = policy('allow', '10')
    const e = entry([{action: 'create', live: null, desired: created, written: '10'}])
    const u = planUndo(e, lives([created, created]), {force: false})
    expect(u.conflicts).toEqual([])
    expect(u.plan.items).toHaveLength(1)
    expect(actionOf(u.plan.items[0])).toBe('delete')
    expect(u.plan.items[0].live?.metadata.resourceVersion).toBe('10')
  })

  it('undoes a delete by creating the before-image again, without server fields', () => {
    const gone = policy('old', '5')
    const e = entry([{action: 'delete', live: gone, desired: null}])
    const u = planUndo(e, lives([gone, null]), {force: false})
    expect(u.plan.items).toHaveLength(1)
    expect(actionOf(u.plan.items[0])).toBe('create')
    const d = u.plan.items[0].desired!
    expect(d.metadata).toEqual({name: 'old', namespace: 'team-1'})
    expect(d.spec).toEqual(gone.spec)
  })

  it('undoes an update by the merge patch after→before on the live object, conditional on its resourceVersion', () => {
    const before = smmr(['knative-serving'], '3')
    const after = smmr(['knative-serving', 'team-a'], '4')
    const e = entry([{action: 'update', live: before, desired: after, written: '4'}])
    const u = planUndo(e, lives([after, after]), {force: false})
    expect(u.conflicts).toEqual([])
    const item = u.plan.items[0]
    expect(actionOf(item)).toBe('update')
    expect(item.desired?.spec).toEqual({members: ['knative-serving']})
    expect(item.mergePatch).toEqual({spec: {members: ['knative-serving']}, metadata: {resourceVersion: '4'}})
  })

  it('refuses an object changed since (another resourceVersion), naming it; --force undoes it keeping fields set since', () => {
    const before = smmr(['knative-serving'], '3')
    const after = smmr(['knative-serving', 'team-a'], '4')
    const e = entry([{action: 'update', live: before, desired: after, written: '4'}])
    const edited: KObject = {...smmr(['knative-serving', 'team-a'], '9', {labels: {added: 'later'}})}
    const refused = planUndo(e, lives([after, edited]), {force: false})
    expect(refused.plan.items).toEqual([])
    expect(refused.conflicts).toEqual([{object: 'ServiceMeshMemberRoll mesh/default', why: 'resourceVersion 9, the change set wrote 4'}])
    expect(conflictMessage(e, refused.conflicts)).toContain('ServiceMeshMemberRoll mesh/default (resourceVersion 9')
    const forced = planUndo(e, lives([after, edited]), {force: true})
    expect(forced.plan.items[0].desired?.metadata.labels).toEqual({added: 'later'})
    expect(forced.plan.items[0].desired?.spec).toEqual({members: ['knative-serving']})
    expect(forced.plan.notes.some((n) => n.level === 'warning' && n.text.includes('--force'))).toBe(true)
  })

  it('--force after a list was edited since: only the entry the verb added is taken out; entries others added stay', () => {
    const before = smmr(['knative-serving', 'knative-eventing'], '3')
    const after = smmr(['knative-serving', 'knative-eventing', 'team-a'], '4')
    const e = entry([{action: 'update', live: before, desired: after, written: '4'}])
    const edited = smmr(['knative-serving', 'knative-eventing', 'team-a', 'team-b'], '9')
    const forced = planUndo(e, lives([after, edited]), {force: true})
    expect(forced.plan.items[0].desired?.spec).toEqual({members: ['knative-serving', 'knative-eventing', 'team-b']})
    expect(forced.plan.items[0].mergePatch).toEqual({spec: {members: ['knative-serving', 'knative-eventing', 'team-b']}, metadata: {resourceVersion: '9'}})
  })

  it('merge3: keys the verb did not touch keep their live value, keys it added go, entries it removed come back', () => {
    expect(merge3({a: 1, b: [1, 2], c: 'x'}, {a: 1, b: [1]}, {a: 5, b: [1, 2, 3], c: 'x', d: true})).toEqual({a: 5, b: [1, 3], d: true})
    expect(merge3({l: ['x']}, {l: ['x', 'y']}, {l: ['z', 'x']})).toEqual({l: ['z', 'x', 'y']})
    expect(merge3({s: {v: 2}}, {s: {v: 1}}, {s: {v: 3, w: 1}})).toEqual({s: {v: 1, w: 1}})
  })

  it('a create deleted since, an update already restored and a delete re-created are already undone: nothing to do', () => {
    const created = policy('allow', '10')
    const gone = policy('old', '5')
    const before = smmr(['knative-serving'], '3')
    const after = smmr(['knative-serving', 'team-a'], '4')
    const e = entry([
      {action: 'create', live: null, desired: created, written: '10'},
      {action: 'delete', live: gone, desired: null},
      {action: 'update', live: before, desired: after, written: '4'},
    ])
    const recreated = {...policy('old', '12'), metadata: {...gone.metadata, resourceVersion: '12', uid: 'new'}}
    const u = planUndo(e, lives([created, null], [gone, recreated], [after, smmr(['knative-serving'], '11')]), {force: false})
    expect(u.plan.items).toEqual([])
    expect(u.conflicts).toEqual([])
    expect(u.alreadyUndone).toHaveLength(3)
    expect(u.plan.notes.map((n) => n.text)).toEqual([`change set ${e.id} is already undone`])
  })

  it('undoes last change first', () => {
    const a = policy('a', '1')
    const b = policy('b', '2')
    const e = entry([
      {action: 'create', live: null, desired: a, written: '1'},
      {action: 'create', live: null, desired: b, written: '2'},
    ])
    const u = planUndo(e, lives([a, a], [b, b]), {force: false})
    expect(u.plan.items.map((i) => i.live?.metadata.name)).toEqual(['b', 'a'])
  })

  it('restores only the labels and annotations of a Secret; a deleted Secret cannot be re-created', () => {
    const secret: KObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {name: 's', namespace: 'n', resourceVersion: '1', labels: {a: '1'}},
      type: 'kubernetes.io/tls',
      data: {'tls.key': 'c2VjcmV0'},
    }
    const labelled: KObject = {
      ...structuredClone(secret),
      metadata: {...secret.metadata, resourceVersion: '2', labels: {a: '1', 'networking.internal.knative.dev/certificate-uid': 'x'}},
    }
    const e = entry([{action: 'update', live: secret, desired: labelled, written: '2'}])
    expect(JSON.stringify(e)).not.toContain('c2VjcmV0')
    expect(e.changes[0].before).toEqual({apiVersion: 'v1', kind: 'Secret', metadata: {name: 's', namespace: 'n', labels: {a: '1'}}})
    const metadataOnly: KObject = {apiVersion: 'v1', kind: 'Secret', metadata: {...labelled.metadata}}
    const u = planUndo(e, lives([labelled, metadataOnly]), {force: false})
    expect(u.plan.items[0].mergePatch).toEqual({metadata: {labels: {'networking.internal.knative.dev/certificate-uid': null}, resourceVersion: '2'}})
    expect(u.plan.items[0].desired?.metadata.labels).toEqual({a: '1'})
    const del = entry([{action: 'delete', live: secret, desired: null}])
    const d = planUndo(del, lives([secret, null]), {force: false})
    expect(d.plan.items).toEqual([])
    expect(d.plan.notes[0]).toEqual({level: 'warning', text: 'Secret n/s was deleted and its data is not journaled: undo cannot create it again'})
  })
})

describe('journal records', () => {
  it('journalImage drops server fields, status and the last-applied annotation', () => {
    const o = {
      ...policy('x', '3'),
      status: {ok: true},
      metadata: {...policy('x', '3').metadata, annotations: {'kubectl.kubernetes.io/last-applied-configuration': '{}'}},
    }
    expect(journalImage(o)).toEqual({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      metadata: {name: 'x', namespace: 'team-1'},
      spec: policy('x', '3').spec,
    })
  })

  it('scrubs credentials from the arguments', () => {
    expect(scrubArgs(['whoami', '--token', 't0k', '--client-key=/k', '-n', 'x'])).toEqual(['whoami', '--token', '***', '--client-key=***', '-n', 'x'])
  })

  it('the recorder writes 0600 files in a 0700 folder, keeps applied changes across a re-plan, and finds entries', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'knmesh-journal-')), 'knmesh')
    const rec = journalRecorder({verb: 'add-namespace', args: ['a'], context: 'c', server: 'https://s/'}, () => {}, dir)
    const a = policy('a', '1')
    const b = policy('b', '2')
    expect(
      rec.record(
        [
          {action: 'create', live: null, desired: a},
          {action: 'create', live: null, desired: b},
        ],
        true,
      ),
    ).toBe(0)
    rec.written(0, {...a, metadata: {...a.metadata, resourceVersion: '41'}})
    // Saved after each write: a run killed now still knows what it wrote.
    expect(readEntries(dir)[0].changes.map((c) => [c.result, c.written])).toEqual([
      ['applied', '41'],
      ['pending', undefined],
    ])
    rec.written(1, undefined, 'conflict')
    // The re-plan after the conflict: b again; a (applied) stays in the change set.
    expect(rec.record([{action: 'create', live: null, desired: b}], true)).toBe(1)
    rec.written(1, {...b, metadata: {...b.metadata, resourceVersion: '43'}})
    rec.end()
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    const [e] = readEntries(dir)
    expect(statSync(join(dir, `${e.id}.json`)).mode & 0o777).toBe(0o600)
    expect(e.status).toBe('applied')
    expect(e.changes.map((c) => [c.name, c.result, c.written])).toEqual([
      ['a', 'applied', '41'],
      ['b', 'applied', '43'],
    ])
    expect(findEntry([e], undefined, 'https://s/', dir).id).toBe(e.id)
    expect(findEntry([e], e.id.slice(0, 10), 'https://other/', dir).id).toBe(e.id)
    expect(() => findEntry([e], undefined, 'https://other/', dir)).toThrow(/no change set for https:\/\/other\//)
    const twin = {...e, id: e.id.slice(0, -4) + 'ffff'}
    expect(() => findEntry([e, twin], e.id.slice(0, 10), 'https://s/', dir)).toThrow(
      expect.objectContaining({exitCode: 2, message: expect.stringContaining('is ambiguous')}),
    )
    expect(JSON.parse(readFileSync(join(dir, `${e.id}.json`), 'utf8')).verb).toBe('add-namespace')
  })

  it('a run whose writes all failed (refused) leaves no change set, and plain undo skips a set that applied nothing', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'knmesh-journal-')), 'knmesh')
    const ok = journalRecorder({verb: 'annotate-services', args: [], context: 'c', server: 'https://s/'}, () => {}, dir)
    const a = policy('a', '1')
    ok.record([{action: 'create', live: null, desired: a}], true)
    ok.written(0, {...a, metadata: {...a.metadata, resourceVersion: '7'}})
    ok.end()
    const refused = journalRecorder({verb: 'add-namespace', args: ['q'], context: 'c', server: 'https://s/'}, () => {}, dir)
    refused.record([{action: 'create', live: null, desired: policy('b', '2')}], true)
    refused.written(0, undefined, 'forbidden: you cannot create authorizationpolicies')
    refused.end()
    const entries = readEntries(dir)
    expect(entries.map((e) => e.verb)).toEqual(['annotate-services'])
    // A set killed before its first write came back (pending only) is not "the latest change".
    const pending = {
      ...entries[0],
      id: entries[0].id.slice(0, -4) + 'ffff',
      verb: 'tenant-authz',
      changes: entries[0].changes.map((c) => ({...c, result: 'pending' as const})),
    }
    expect(findEntry([...entries, pending], undefined, 'https://s/', dir).verb).toBe('annotate-services')
  })

  it('journalDir follows XDG_STATE_HOME, else ~/.local/state', () => {
    expect(journalDir({XDG_STATE_HOME: '/x/state'})).toBe('/x/state/knmesh')
    expect(journalDir({})).toMatch(/\.local\/state\/knmesh$/)
  })
})
