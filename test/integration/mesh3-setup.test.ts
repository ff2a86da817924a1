import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'

interface Row {
  area: string
  check: string
  state: string
  detail: string
  fix?: string
}
const rowsOf = (stdout: string) => (JSON.parse(stdout) as {rows: Row[]}).rows

/**
 * status and setup on Service Mesh 3 (isolatedCluster({mesh: 3}): the Sail + Istio 1.27 CRDs, Istio "default" and
 * IstioCNI Ready, no SMCP). The Serverless operator is played by one status patch: KnativeServing reports Ready
 * (tenant-authz on Service Mesh 3 waits for it).
 */
describe('status and setup on Service Mesh 3', () => {
  const cluster = isolatedCluster({mesh: 3})

  beforeAll(async () => {
    await createNamespace(cluster.client, 'team-alpha-1')
    await createNamespace(cluster.client, 'team-bravo-1')
    // A Knative Service deployed before the mesh (no inject label yet).
    await cluster.client.create({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {name: 'hello', namespace: 'team-alpha-1'},
      spec: {template: {spec: {containers: [{image: 'quay.io/example/hello'}]}}},
    })
    await cluster.client.request('PATCH', '/apis/operator.knative.dev/v1beta1/namespaces/knative-serving/knativeservings/knative-serving/status', {
      contentType: 'application/merge-patch+json',
      body: {status: {conditions: [{type: 'Ready', status: 'True'}]}},
    })
  })

  it('on the fresh Service Mesh 3 state, status says Service Mesh 3 and names each missing step with its command', async () => {
    const r = await cluster.run(['status', '-o', 'json'])
    expect(r.exitCode, r.stderr).toBe(1)
    expect(r.stderr).toContain('Service Mesh 3: Istio default (istio-system, revision default)')
    const failing = Object.fromEntries(
      rowsOf(r.stdout)
        .filter((x) => x.state === 'failure')
        .map((x) => [x.check, x.fix]),
    )
    expect(failing).toEqual({
      'control plane settings': 'kubectl knmesh configure-mesh',
      'wildcard-certs': 'kubectl knmesh certs',
      'gateway in knative-serving-ingress': 'kubectl knmesh create-gateways',
      'KnativeServing knative-serving/knative-serving': 'kubectl knmesh enable-istio',
    })
    const rows = rowsOf(r.stdout)
    expect(rows.find((x) => x.check === 'control plane settings')?.detail).toBe(
      'Istio default: terminationDrainDuration is not set (at least 35s needed); spec.values.global.proxy.excludeInboundPorts lacks 8444, 8022; no mesh-wide PeerAuthentication in istio-system (mTLS is not STRICT)',
    )
    expect(rows.find((x) => x.check === 'wildcard-certs')?.detail).toBe('no Secret knative-serving-ingress/wildcard-certs')
    expect(rows.some((x) => x.check === 'member roll')).toBe(false)
  })

  it('setup --yes takes it to a status with no failures (tenants isolated, the Knative Service labeled); a second setup changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'knmesh-m3-setup-'))
    const args = [
      'setup',
      '--namespaces',
      'team-alpha-1,team-bravo-1',
      '--cert-dir',
      dir,
      '--tenant',
      'team-alpha=team-alpha-1',
      '--tenant',
      'team-bravo=team-bravo-1',
      '--metrics',
      '--yes',
    ]
    const first = await cluster.run(args)
    expect(first.exitCode, first.stderr + first.stdout).toBe(0)
    expect(first.stdout).toContain('Configure the Istio and mesh-wide mTLS (1.4.2 step 1, Service Mesh 3)')
    expect(first.stdout).toContain('setup complete')
    expect((await cluster.client.get(Kinds.Namespace, 'team-alpha-1'))?.metadata.labels?.['istio-injection']).toBe('enabled')
    expect((await cluster.client.get(Kinds.KnativeService, 'hello', 'team-alpha-1'))?.spec.template.metadata.labels).toEqual({
      'sidecar.istio.io/inject': 'true',
    })
    expect(await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system').catch(() => null)).toBeNull()

    const status = await cluster.run(['status', '-o', 'json'])
    expect(status.exitCode, status.stdout).toBe(0)
    const rows = rowsOf(status.stdout)
    expect(rows.filter((x) => x.state === 'failure')).toEqual([])
    expect(rows.find((x) => x.check === 'generation')).toMatchObject({
      area: 'mesh',
      state: 'ok',
      detail: 'Service Mesh 3: Istio default (istio-system, revision default)',
    })
    expect(rows.find((x) => x.check === 'namespaces in the mesh')?.detail).toBe('2 labeled for injection: team-alpha-1, team-bravo-1')
    expect(rows.find((x) => x.check === 'cross-tenant matrix')?.detail).toBe('2 namespaces of 2 tenants: 4 pairs as expected')
    expect(rows.find((x) => x.area === 'metrics')?.state).toBe('ok')
    expect(rows.find((x) => x.area === 'services')).toMatchObject({
      state: 'ok',
      detail: 'the Knative Service in the mesh namespaces carries the Service Mesh 3 inject label and annotations',
    })

    const second = await cluster.run(args)
    expect(second.exitCode, second.stderr).toBe(0)
    expect(second.stdout.match(/nothing to do/g)?.length).toBeGreaterThanOrEqual(8)
  })
})
