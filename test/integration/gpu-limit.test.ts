import {describe, expect, it} from 'vitest'
import type {KubeClient} from '../../src/kube/client.js'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {createNamespace, isolatedCluster, uniqueName} from '../support/cluster.js'

// Nodes are cluster-wide: this file has a control plane of its own so no other file's nodes count.
const cluster = isolatedCluster()

/**
 * Test double for a kubelet: registers a Node through the API server and
 * reports its allocatable resources through the status subresource, as the
 * kubelet and the NVIDIA device plugin would.
 */
async function fakeKubeletNode(client: KubeClient, name: string, gpus: number, opts: {arch?: string; unschedulable?: boolean} = {}): Promise<void> {
  await client.create({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {name, labels: {'kubernetes.io/arch': opts.arch ?? 'amd64', 'kubernetes.io/hostname': name}},
    spec: opts.unschedulable ? {unschedulable: true} : {},
  })
  const resources = {cpu: '16', memory: '64Gi', pods: '110', ...(gpus > 0 ? {'nvidia.com/gpu': String(gpus)} : {})}
  await client.request('PATCH', `/api/v1/nodes/${name}/status`, {
    body: {
      status: {capacity: resources, allocatable: resources, conditions: [{type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test double'}]},
    },
    contentType: 'application/merge-patch+json',
  })
}

/** Starts a test from a known set of nodes: deletes every node, then registers none. */
async function noNodes(client: KubeClient): Promise<void> {
  for (const n of await client.listAll(Kinds.Node)) await client.delete(Kinds.Node, n.metadata.name)
}

/** The guide's `kn service create hello --image <service-image>`, plus a memory limit and a second container to keep. */
async function helloService(client: KubeClient): Promise<string> {
  const ns = uniqueName('gpu')
  await createNamespace(client, ns)
  await client.create({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {name: 'hello', namespace: ns, labels: {team: 'ml'}, annotations: {'serving.knative.dev/creator': 'kn'}},
    spec: {
      template: {
        metadata: {annotations: {'autoscaling.knative.dev/max-scale': '2'}},
        spec: {
          containers: [
            {name: 'user-container', image: 'quay.io/example/hello:1', resources: {limits: {memory: '512Mi'}, requests: {cpu: '250m'}}},
            {name: 'sidecar', image: 'quay.io/example/side:1', resources: {limits: {cpu: '1'}}},
          ],
        },
      },
    },
  })
  return ns
}

const hello = (ns: string) => cluster.client.get(Kinds.KnativeService, 'hello', ns) as Promise<KObject>
const containers = async (ns: string) => (await hello(ns)).spec.template.spec.containers

describe('gpu-limit against a real API server', () => {
  it('refuses a bad COUNT in one line before changing anything', async () => {
    const ns = await helloService(cluster.client)
    const before = (await hello(ns)).metadata.resourceVersion
    for (const bad of ['-1', '1.5', 'two', '3k']) {
      const r = await cluster.run(['gpu-limit', 'hello', bad, '-n', ns, '--yes'])
      expect(r.exitCode, bad).toBe(2)
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1)
      expect(r.stderr).toContain('must be a non-negative integer')
    }
    const missing = await cluster.run(['gpu-limit', 'hello', '-n', ns, '--yes'])
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr).toContain('missing COUNT')
    const both = await cluster.run(['gpu-limit', 'hello', '2', '--remove', '-n', ns, '--yes'])
    expect(both.exitCode).toBe(2)
    expect((await hello(ns)).metadata.resourceVersion).toBe(before)
  })

  it('says in one line when the Knative Service or the container does not exist', async () => {
    const ns = await helloService(cluster.client)
    const r = await cluster.run(['gpu-limit', 'nope', '1', '-n', ns, '--yes'])
    // A name that does not exist is exit 6 (README's exit codes), as for namespaces.
    expect(r.exitCode).toBe(6)
    expect(r.stderr.trim()).toBe(`error: Knative Service nope not found in namespace ${ns}`)
    const c = await cluster.run(['gpu-limit', 'hello', '1', '--container', 'gpu', '-n', ns, '--yes'])
    expect(c.exitCode).toBe(4)
    expect(c.stderr).toContain('has no container "gpu" (containers: user-container, sidecar)')
  })

  it('sets, changes and removes the limit, keeping everything else; warns when no node has the GPUs', async () => {
    const ns = await helloService(cluster.client)
    const original = await hello(ns)

    // Nodes that do not count: IBM Z and Power (not supported), a cordoned one. No GPU node counts yet.
    await noNodes(cluster.client)
    await fakeKubeletNode(cluster.client, 'gpu-s390x', 8, {arch: 's390x'})
    await fakeKubeletNode(cluster.client, 'gpu-ppc64le', 8, {arch: 'ppc64le'})
    await fakeKubeletNode(cluster.client, 'gpu-cordoned', 8, {unschedulable: true})
    await fakeKubeletNode(cluster.client, 'cpu-only', 0)

    // Guide 5.1 step 1: limit 1.
    const set = await cluster.run(['gpu-limit', 'hello', '1', '-n', ns, '--yes'])
    expect(set.exitCode, set.stderr).toBe(0)
    const warning = set.stderr.split('\n').filter((l) => l.startsWith('warning:'))
    expect(warning, set.stderr).toHaveLength(1)
    expect(warning[0]).toMatch(
      /^warning: no schedulable node has 1 allocatable nvidia\.com\/gpu \(no schedulable node offers any: is the NVIDIA GPU Operator installed\?; not counted: .*\): the new revision's pods would stay Pending$/,
    )
    expect(warning[0]).toContain('gpu-s390x with 8 (architecture s390x is not supported for GPUs)')
    expect(warning[0]).toContain('gpu-ppc64le with 8 (architecture ppc64le is not supported for GPUs)')
    expect(warning[0]).toContain('gpu-cordoned with 8 (cordoned)')
    expect(warning[0]).not.toContain('cpu-only')
    expect(set.stdout).toContain(
      `Knative Service ${ns}/hello: this change rolls out a new revision with a GPU limit of 1 (nvidia.com/gpu) for container user-container`,
    )
    expect(set.stdout).toContain('+              nvidia.com/gpu: "1"')
    let [user, side] = await containers(ns)
    expect(user.resources).toEqual({limits: {memory: '512Mi', 'nvidia.com/gpu': '1'}, requests: {cpu: '250m'}})
    expect(side).toEqual(original.spec.template.spec.containers[1])
    const after = await hello(ns)
    expect(after.metadata.labels).toEqual({team: 'ml'})
    expect(after.metadata.annotations?.['serving.knative.dev/creator']).toBe('kn')
    expect(after.spec.template.metadata).toEqual(original.spec.template.metadata)

    // Now a node with 2 GPUs: 3 still does not fit, and the largest is named.
    await fakeKubeletNode(cluster.client, 'gpu-small', 2)
    const three = await cluster.run(['gpu-limit', 'hello', '3', '-n', ns, '--yes'])
    expect(three.exitCode, three.stderr).toBe(0)
    expect(three.stderr).toMatch(/warning: no schedulable node has 3 allocatable nvidia\.com\/gpu \(the largest: gpu-small with 2; not counted: /)
    expect(three.stdout).toContain('-              nvidia.com/gpu: "1"')
    expect(three.stdout).toContain('+              nvidia.com/gpu: "3"')
    ;[user] = await containers(ns)
    expect(user.resources.limits).toEqual({memory: '512Mi', 'nvidia.com/gpu': '3'})

    // A node with 4 GPUs: 3 fits, no warning; a second run is a no-op.
    await fakeKubeletNode(cluster.client, 'gpu-big', 4)
    const rv = (await hello(ns)).metadata.resourceVersion
    const again = await cluster.run(['gpu-limit', 'hello', '3', '-n', ns])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
    expect(again.stdout).not.toContain('new revision')
    expect(again.stderr).not.toContain('warning')
    expect((await hello(ns)).metadata.resourceVersion).toBe(rv)

    // COUNT 0 removes it; --remove afterwards has nothing to do.
    const zero = await cluster.run(['gpu-limit', 'hello', '0', '-n', ns, '--yes'])
    expect(zero.exitCode, zero.stderr).toBe(0)
    expect(zero.stdout).toContain('a new revision with no GPU limit for container user-container')
    expect(await containers(ns)).toEqual(original.spec.template.spec.containers)
    const remove = await cluster.run(['gpu-limit', 'hello', '--remove', '-n', ns, '--yes'])
    expect(remove.exitCode).toBe(0)
    expect(remove.stdout).toContain('nothing to do')
  })

  it('--container limits the named container; --remove removes only that', async () => {
    const ns = await helloService(cluster.client)
    const r = await cluster.run(['gpu-limit', 'hello', '2', '--container', 'sidecar', '-n', ns, '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const [user, side] = await containers(ns)
    expect(user.resources.limits).toEqual({memory: '512Mi'})
    expect(side.resources).toEqual({limits: {cpu: '1', 'nvidia.com/gpu': '2'}})
    const rm = await cluster.run(['gpu-limit', 'hello', '--remove', '--container', 'sidecar', '-n', ns, '--yes'])
    expect(rm.exitCode, rm.stderr).toBe(0)
    expect((await containers(ns))[1].resources).toEqual({limits: {cpu: '1'}})
  })

  it('--dry-run=client shows the change and -o yaml the desired Service; nothing is written', async () => {
    const ns = await helloService(cluster.client)
    const rv = (await hello(ns)).metadata.resourceVersion
    const r = await cluster.run(['gpu-limit', 'hello', '1', '-n', ns, '--dry-run=client', '-o', 'yaml'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('kind: Service')
    expect(r.stdout).toContain('nvidia.com/gpu: "1"')
    expect(r.stderr).toContain('dry run (client)')
    expect((await hello(ns)).metadata.resourceVersion).toBe(rv)
  })

  it("--list shows each service's GPU limit and whether a node fits it, as a table and as JSON", async () => {
    const ns = await helloService(cluster.client)
    await noNodes(cluster.client)
    await fakeKubeletNode(cluster.client, 'gpu-list', 4)
    await cluster.client.create({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {name: 'huge', namespace: ns},
      spec: {template: {spec: {containers: [{image: 'quay.io/example/huge:1', resources: {limits: {'nvidia.com/gpu': '64'}}}]}}},
    })
    expect((await cluster.run(['gpu-limit', 'hello', '2', '-n', ns, '--yes'])).exitCode).toBe(0)
    const table = await cluster.run(['gpu-limit', '--list', '-n', ns])
    expect(table.exitCode, table.stderr).toBe(0)
    const lines = table.stdout.split('\n').map((l) => l.trim().split(/\s{2,}/))
    expect(lines[0]).toEqual(['SERVICE', 'CONTAINER', 'GPU LIMIT', 'A NODE FITS'])
    expect(lines).toContainEqual(['hello', 'user-container', '2', 'yes'])
    expect(lines).toContainEqual(['hello', 'sidecar', '-'])
    expect(lines).toContainEqual(['huge', '(first, unnamed)', '64', 'no'])
    const json = await cluster.run(['gpu-limit', '--list', '-n', ns, '-o', 'json'])
    expect(json.exitCode).toBe(0)
    const data = JSON.parse(json.stdout)
    expect(data.namespace).toBe(ns)
    expect(data.services).toContainEqual({namespace: ns, service: 'huge', container: '(first, unnamed)', limit: '64', gpus: 64, fits: false})
    const bad = await cluster.run(['gpu-limit', 'hello', '--list', '-n', ns])
    expect(bad.exitCode).toBe(2)
  })
  it('the restricted (view) user lists without node capacity and cannot change the limit', async () => {
    const ns = await helloService(cluster.client)
    const list = await cluster.run(['gpu-limit', '--list', '-n', ns], {kubeconfig: cluster.restrictedKubeconfig})
    expect(list.exitCode, list.stderr).toBe(0)
    expect(list.stdout).toContain('user-container')
    expect(list.stderr.trim()).toBe('warning: cannot list nodes: GPU capacity not checked')
    const set = await cluster.run(['gpu-limit', 'hello', '1', '-n', ns, '--yes'], {kubeconfig: cluster.restrictedKubeconfig})
    expect(set.exitCode).toBe(4)
    expect(set.stderr).toContain('warning: cannot list nodes: GPU capacity not checked')
    expect(set.stderr.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      expect.stringMatching(/^error: forbidden: you cannot patch services\.serving\.knative\.dev in namespace /),
    ])
    expect((await containers(ns))[0].resources.limits).toEqual({memory: '512Mi'})
  })
  it('loses no update when runs for both containers race each other and another writer', async () => {
    const ns = await helloService(cluster.client)
    const other = (async () => {
      // Another admin edits the same Service meanwhile (as `kn service update --annotation` would).
      for (let i = 0; i < 5; i++) {
        const live = await hello(ns)
        await cluster.client
          .mergePatch(Kinds.KnativeService, 'hello', ns, {metadata: {resourceVersion: live.metadata.resourceVersion, annotations: {[`edit-${i}`]: 'x'}}})
          .catch(() => undefined)
      }
    })()
    const [a, b] = await Promise.all([
      cluster.run(['gpu-limit', 'hello', '2', '-n', ns, '--yes']),
      cluster.run(['gpu-limit', 'hello', '1', '--container', 'sidecar', '-n', ns, '--yes']),
      other,
    ])
    expect(a.exitCode, a.stderr).toBe(0)
    expect(b.exitCode, b.stderr).toBe(0)
    const [user, side] = await containers(ns)
    expect(user.resources.limits).toEqual({memory: '512Mi', 'nvidia.com/gpu': '2'})
    expect(side.resources.limits).toEqual({cpu: '1', 'nvidia.com/gpu': '1'})
  })
})
