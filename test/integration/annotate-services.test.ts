import {describe, expect, it} from 'vitest'
import type {KubeClient} from '../../src/kube/client.js'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {createNamespace, sharedCluster, uniqueName} from '../support/cluster.js'
import {recordingProxy} from '../support/recording-proxy.js'

const cluster = sharedCluster()

/** The guide's knative-service.yaml (1.4.4) before the annotations, with fields of the user's own. */
function ksvc(namespace: string, name: string): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {name, namespace, labels: {owner: 'web'}, annotations: {'example.com/team': 'payments'}},
    spec: {
      template: {
        metadata: {annotations: {'autoscaling.knative.dev/min-scale': '1'}},
        spec: {containers: [{image: `quay.io/example/${name}:1`, env: [{name: 'TARGET', value: 'Openshift'}]}]},
      },
      traffic: [{latestRevision: true, percent: 100}],
    },
  }
}

/** A mesh namespace of this file's own, with its member roll: other files never see it. */
async function mesh(client: KubeClient, members: string[]): Promise<string> {
  const ns = uniqueName('mesh')
  await createNamespace(client, ns)
  await client.create({apiVersion: 'maistra.io/v1', kind: 'ServiceMeshMemberRoll', metadata: {name: 'default', namespace: ns}, spec: {members}})
  return ns
}

const GUIDE_SERVICE_ANNOTATIONS = {'serving.knative.openshift.io/enablePassthrough': 'true'}
const GUIDE_TEMPLATE_ANNOTATIONS = {'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/rewriteAppHTTPProbers': 'true'}

describe('annotate-services against a real API server (guide 1.4.4)', () => {
  it('annotates every service of the mesh members as the guide shows, keeps user fields; second run: nothing to do', async () => {
    const a = uniqueName('ann-a')
    const b = uniqueName('ann-b')
    const outside = uniqueName('ann-out')
    for (const ns of [a, b, outside]) await createNamespace(cluster.client, ns)
    const m = await mesh(cluster.client, ['knative-serving', 'knative-eventing', a, b])
    for (const [ns, name] of [
      [a, 'hello'],
      [a, 'world'],
      [b, 'hello'],
      [outside, 'stray'],
    ])
      await cluster.client.create(ksvc(ns, name))

    const r = await cluster.run(['annotate-services', '--all-members', '--mesh-namespace', m, '--yes'])
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain(`3 Knative Service(s) will roll out a new revision (the revision template changes): ${a}/hello, ${a}/world, ${b}/hello`)

    for (const [ns, name] of [
      [a, 'hello'],
      [a, 'world'],
      [b, 'hello'],
    ]) {
      const svc = (await cluster.client.get(Kinds.KnativeService, name, ns))!
      expect(svc.metadata.annotations).toMatchObject({...GUIDE_SERVICE_ANNOTATIONS, 'example.com/team': 'payments'})
      expect(svc.spec.template.metadata.annotations).toEqual({...GUIDE_TEMPLATE_ANNOTATIONS, 'autoscaling.knative.dev/min-scale': '1'})
      expect(svc.metadata.labels).toEqual({owner: 'web'})
      expect(svc.spec.template.spec.containers[0].env).toEqual([{name: 'TARGET', value: 'Openshift'}])
      expect(svc.spec.traffic).toEqual([{latestRevision: true, percent: 100}])
    }
    // The namespace outside the mesh was not in scope.
    const stray = (await cluster.client.get(Kinds.KnativeService, 'stray', outside))!
    expect(stray.metadata.annotations?.['serving.knative.openshift.io/enablePassthrough']).toBeUndefined()

    // The member roll is read once: --all-members' scope and the members the plan checks come from one GET.
    const proxy = await recordingProxy(cluster.kubeconfig)
    try {
      const once = await cluster.run(['annotate-services', '--all-members', '--mesh-namespace', m, '--dry-run=client'], {kubeconfig: proxy.kubeconfig})
      expect(once.exitCode, once.stderr).toBe(0)
      expect(proxy.exchanges.filter((e) => e.method === 'GET' && e.path === `/apis/maistra.io/v1/namespaces/${m}/servicemeshmemberrolls/default`)).toHaveLength(
        1,
      )
    } finally {
      await proxy.close()
    }

    const again = await cluster.run(['annotate-services', '--all-members', '--mesh-namespace', m, '--yes'])
    expect(again.exitCode).toBe(0)
    expect(again.stdout.trim()).toBe('nothing to do: the cluster already matches')
  })

  it('one service by name; services outside the mesh are annotated and listed', async () => {
    const inMesh = uniqueName('ann-in')
    const out = uniqueName('ann-out')
    for (const ns of [inMesh, out]) await createNamespace(cluster.client, ns)
    const m = await mesh(cluster.client, [inMesh])
    await cluster.client.create(ksvc(inMesh, 'one'))
    await cluster.client.create(ksvc(inMesh, 'two'))
    await cluster.client.create(ksvc(out, 'three'))

    const one = await cluster.run(['annotate-services', 'one', '-n', inMesh, '--mesh-namespace', m, '--yes'])
    expect(one.exitCode).toBe(0)
    expect((await cluster.client.get(Kinds.KnativeService, 'one', inMesh))!.spec.template.metadata.annotations).toMatchObject(GUIDE_TEMPLATE_ANNOTATIONS)
    expect((await cluster.client.get(Kinds.KnativeService, 'two', inMesh))!.spec.template.metadata.annotations).toEqual({
      'autoscaling.knative.dev/min-scale': '1',
    })

    const both = await cluster.run(['annotate-services', '--namespaces', `${inMesh},${out}`, '--mesh-namespace', m, '--yes'])
    expect(both.exitCode).toBe(0)
    expect(both.stderr).toContain(`warning: 1 service(s) in namespace(s) that are not mesh members of ${m} (${out}): ${out}/three`)
    expect(both.stderr).toContain(`knmesh add-namespace ${out}`)
    expect((await cluster.client.get(Kinds.KnativeService, 'three', out))!.metadata.annotations).toMatchObject(GUIDE_SERVICE_ANNOTATIONS)
  })

  it('refuses bad input before any request, and a missing service clearly; no terminal, no --yes: nothing applied', async () => {
    const ns = uniqueName('ann-bad')
    await createNamespace(cluster.client, ns)
    await cluster.client.create(ksvc(ns, 'hello'))
    const bad = await cluster.run(['annotate-services', 'Bad_Name', '-n', ns])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/^error: invalid service name "Bad_Name"/)
    const mixed = await cluster.run(['annotate-services', 'hello', '--all-members'])
    expect(mixed.exitCode).toBe(2)
    const missing = await cluster.run(['annotate-services', 'nope', '-n', ns, '--yes'])
    expect(missing.exitCode).toBe(6) // issue 18 item 5: a name that does not exist has its own exit code (was 4)
    expect(missing.stderr.trim()).toBe(`error: there is no Knative Service nope in namespace ${ns}`)
    const noTty = await cluster.run(['annotate-services', '-n', ns])
    expect(noTty.exitCode).toBe(3)
    expect((await cluster.client.get(Kinds.KnativeService, 'hello', ns))!.metadata.annotations).toEqual({'example.com/team': 'payments'})
  })
})
