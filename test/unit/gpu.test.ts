import {describe, expect, it} from 'vitest'
import {actionOf} from '../../src/change/plan.js'
import {KnmeshError} from '../../src/errors.js'
import {auditGpuServices, capacityProblem, gpuChecks, desiredGpuService, gpuCapacity, gpuRows, parseGpuCount, planGpuLimit} from '../../src/mesh/gpu.js'
import type {KObject} from '../../src/kube/types.js'

const ksvc = (containers: unknown[], name = 'hello'): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: {name, namespace: 'my-app', resourceVersion: '5', labels: {team: 'a'}},
  spec: {
    template: {metadata: {annotations: {'sidecar.istio.io/inject': 'true'}}, spec: {containerConcurrency: 0, containers}},
    traffic: [{latestRevision: true, percent: 100}],
  },
})

const node = (name: string, gpus: number | undefined, arch = 'amd64', extra: {unschedulable?: boolean; ready?: string} = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {name, labels: {'kubernetes.io/arch': arch}},
  spec: extra.unschedulable ? {unschedulable: true} : {},
  status: {
    allocatable: gpus === undefined ? {cpu: '8'} : {cpu: '8', 'nvidia.com/gpu': String(gpus)},
    ...(extra.ready ? {conditions: [{type: 'Ready', status: extra.ready}]} : {}),
  },
})

describe('parseGpuCount', () => {
  it('accepts non-negative integers only', () => {
    expect(parseGpuCount('0')).toBe(0)
    expect(parseGpuCount('3')).toBe(3)
    expect(parseGpuCount('03')).toBe(3)
    for (const bad of ['-1', '1.5', 'abc', '', '1e2', '2k', '+1', '9999999']) expect(parseGpuCount(bad), bad).toBeNull()
  })
})

describe('desiredGpuService', () => {
  it('sets nvidia.com/gpu: "3" in the first container, keeping other resources, containers and fields', () => {
    const live = ksvc([
      {image: 'img', resources: {limits: {memory: '256Mi'}, requests: {cpu: '100m'}}},
      {name: 'side', image: 'side', resources: {limits: {cpu: '1'}}},
    ])
    const d = desiredGpuService(live, 3)
    expect(d.spec.template.spec.containers[0].resources).toEqual({limits: {memory: '256Mi', 'nvidia.com/gpu': '3'}, requests: {cpu: '100m'}})
    expect(d.spec.template.spec.containers[1]).toEqual({name: 'side', image: 'side', resources: {limits: {cpu: '1'}}})
    expect(d.spec.traffic).toEqual(live.spec.traffic)
    expect(d.spec.template.metadata).toEqual(live.spec.template.metadata)
    expect(d.metadata.labels).toEqual({team: 'a'})
    expect(live.spec.template.spec.containers[0].resources.limits).toEqual({memory: '256Mi'}) // live not mutated
  })

  it('creates resources.limits when the container has none', () => {
    const d = desiredGpuService(ksvc([{image: 'img'}]), 1)
    expect(d.spec.template.spec.containers[0]).toEqual({image: 'img', resources: {limits: {'nvidia.com/gpu': '1'}}})
  })

  it('edits the --container named one', () => {
    const d = desiredGpuService(
      ksvc([
        {name: 'web', image: 'a'},
        {name: 'inference', image: 'b'},
      ]),
      2,
      'inference',
    )
    expect(d.spec.template.spec.containers[0]).toEqual({name: 'web', image: 'a'})
    expect(d.spec.template.spec.containers[1].resources).toEqual({limits: {'nvidia.com/gpu': '2'}})
  })

  it('refuses an unknown container, naming the ones there are', () => {
    expect(() => desiredGpuService(ksvc([{name: 'web', image: 'a'}, {image: 'b'}]), 2, 'nope')).toThrow(
      'has no container "nope" (containers: web, #1 (unnamed))',
    )
  })

  it('keeps a live integer spelling of the same count: no change, no new revision', () => {
    const live = ksvc([{image: 'img', resources: {limits: {'nvidia.com/gpu': 3}}}])
    expect(actionOf({live, desired: desiredGpuService(live, 3)})).toBe('unchanged')
  })

  it('keeps an explicit GPU request equal to the new limit', () => {
    const live = ksvc([{image: 'img', resources: {limits: {'nvidia.com/gpu': '1'}, requests: {'nvidia.com/gpu': '1', cpu: '1'}}}])
    expect(desiredGpuService(live, 3).spec.template.spec.containers[0].resources).toEqual({
      limits: {'nvidia.com/gpu': '3'},
      requests: {'nvidia.com/gpu': '3', cpu: '1'},
    })
  })

  it('count 0 removes the limit and the request, and empty maps it leaves', () => {
    const live = ksvc([{image: 'img', resources: {limits: {'nvidia.com/gpu': '2'}, requests: {'nvidia.com/gpu': '2'}}}])
    expect(desiredGpuService(live, 0).spec.template.spec.containers[0]).toEqual({image: 'img'})
    const mixed = ksvc([{image: 'img', resources: {limits: {'nvidia.com/gpu': '2', memory: '1Gi'}}}])
    expect(desiredGpuService(mixed, 0).spec.template.spec.containers[0].resources).toEqual({limits: {memory: '1Gi'}})
  })

  it('count 0 on a service without a GPU limit is unchanged', () => {
    const live = ksvc([{image: 'img', resources: {limits: {memory: '1Gi'}}}])
    expect(actionOf({live, desired: desiredGpuService(live, 0)})).toBe('unchanged')
  })
})

