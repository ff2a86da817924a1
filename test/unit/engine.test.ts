import {describe, expect, it} from 'vitest'
import {patchOps} from '../../src/change/engine.js'
import {actionOf, changesOf} from '../../src/change/plan.js'
import {stripServerFields} from '../../src/kube/objects.js'
import {renderChange, toYaml} from '../../src/ui/diff.js'
import type {KObject} from '../../src/kube/types.js'

const obj = (spec: unknown, rv = '42'): KObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {name: 'x', namespace: 'n', resourceVersion: rv, uid: 'u', managedFields: [{manager: 'kubectl'}]},
  spec,
})

describe('change engine pieces', () => {
  it('classifies create, update, delete and unchanged', () => {
    expect(actionOf({live: null, desired: obj(1)})).toBe('create')
    expect(actionOf({live: obj(1), desired: null})).toBe('delete')
    expect(actionOf({live: obj(1), desired: obj(2)})).toBe('update')
    expect(actionOf({live: obj({a: 1, b: 2}), desired: obj({b: 2, a: 1}, '43')})).toBe('unchanged')
    expect(changesOf({items: [{live: obj(1), desired: obj(1)}], notes: []})).toEqual([])
  })

  it('makes each update a minimal JSON patch conditioned on the live resourceVersion', () => {
    const live = obj({keep: {deep: true}, list: ['a']})
    const desired = structuredClone(live)
    desired.spec.list.push('b')
    const ops = patchOps(live, desired)
    expect(ops).toEqual([
      {op: 'add', path: '/spec/list/1', value: 'b'},
      {op: 'replace', path: '/metadata/resourceVersion', value: '42'},
    ])
  })

  it('strips server-owned metadata from outputs', () => {
    const s = stripServerFields(obj(1))
    expect(s.metadata).toEqual({name: 'x', namespace: 'n'})
  })

  it('never prints Secret values in diffs or YAML output', () => {
    const secret = (v: string): KObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {name: 's', namespace: 'n'},
      type: 'kubernetes.io/tls',
      data: {'tls.key': v},
    })
    const before = secret(Buffer.from('PRIVATE-KEY-ONE').toString('base64'))
    const after = secret(Buffer.from('PRIVATE-KEY-TWO').toString('base64'))
    const text = renderChange('update', before, after, false) + toYaml(after)
    expect(text).not.toContain(before.data['tls.key'])
    expect(text).not.toContain(after.data['tls.key'])
    expect(text).toContain('<redacted, changed>')
  })

  it('renders a coloured unified diff only when asked', () => {
    const live = obj({replicas: 1})
    const desired = obj({replicas: 2})
    const plain = renderChange('update', live, desired, false)
    expect(plain).toContain('~ update ConfigMap/n/x')
    expect(plain).toMatch(/-\s+replicas: 1/)
    expect(plain).toMatch(/\+\s+replicas: 2/)
    expect(plain).not.toContain('\u001B[')
    expect(renderChange('update', live, desired, true)).toContain('\u001B[32m')
  })
})
