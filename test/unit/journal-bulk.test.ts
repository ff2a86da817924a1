import {appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {liveKey, planUndo} from '../../src/change/undo.js'
import {bulkJournalRecorder, findEntry, readEntries, readEntry, readSummaries} from '../../src/journal/store.js'
import type {KObject} from '../../src/kube/types.js'

const LABEL = 'networking.internal.knative.dev/certificate-uid'

/** A TLS secret as a bulk page lists it (with data, to prove it is never journaled) and the label change planned for it. */
function secretChange(name: string, rv: string): {action: 'update'; live: KObject; desired: KObject} {
  const live: KObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {name, namespace: 'team', uid: `u-${name}`, resourceVersion: rv, labels: {app: 'web'}, managedFields: [{manager: 'kubectl'}]},
    data: {'tls.key': 'c2VjcmV0LWtleQ=='},
  }
  const desired = structuredClone(live)
  desired.metadata.labels = {...desired.metadata.labels, [LABEL]: 'bench'}
  return {action: 'update', live, desired}
}

const page = (from: number, n: number) => Array.from({length: n}, (_, i) => secretChange(`cert-${from + i}`, String(100 + from + i)))
const answer = (c: {desired: KObject}, rv: string): KObject => ({...c.desired, metadata: {...c.desired.metadata, resourceVersion: rv}})
const meta = {verb: 'filter-secrets', args: ['--all-tls', '-n', 'team', '--yes'], context: 'c', server: 'https://s/'}

function newDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'knmesh-journal-bulk-')), 'knmesh')
}

describe('bulk change journal (append-only)', () => {
  it('appends one line per change written, page after page, without rewriting the file; the finished file is one JSON document', () => {
    const dir = newDir()
    const rec = bulkJournalRecorder(meta, () => {}, dir)
    const first = page(0, 3)
    expect(rec.record(first, false)).toBe(0)
    const [name] = readdirSync(dir)
    const file = join(dir, name)
    const inode = statSync(file).ino
    first.forEach((c, i) => rec.written(i, answer(c, String(200 + i))))

    // The next page: the first page's lines are written (and synced) before its writes.
    const second = page(3, 2)
    expect(rec.record(second, false)).toBe(3)
    const afterFirst = readFileSync(file, 'utf8')
    expect(afterFirst.trimEnd().split('\n')).toHaveLength(1 + 3)
    // Readable while running (or after a kill): status pending, the changes written so far.
    const running = readEntries(dir)[0]
    expect(running.status).toBe('pending')
    expect(running.changes.map((c) => [c.name, c.result, c.written])).toEqual([
      ['cert-0', 'applied', '200'],
      ['cert-1', 'applied', '201'],
      ['cert-2', 'applied', '202'],
    ])
    rec.written(3, answer(second[0], '203'))
    rec.written(4, undefined, 'conflict: the object has been modified')

    rec.end()
    const done = readFileSync(file, 'utf8')
    // Appended: what the first page wrote is untouched, in the same file (no temporary file renamed over it).
    expect(done.startsWith(afterFirst)).toBe(true)
    expect(done.trimEnd().split('\n')).toHaveLength(1 + 5 + 1)
    expect(statSync(file).ino).toBe(inode)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    const whole = JSON.parse(done)
    expect(whole).toMatchObject({version: 1, verb: 'filter-secrets', server: 'https://s/', status: 'partial'})
    expect(whole.changes).toHaveLength(5)
    expect(readEntries(dir)).toEqual([whole])
    // No Secret data, no managedFields: labels and annotations only.
    expect(done).not.toContain('c2VjcmV0LWtleQ==')
    expect(done).not.toMatch(/"(data|stringData|managedFields)"/)
    expect(whole.changes[0].after).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {name: 'cert-0', namespace: 'team', labels: {app: 'web', [LABEL]: 'bench'}},
    })
    expect(whole.changes[4].error).toBe('conflict: the object has been modified')
  })

  it('undo plans from the appended change set: the label comes off each applied secret, conditioned on the resourceVersion written', () => {
    const dir = newDir()
    const rec = bulkJournalRecorder(meta, () => {}, dir)
    const changes = page(0, 600)
    rec.record(changes.slice(0, 500), false)
    changes.slice(0, 500).forEach((c, i) => rec.written(i, answer(c, `w${i}`)))
    rec.record(changes.slice(500), false)
    changes.slice(500).forEach((c, i) => rec.written(500 + i, answer(c, `w${500 + i}`)))
    rec.end()

    const [summary] = readSummaries(dir)
    expect(summary.status).toBe('applied')
    expect(summary.changes).toHaveLength(600)
    expect(summary.changes[0]).toEqual({action: 'update', kind: 'Secret', namespace: 'team', name: 'cert-0', result: 'applied'})
    const entry = readEntry(findEntry([summary], undefined, 'https://s/', dir).id, dir)
    const live = new Map(
      changes.map((c, i): [string, KObject] => [
        liveKey({apiVersion: 'v1', kind: 'Secret', namespace: 'team', name: c.live.metadata.name}),
        {apiVersion: 'v1', kind: 'Secret', metadata: answer(c, `w${i}`).metadata},
      ]),
    )
    const u = planUndo(entry, live, {force: false})
    expect(u.conflicts).toEqual([])
    expect(u.plan.items).toHaveLength(600)
    expect(u.plan.items[0].mergePatch).toEqual({metadata: {labels: {[LABEL]: null}, resourceVersion: 'w599'}})
  })

  it('a change planned but not started (interrupted) makes the set partial; a run that applied nothing leaves no file', () => {
    const dir = newDir()
    const rec = bulkJournalRecorder(meta, () => {}, dir)
    const changes = page(0, 3)
    rec.record(changes, false)
    rec.written(0, answer(changes[0], '300'))
    rec.end()
    expect(readEntries(dir).map((e) => [e.status, e.changes.length])).toEqual([['partial', 1]])

    const empty = newDir()
    const refused = bulkJournalRecorder(meta, () => {}, empty)
    refused.record(page(0, 2), false)
    refused.written(0, undefined, 'forbidden')
    refused.written(1, undefined, 'forbidden')
    refused.end()
    expect(readdirSync(empty)).toEqual([])
  })

  it('a run killed while writing a line keeps the changes written before it (status pending)', () => {
    const dir = newDir()
    const rec = bulkJournalRecorder(meta, () => {}, dir)
    const changes = page(0, 2)
    rec.record(changes, false)
    rec.written(0, answer(changes[0], '400'))
    rec.record([], false) // a page boundary: the lines so far are written
    const [name] = readdirSync(dir)
    appendFileSync(join(dir, name), ',{"action":"update","apiVersion":"v1","ki')
    const [e] = readEntries(dir)
    expect(e.status).toBe('pending')
    expect(e.changes.map((c) => [c.name, c.result])).toEqual([['cert-0', 'applied']])
    expect(findEntry(readSummaries(dir), undefined, 'https://s/', dir).id).toBe(e.id)
  })

  it('a journal that cannot be written is reported once and the run goes on', () => {
    const dir = join(newDir(), 'file')
    appendFileSync(join(dir, '..', '..', 'knmesh'), '') // a file where the folder should be: mkdir fails
    const warnings: string[] = []
    const rec = bulkJournalRecorder(meta, (t) => warnings.push(t), join(dir, '..', '..', 'knmesh', 'sub'))
    const changes = page(0, 2)
    rec.record(changes, false)
    rec.written(0, answer(changes[0], '1'))
    rec.record(page(2, 1), false)
    rec.end()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/cannot write the change journal .*: this change cannot be undone with knmesh undo/)
  })
})
