import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {operatorNetworkPolicies, ServerlessOperatorDouble} from '../support/serverless-operator-double.js'

// knmesh's verbs next to a stand-in for the Serverless Operator 1.32 that reconciles what it owns in knative-serving:
// a verb that fights the operator leaves work for the double and for its own second run.
const cluster = isolatedCluster()
let double: ServerlessOperatorDouble | undefined
afterAll(() => double?.stop())

const OPERATOR_MONITORING = operatorNetworkPolicies().find((p) => p.metadata.name === 'allow-from-openshift-monitoring-ns')!

function rowsOf(stdout: string): {area: string; check: string; state: string; detail: string}[] {
  return JSON.parse(stdout).rows
}

describe('knmesh next to the Serverless Operator (double of 1.32)', () => {
  it("enable-metrics before Istio writes the guide's policy; once the operator takes it over, a second run has nothing to do", async () => {
    const c = cluster.client
    double = new ServerlessOperatorDouble(c)
    const first = await cluster.run(['enable-metrics', '--yes'])
    expect(first.exitCode, first.stderr).toBe(0)
    // No Istio yet: the operator generates no policy, knmesh writes the guide's.
    expect((await c.get(Kinds.NetworkPolicy, 'allow-from-openshift-monitoring-ns', 'knative-serving'))?.spec.ingress).toEqual([
      {from: [{namespaceSelector: {matchLabels: {name: 'openshift-monitoring'}}}]},
    ])

    // Istio enabled (guide 1.4.3): the operator now generates its three policies and puts its form back.
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {spec: {ingress: {istio: {enabled: true}}}})
    const took = await double.settle()
    expect(took).toContain('update NetworkPolicy knative-serving/allow-from-openshift-monitoring-ns')
    expect(took).toContain('create NetworkPolicy knative-serving/webhook')

    const again = await cluster.run(['enable-metrics', '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain("NetworkPolicy knative-serving/allow-from-openshift-monitoring-ns is the Serverless Operator's")
    expect(again.stdout).toContain('nothing to do: the cluster already matches')
    expect(await double.settle()).toEqual([])
    const np = (await c.get(Kinds.NetworkPolicy, 'allow-from-openshift-monitoring-ns', 'knative-serving'))!
    expect(np.spec.ingress).toEqual(OPERATOR_MONITORING.spec.ingress)
    expect(np.metadata.labels).toEqual({'networking.knative.dev/ingress-provider': 'istio'})
  }, 180_000)

  it("with Istio enabled, enable-metrics leaves the operator's policies alone: the operator has nothing to undo", async () => {
    const c = cluster.client
    await c.delete(Kinds.NetworkPolicy, 'allow-from-openshift-monitoring-ns', 'knative-serving')
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {spec: {config: {observability: {'metrics.backend-destination': null}}}})
    // Before the operator has recreated its policy: knmesh says the operator creates it and writes none.
    const r = await cluster.run(['enable-metrics', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain(
      "is the Serverless Operator's (generated with Istio enabled, selector kubernetes.io/metadata.name=openshift-monitoring): it creates it",
    )
    expect(await c.get(Kinds.NetworkPolicy, 'allow-from-openshift-monitoring-ns', 'knative-serving')).toBeNull()
    const writes = await double!.settle()
    expect(writes).toContain('create NetworkPolicy knative-serving/allow-from-openshift-monitoring-ns')
    expect(writes.filter((w) => w.startsWith('update NetworkPolicy'))).toEqual([])
    expect((await cluster.run(['enable-metrics', '--yes'])).stdout).toContain('nothing to do: the cluster already matches')
    // The operator's effective backend follows the KnativeServing's value.
    expect(
      (await c.request<{data: Record<string, string>}>('GET', '/api/v1/namespaces/knative-serving/configmaps/config-observability')).data[
        'metrics.backend-destination'
      ],
    ).toBe('prometheus')
  }, 180_000)

  it('the whole guide with the operator running: setup, let it reconcile, setup again: nothing to do, status clean', async () => {
    const c = cluster.client
    await createNamespace(c, 'team-alpha-1')
    double!.start()
    const dir = mkdtempSync(join(tmpdir(), 'knmesh-op-'))
    const args = ['setup', '--namespaces', 'team-alpha-1', '--cert-dir', dir, '--metrics', '--yes']
    const first = await cluster.run(args)
    expect(first.exitCode, first.stderr + first.stdout).toBe(0)
    await double!.stop()
    await double!.settle()

    const second = await cluster.run(args)
    expect(second.exitCode, second.stderr).toBe(0)
    expect(second.stdout).not.toMatch(/\bapplied\b/)
    expect(await double!.settle()).toEqual([])

    const status = await cluster.run(['status', '-o', 'json'])
    expect(status.exitCode, status.stdout).toBe(0)
    expect(rowsOf(status.stdout).find((x) => x.area === 'metrics')).toMatchObject({state: 'ok'})
    // The operator's certificate secret keeps the operator's label.
    expect((await c.get(Kinds.Secret, 'knative-serving-certs', 'knative-serving'))?.metadata.labels?.['networking.internal.knative.dev/certificate-uid']).toBe(
      'data-plane',
    )
  }, 480_000)
})