describe('GPU capacity', () => {
  it('fits when a schedulable node has enough; names the largest otherwise', () => {
    const nodes = [node('a', 2), node('b', 1), node('cpu', undefined)]
    expect(gpuCapacity(nodes, 2)).toEqual({fits: true, largest: {name: 'a', gpus: 2}, excluded: []})
    expect(gpuCapacity(nodes, 3).fits).toBe(false)
    expect(capacityProblem(nodes, 3)).toBe(
      "no schedulable node has 3 allocatable nvidia.com/gpu (the largest: a with 2): the new revision's pods would stay Pending",
    )
  })

  it('does not count s390x, ppc64le, cordoned or NotReady nodes, and says so', () => {
    const nodes = [
      node('z', 8, 's390x'),
      node('p', 8, 'ppc64le'),
      node('cordoned', 8, 'amd64', {unschedulable: true}),
      node('down', 8, 'arm64', {ready: 'False'}),
      node('small', 1, 'arm64', {ready: 'True'}),
    ]
    const cap = gpuCapacity(nodes, 4)
    expect(cap.fits).toBe(false)
    expect(cap.largest).toEqual({name: 'small', gpus: 1})
    expect(cap.excluded.map((n) => n.name)).toEqual(['z', 'p', 'cordoned', 'down'])
    const text = capacityProblem(nodes, 4)!
    expect(text).toContain('z with 8 (architecture s390x is not supported for GPUs)')
    expect(text).toContain('p with 8 (architecture ppc64le is not supported for GPUs)')
    expect(text).toContain('cordoned with 8 (cordoned)')
    expect(text).toContain('down with 8 (not Ready)')
  })

  it('reads the architecture from the beta label or nodeInfo when the label is missing', () => {
    const beta = {...node('b', 4), metadata: {name: 'b', labels: {'beta.kubernetes.io/arch': 'ppc64le'}}}
    const info = {...node('i', 4), metadata: {name: 'i'}, status: {allocatable: {'nvidia.com/gpu': '4'}, nodeInfo: {architecture: 's390x'}}}
    expect(gpuCapacity([beta, info], 1).fits).toBe(false)
  })

  it('without any GPU node, points at the GPU Operator', () => {
    expect(capacityProblem([node('cpu', undefined)], 1)).toContain('no schedulable node offers any: is the NVIDIA GPU Operator installed?')
    expect(capacityProblem([], 0)).toBeNull()
  })
})

