import {describe, expect, it} from 'vitest'
import {readFileSync} from 'node:fs'
import {parse} from 'yaml'
import {Kinds} from '../../src/kube/kinds.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {recordingProxy} from '../support/recording-proxy.js'

const cluster = isolatedCluster()

function rowsOf(stdout: string): {area: string; check: string; state: string; detail: string; fix?: string}[] {
  return JSON.parse(stdout).rows
}

/** Counts the API requests a run made (DEBUG=knmesh prints one line per request). */
function requests(stderr: string): number {
  return stderr.split('\n').filter((l) => /^knmesh (GET|POST|PUT|PATCH|DELETE) /.test(l)).length
}

describe('status and setup on a real API server', () => {
  it('on the seeded fresh state, status names each missing step with the command that fixes it', async () => {
    const r = await cluster.run(['status', '-o', 'json'])
    expect(r.exitCode, r.stderr).toBe(1)
    const rows = rowsOf(r.stdout)
    const failing = Object.fromEntries(rows.filter((x) => x.state === 'failure').map((x) => [x.check, x.fix]))
    expect(failing).toEqual({
      'control plane settings': 'kubectl knmesh configure-mesh',
      'member roll': 'kubectl knmesh add-namespace knative-serving knative-eventing',
      'wildcard-certs': 'kubectl knmesh certs',
      'knative gateways and local gateway service': 'kubectl knmesh create-gateways',
      'KnativeServing knative-serving/knative-serving': 'kubectl knmesh enable-istio',
    })
    expect(r.stderr).toContain('{"error":{"message":"5 check(s) failed')
  })

  it('setup --yes takes the fresh state to a status with no failures; a second setup changes nothing', async () => {
    await createNamespace(cluster.client, 'team-alpha-1')
    await createNamespace(cluster.client, 'team-bravo-1')
    const dir = (await import('node:fs')).mkdtempSync((await import('node:path')).join((await import('node:os')).tmpdir(), 'knmesh-setup-'))
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
      '--no-metrics',
      '--yes',
    ]
    const first = await cluster.run(args)
    expect(first.exitCode, first.stderr + first.stdout).toBe(0)
    expect(first.stdout).toContain('setup complete')
    // Each step that changed something is a change set of its own (README, history/undo): undo takes the last.
    const history = JSON.parse((await cluster.run(['history', '-o', 'json'])).stdout) as {changeSets: {verb: string}[]}
    const verbs = history.changeSets.map((e) => e.verb)
    for (const v of ['certs', 'configure-mesh', 'add-namespace', 'create-gateways', 'enable-istio', 'tenant-authz']) expect(verbs, verbs.join(',')).toContain(v)

    const status = await cluster.run(['status', '-o', 'json'])
    expect(status.exitCode, status.stdout).toBe(0)
    const rows = rowsOf(status.stdout)
    expect(rows.filter((x) => x.state === 'failure')).toEqual([])
    expect(rows.find((x) => x.check === 'cross-tenant matrix')?.detail).toBe('2 namespaces of 2 tenants: 4 pairs as expected')
    expect(rows.find((x) => x.check === 'generation')).toMatchObject({
      area: 'mesh',
      state: 'ok',
      detail: 'Service Mesh 2: ServiceMeshControlPlane basic in istio-system',
    })
    expect(rows.find((x) => x.area === 'secret filtering')).toMatchObject({state: 'ok', detail: '1 referenced secret(s), all labelled'})
    expect(rows.find((x) => x.area === 'metrics')).toMatchObject({state: 'warning', fix: 'kubectl knmesh enable-metrics'})

    const roll = await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')
    const rv = roll?.metadata.resourceVersion
    const second = await cluster.run(args)
    expect(second.exitCode, second.stderr).toBe(0)
    expect(second.stdout.match(/nothing to do/g)?.length).toBeGreaterThanOrEqual(6)
    expect(second.stdout).not.toMatch(/\bapplied\b/)
    expect((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.metadata.resourceVersion).toBe(rv)
  }, 240_000)

  it('on a half-configured cluster, status names exactly what broke and its fix', async () => {
    await cluster.client.delete(Kinds.Gateway, 'knative-local-gateway', 'knative-serving')
    await cluster.client.mergePatch(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system', {
      spec: {members: ['knative-serving', 'team-alpha-1', 'team-bravo-1']},
    })
    const r = await cluster.run(['status', '-o', 'json'])
    expect(r.exitCode).toBe(1)
    const failing = rowsOf(r.stdout).filter((x) => x.state === 'failure')
    expect(failing.map((x) => [x.check, x.fix])).toEqual([
      ['member roll', 'kubectl knmesh add-namespace knative-eventing'],
      ['knative gateways and local gateway service', 'kubectl knmesh create-gateways'],
    ])
    expect(failing[1].detail).toBe('would create Gateway/knative-serving/knative-local-gateway')
    // And the fixes fix it.
    for (const fix of failing) {
      const f = await cluster.run([...fix.fix!.split(' ').slice(2), '--yes'])
      expect(f.exitCode, f.stderr).toBe(0)
    }
    expect((await cluster.run(['status'])).exitCode).toBe(0)
  }, 120_000)

  it('flags Knative Services without the mesh annotations, naming those OpenShift Pipelines deploys', async () => {
    // As the console's "Import from Git" with a pipeline leaves them (openshift/console release-4.15): the Knative
    // Service gets the app labels only (getAppLabels, no pipeline label); the Pipeline gets the template's
    // pipeline.openshift.io/* labels and app.kubernetes.io/instance, which links the two. (The upstream Tekton
    // Pipeline CRD is installed in every test control plane.)
    const app = {
      'app.kubernetes.io/instance': 'from-git',
      'app.kubernetes.io/component': 'from-git',
      'app.kubernetes.io/name': 'from-git',
      'app.openshift.io/runtime': 'nodejs',
      'app.kubernetes.io/part-of': 'shop',
    }
    await cluster.client.create({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {name: 'from-git', namespace: 'team-alpha-1', labels: app},
      spec: {template: {spec: {containers: [{image: 'quay.io/example/app'}]}}},
    })
    await cluster.client.create({
      apiVersion: 'tekton.dev/v1',
      kind: 'Pipeline',
      metadata: {
        name: 'from-git',
        namespace: 'team-alpha-1',
        labels: {...app, 'pipeline.openshift.io/runtime': 'nodejs', 'pipeline.openshift.io/type': 'knative', 'pipeline.openshift.io/runtime-version': 'latest'},
      },
      spec: {params: [{name: 'APP_NAME', default: 'from-git'}], tasks: [{name: 'kn-service-create', taskRef: {kind: 'ClusterTask', name: 'kn'}}]},
    })
    // Another application of the namespace, not deployed by a pipeline.
    await cluster.client.create({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {name: 'by-hand', namespace: 'team-alpha-1', labels: {'app.kubernetes.io/instance': 'by-hand'}},
      spec: {template: {spec: {containers: [{image: 'quay.io/example/app'}]}}},
    })
    const r = await cluster.run(['status', '-o', 'json'])
    expect(r.exitCode).toBe(1)
    const row = rowsOf(r.stdout).find((x) => x.check === 'mesh annotations in team-alpha-1')
    expect(row?.state).toBe('failure')
    expect(row?.fix).toBe('kubectl knmesh annotate-services -n team-alpha-1')
    expect(row?.detail).toContain('; from-git (Pipeline from-git) deployed by OpenShift Pipelines')
    expect(row?.detail).not.toContain('by-hand (Pipeline')
    const fix = await cluster.run(['annotate-services', '-n', 'team-alpha-1', '--yes'])
    expect(fix.exitCode, fix.stderr).toBe(0)
    expect(fix.stderr).toContain(
      "warning: deployed by OpenShift Pipelines: team-alpha-1/from-git (Pipeline from-git); add the annotations to the pipeline's deploy step too",
    )
    const after = await cluster.run(['status', '-o', 'json'])
    expect(after.exitCode, after.stdout).toBe(0)
    expect(rowsOf(after.stdout).find((x) => x.area === 'services')?.state).toBe('ok')
  })

  it('status sends the same number of API requests for 2 or 22 namespaces', async () => {
    const before = await cluster.run(['status'], {env: {DEBUG: 'knmesh'}})
    for (let i = 0; i < 20; i++) await createNamespace(cluster.client, `many-${i}`)
    await cluster.client.mergePatch(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system', {
      spec: {members: ['knative-serving', 'knative-eventing', 'team-alpha-1', 'team-bravo-1', ...Array.from({length: 20}, (_, i) => `many-${i}`)]},
    })
    const after = await cluster.run(['status'], {env: {DEBUG: 'knmesh'}})
    expect(requests(before.stderr)).toBeGreaterThan(5)
    expect(requests(after.stderr)).toBe(requests(before.stderr))
  }, 120_000)

  it('status reads each object and collection once: the KnativeServing, the control planes, the member rolls, the gateways', async () => {
    const proxy = await recordingProxy(cluster.kubeconfig)
    try {
      const r = await cluster.run(['status', '-o', 'json'], {kubeconfig: proxy.kubeconfig})
      expect(JSON.parse(r.stdout).rows.length, r.stderr).toBeGreaterThan(10)
      // A GET the server answered 429/5xx is retried by the client (as client-go does): only answered reads count.
      const gets = proxy.exchanges.filter((e) => e.method === 'GET' && e.status !== 429 && e.status < 500).map((e) => `${e.accept} ${e.path}`)
      const count = (re: RegExp) => gets.filter((g) => re.test(g)).length
      expect(count(/ \/apis\/operator\.knative\.dev\/v1beta1\/namespaces\/knative-serving\/knativeservings\/knative-serving$/)).toBe(1)
      expect(count(/ \/apis\/maistra\.io\/v2\/namespaces\/istio-system\/servicemeshcontrolplanes(\?|$)/)).toBe(1)
      expect(count(/ \/apis\/maistra\.io\/v1\/servicemeshmemberrolls(\?|$)/)).toBe(1)
      expect(count(/ \/apis\/networking\.istio\.io\/v1alpha3\/gateways(\?|$)/)).toBe(1)
      // And nothing else twice either.
      const twice = [...new Set(gets.filter((g, i) => gets.indexOf(g) !== i))]
      expect(twice).toEqual([])
    } finally {
      await proxy.close()
    }
  }, 120_000)

  it('setup stops at the first failure and says how to resume', async () => {
    const r = await cluster.run(['setup', '--namespaces', 'team-alpha-1', '--tenant', 'team-bravo=team-alpha-1', '--no-metrics', '--cert-dir', '/tmp', '--yes'])
    expect(r.exitCode).not.toBe(0)
    expect(r.stderr).toContain('namespace team-alpha-1 already belongs to tenant team-alpha')
    expect(r.stderr).toMatch(/setup stopped at step \d+\/\d+ \(tenant-authz\); fix the error above, then resume with: kubectl knmesh setup .* --yes/)
  })

  it('setup with no terminal and no --yes stops at the first step with changes (exit 3), and its resume line confirms with --yes', async () => {
    await createNamespace(cluster.client, 'team-charlie-1')
    const r = await cluster.run(['setup', '--namespaces', 'team-charlie-1', '--no-metrics', '--no-tenants', '--cert-dir', '/tmp'])
    expect(r.exitCode, r.stderr).toBe(3)
    expect(r.stderr).toMatch(
      /setup stopped at step \d+\/\d+ \([\w-]+\); nothing was applied there; resume with: kubectl knmesh setup .* --from-step \d+ --yes$/m,
    )
    expect((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.spec.members).not.toContain('team-charlie-1')
  })

  it('the resume line names --token but never prints the token', async () => {
    const token = (parse(readFileSync(cluster.kubeconfig, 'utf8')) as {users: {user: {token: string}}[]}).users[0].user.token
    expect(token.length).toBeGreaterThan(8)
    const r = await cluster.run([
      'setup',
      '--token',
      token,
      '--namespaces',
      'team-alpha-1',
      '--tenant',
      'team-bravo=team-alpha-1',
      '--no-metrics',
      '--cert-dir',
      '/tmp',
      '--yes',
    ])
    expect(r.exitCode).not.toBe(0)
    expect(r.stderr).toMatch(/resume with: kubectl knmesh setup .*--token <token>/)
    expect(r.stdout + r.stderr).not.toContain(token)
  })
})
