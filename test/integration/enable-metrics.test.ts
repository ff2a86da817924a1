import {describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {isolatedCluster} from '../support/cluster.js'

// enable-metrics edits KnativeServing, the SMCP and knative-serving's policies: a control plane of its own.
const cluster = isolatedCluster()

describe('enable-metrics against a real API server (guide 1.5)', () => {
  it('makes the three changes exactly as the guide, keeps user fields; second run: nothing to do', async () => {
    const c = cluster.client
    // User fields that must survive.
    const ks = (await c.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving'))!
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {
      spec: {config: {observability: {'logging.request-log-template': 'x'}, autoscaler: {'enable-scale-to-zero': 'false'}}},
    })
    await c.mergePatch(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system', {
      spec: {proxy: {networking: {trafficControl: {inbound: {excludedPorts: [15020]}}}}, tracing: {type: 'None'}},
    })
    expect(ks.metadata.name).toBe('knative-serving')

    const r = await cluster.run(['enable-metrics', '--yes'])
    expect(r.stderr).toBe('')
    expect(r.exitCode).toBe(0)

    const serving = (await c.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving'))!
    expect(serving.spec.config).toEqual({
      observability: {'metrics.backend-destination': 'prometheus', 'logging.request-log-template': 'x'},
      autoscaler: {'enable-scale-to-zero': 'false'},
    })
    const np = (await c.get(Kinds.NetworkPolicy, 'allow-from-openshift-monitoring-ns', 'knative-serving'))!
    expect(np.spec.ingress).toEqual([{from: [{namespaceSelector: {matchLabels: {name: 'openshift-monitoring'}}}]}])
    expect(np.spec.podSelector).toEqual({})
    const smcp = (await c.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system'))!
    expect(smcp.spec.proxy.networking.trafficControl.inbound.excludedPorts).toEqual([15020, 8444])
    expect(smcp.spec.tracing).toEqual({type: 'None'})
    expect(smcp.spec.profiles).toEqual(['default'])

    const again = await cluster.run(['enable-metrics', '--yes'])
    expect(again.exitCode).toBe(0)
    expect(again.stdout.trim()).toBe('nothing to do: the cluster already matches')

    // configure-mesh builds on the same port list: it adds only 8022 now.
    const mesh = await cluster.run(['configure-mesh', '--yes'])
    expect(mesh.exitCode).toBe(0)
    expect((await c.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system'))!.spec.proxy.networking.trafficControl.inbound.excludedPorts).toEqual([
      15020, 8444, 8022,
    ])
    expect((await cluster.run(['enable-metrics', '--yes'])).stdout.trim()).toBe('nothing to do: the cluster already matches')
  })

  it("leaves an equivalent policy alone instead of adding the guide's", async () => {
    const c = cluster.client
    await c.delete(Kinds.NetworkPolicy, 'allow-from-openshift-monitoring-ns', 'knative-serving')
    await c.create({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {name: 'monitoring-in', namespace: 'knative-serving'},
      spec: {podSelector: {}, policyTypes: ['Ingress'], ingress: [{from: [{namespaceSelector: {matchLabels: {name: 'openshift-monitoring'}}}]}]},
    })
    const r = await cluster.run(['enable-metrics', '--yes'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('NetworkPolicy knative-serving/monitoring-in already lets openshift-monitoring in')
    expect(r.stdout).toContain('nothing to do: the cluster already matches')
    expect(await c.get(Kinds.NetworkPolicy, 'allow-from-openshift-monitoring-ns', 'knative-serving')).toBeNull()
  })

  it('a dry run changes nothing; no control plane: a one-line error and nothing changed', async () => {
    const c = cluster.client
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {spec: {config: {observability: {'metrics.backend-destination': null}}}})
    const dry = await cluster.run(['enable-metrics', '--dry-run=client'])
    expect(dry.exitCode).toBe(0)
    expect(dry.stdout).toContain('+      metrics.backend-destination: prometheus')
    expect((await c.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving'))!.spec.config.observability['metrics.backend-destination']).toBeUndefined()

    const r = await cluster.run(['enable-metrics', '--mesh-namespace', 'knative-eventing', '--yes'])
    expect(r.exitCode).toBe(4)
    expect(r.stderr.trim()).toBe(
      'error: there is no ServiceMeshControlPlane in knative-eventing: create it first (kubectl knmesh configure-mesh --create), or pass --mesh-namespace',
    )
    expect((await c.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving'))!.spec.config.observability['metrics.backend-destination']).toBeUndefined()
  })
})
