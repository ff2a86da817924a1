import {describe, expect, it} from 'vitest'
import {desiredIstio, desiredMeshMtls, istioFindings, parsePortList} from '../../src/mesh/sail.js'
import {injectionLabel, planMembers3} from '../../src/mesh/members3.js'
import type {KObject} from '../../src/kube/types.js'

const istio = (spec: Record<string, unknown> = {}, rev = 'default'): KObject => ({
  apiVersion: 'sailoperator.io/v1',
  kind: 'Istio',
  metadata: {name: 'default'},
  spec: {namespace: 'istio-system', ...spec},
  status: {activeRevisionName: rev},
})

describe('Service Mesh 3 planners', () => {
  it('excludeInboundPorts stays a comma-separated string, user ports kept first, 8444 and 8022 added once', () => {
    const d = desiredIstio(istio({values: {global: {proxy: {excludeInboundPorts: '9090, 8022'}}}}))
    expect(d.spec.values.global.proxy.excludeInboundPorts).toBe('9090,8022,8444')
    expect(parsePortList(' 1, ,2')).toEqual(['1', '2'])
    expect(desiredIstio(d)).toEqual(d)
  })
  it('the drain is raised to 35s when shorter, a longer one kept', () => {
    expect(
      desiredIstio(istio({values: {meshConfig: {defaultConfig: {terminationDrainDuration: '5s'}}}})).spec.values.meshConfig.defaultConfig
        .terminationDrainDuration,
    ).toBe('35s')
    expect(
      desiredIstio(istio({values: {meshConfig: {defaultConfig: {terminationDrainDuration: '10m'}}}})).spec.values.meshConfig.defaultConfig
        .terminationDrainDuration,
    ).toBe('10m')
  })
  it('an existing mesh-wide PeerAuthentication gets STRICT merged in (the oldest); else mesh-mtls is created', () => {
    const pa = (name: string, at: string, spec: Record<string, unknown>): KObject => ({
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: {name, namespace: 'istio-system', creationTimestamp: at},
      spec,
    })
    const item = desiredMeshMtls({
      meshNamespace: 'istio-system',
      istio: null,
      peerAuthentications: [
        pa('b', '2024-02-01T00:00:00Z', {mtls: {mode: 'PERMISSIVE'}}),
        pa('a', '2024-01-01T00:00:00Z', {mtls: {mode: 'PERMISSIVE'}, portLevelMtls: {}}),
      ],
    })
    expect(item.desired?.metadata.name).toBe('a')
    expect(item.desired?.spec).toEqual({mtls: {mode: 'STRICT'}, portLevelMtls: {}})
    expect(desiredMeshMtls({meshNamespace: 'istio-system', istio: null, peerAuthentications: []}).desired?.metadata.name).toBe('mesh-mtls')
    expect(istioFindings({meshNamespace: 'istio-system', istio: istio(), peerAuthentications: []})).toEqual([
      'terminationDrainDuration is not set (at least 35s needed)',
      'spec.values.global.proxy.excludeInboundPorts lacks 8444, 8022',
      'no mesh-wide PeerAuthentication in istio-system (mTLS is not STRICT)',
    ])
  })
  it('injection label: istio-injection=enabled for revision default, istio.io/rev otherwise', () => {
    expect(injectionLabel(istio())).toEqual(['istio-injection', 'enabled'])
    expect(injectionLabel(istio({}, 'default-v1-27-latest'))).toEqual(['istio.io/rev', 'default-v1-27-latest'])
  })
  it('add-namespace on a missing namespace warns (strict: throws); remove keeps user labels', () => {
    const ns = (name: string, labels: Record<string, string>): KObject => ({apiVersion: 'v1', kind: 'Namespace', metadata: {name, labels}})
    const state = {
      meshNamespace: 'istio-system',
      istio: istio(),
      namespaces: new Map<string, KObject | null>([
        ['gone', null],
        ['app', ns('app', {'istio-injection': 'enabled', x: 'y'})],
      ]),
    }
    expect(planMembers3(state, {add: ['gone']}).notes.some((n) => n.level === 'warning' && n.text.includes('gone'))).toBe(true)
    expect(() => planMembers3(state, {add: ['gone'], strict: true})).toThrow('namespace gone does not exist')
    expect(planMembers3(state, {remove: ['app']}).items[0].desired?.metadata.labels).toEqual({x: 'y'})
  })
  it('add-namespace knative-serving on mesh 3: no injection label (its pods are injected by pod labels), a note says so', () => {
    const ns = (name: string): KObject => ({apiVersion: 'v1', kind: 'Namespace', metadata: {name, labels: {}}})
    const state = {
      meshNamespace: 'istio-system',
      istio: istio(),
      namespaces: new Map<string, KObject | null>([
        ['knative-serving', ns('knative-serving')],
        ['app', ns('app')],
      ]),
    }
    const plan = planMembers3(state, {add: ['knative-serving', 'app']})
    expect(plan.items.map((i) => i.desired?.metadata.name)).toEqual(['app'])
    expect(plan.notes.map((n) => n.text)).toContain(
      "knative-serving gets no injection label on Service Mesh 3: Knative's pods there are injected by pod labels (knmesh enable-istio)",
    )
  })
})