describe('planGpuLimit', () => {
  it('plans the update with a rollout note and a capacity warning', () => {
    const plan = planGpuLimit({service: ksvc([{name: 'user-container', image: 'i'}]), nodes: [node('a', 1)]}, {namespace: 'my-app', name: 'hello', count: 3})
    expect(plan.items).toHaveLength(1)
    expect(actionOf(plan.items[0])).toBe('update')
    expect(plan.notes.map((n) => n.level)).toEqual(['warning', 'info'])
    expect(plan.notes[1].text).toBe(
      'Knative Service my-app/hello: this change rolls out a new revision with a GPU limit of 3 (nvidia.com/gpu) for container user-container; the current revision serves until the new one is ready',
    )
  })

  it('says nothing about a rollout when nothing changes, and warns when nodes could not be read', () => {
    const plan = planGpuLimit(
      {service: ksvc([{image: 'i', resources: {limits: {'nvidia.com/gpu': '1'}}}]), nodes: null},
      {namespace: 'my-app', name: 'hello', count: 1},
    )
    expect(actionOf(plan.items[0])).toBe('unchanged')
    expect(plan.notes).toEqual([{level: 'warning', text: 'cannot list nodes: GPU capacity not checked'}])
  })

  it('fails in one line when the service does not exist', () => {
    expect(() => planGpuLimit({service: null, nodes: []}, {namespace: 'my-app', name: 'nope', count: 1})).toThrow(KnmeshError)
    expect(() => planGpuLimit({service: null, nodes: []}, {namespace: 'my-app', name: 'nope', count: 1})).toThrow(
      'Knative Service nope not found in namespace my-app',
    )
  })
})

describe('gpuRows and auditGpuServices', () => {
  it('lists one row per container, with whether a node fits', () => {
    const services = [
      ksvc(
        [
          {image: 'i', resources: {limits: {'nvidia.com/gpu': '2'}}},
          {name: 'side', image: 's'},
        ],
        'big',
      ),
      ksvc([{name: 'c', image: 'i', resources: {limits: {'nvidia.com/gpu': 1}}}], 'small'),
    ]
    const rows = gpuRows(services, [node('a', 1)])
    expect(rows).toEqual([
      {namespace: 'my-app', service: 'big', container: '(first, unnamed)', limit: '2', gpus: 2, fits: false},
      {namespace: 'my-app', service: 'big', container: 'side', limit: '', gpus: 0},
      {namespace: 'my-app', service: 'small', container: 'c', limit: '1', gpus: 1, fits: true},
    ])
    expect(auditGpuServices(services, [node('a', 1)]).map((f) => f.service)).toEqual(['big'])
  })
})

describe('gpuChecks (for status)', () => {
  it('is one ok check when every limit fits, a warning with a fix per unsatisfiable limit', () => {
    const fits = [ksvc([{name: 'c', image: 'i', resources: {limits: {'nvidia.com/gpu': '1'}}}])]
    expect(gpuChecks(fits, [node('a', 2)])).toEqual([{id: 'gpu/capacity', status: 'ok', detail: '1 GPU limit(s), each fits a schedulable node'}])
    const checks = gpuChecks([ksvc([{name: 'c', image: 'i', resources: {limits: {'nvidia.com/gpu': '4'}}}])], [node('a', 2)])
    expect(checks).toHaveLength(1)
    expect(checks[0]).toMatchObject({
      id: 'gpu/my-app/hello/c',
      status: 'warning',
      fix: 'add GPU nodes, or lower the limit: knmesh gpu-limit hello <count> -n my-app --container c',
    })
    expect(checks[0].detail).toContain('no schedulable node has 4 allocatable nvidia.com/gpu (the largest: a with 2)')
    expect(gpuChecks([], null)[0].status).toBe('warning')
  })
})
