import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {FakeKubelet, type CurlOutcome} from '../support/fake-kubelet.js'

// Installs the guide's cluster-wide policies in knative-serving/knative-eventing: a control plane of its own.
const cluster = isolatedCluster()

/**
 * The network as the guide's 2.4 shows it, played for FakeKubelet (no Envoy
 * runs here): what curl in team-alpha-1 gets for each URL. Tests swap it.
 */
const GUIDE_NETWORK: Record<string, CurlOutcome> = {
  'http://test-webapp.team-alpha-1:80': {status: '200', body: 'Hello Serverless!\n'},
  'https://test-webapp-team-alpha-1.apps.example.com': {status: '200', body: 'Hello Serverless!\n'},
  'http://test-webapp.team-bravo-1:80': {status: '403', body: 'RBAC: access denied'},
  'https://test-webapp-team-bravo-1.apps.example.com': {status: '200', body: 'Hello Serverless!\n'},
}
let network: (url: string) => CurlOutcome | null = (url) => GUIDE_NETWORK[url] ?? {status: '000', body: 'Could not resolve host', curlExit: 6}
let kubelet: FakeKubelet

async function ksvc(ns: string): Promise<void> {
  await cluster.client.create({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {name: 'test-webapp', namespace: ns, annotations: {'serving.knative.openshift.io/enablePassthrough': 'true'}},
    spec: {
      template: {
        metadata: {annotations: {'sidecar.istio.io/inject': 'true'}},
        spec: {containers: [{image: 'docker.io/openshift/hello-openshift', env: [{name: 'RESPONSE', value: 'Hello Serverless!'}]}]},
      },
    },
  })
  // Knative Serving would report the URL; write it the way it does, through the status subresource.
  await cluster.client.request('PATCH', `/apis/serving.knative.dev/v1/namespaces/${ns}/services/test-webapp/status`, {
    contentType: 'application/merge-patch+json',
    body: {status: {url: `https://test-webapp-${ns}.apps.example.com`}},
  })
}

async function probePods(): Promise<KObject[]> {
  return cluster.client.listAll(Kinds.Pod, undefined, {labelSelector: 'knmesh.openshift.io/probe=true'})
}

beforeAll(async () => {
  for (const ns of ['team-alpha-1', 'team-bravo-1']) await createNamespace(cluster.client, ns)
  for (const args of [
    ['tenant-authz', '--defaults', '--yes'],
    ['tenant-authz', 'team-alpha', '--namespaces', 'team-alpha-1', '--add-to-mesh', '--yes'],
    ['tenant-authz', 'team-bravo', '--namespaces', 'team-bravo-1', '--add-to-mesh', '--yes'],
  ]) {
    const r = await cluster.run(args)
    if (r.exitCode !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`)
  }
  // Guide 1.4.2: the SMCP's dataPlane mtls makes the mesh-wide PeerAuthentication STRICT.
  await cluster.client.create({
    apiVersion: 'security.istio.io/v1beta1',
    kind: 'PeerAuthentication',
    metadata: {name: 'default', namespace: 'istio-system'},
    spec: {mtls: {mode: 'STRICT'}},
  })
  await ksvc('team-alpha-1')
  await ksvc('team-bravo-1')
  kubelet = new FakeKubelet(cluster.client, (url) => network(url)).start()
}, 120_000)

afterAll(() => kubelet?.stop())

describe("probe: the guide's four 2.4 expectations, predicted from the live objects", () => {
  it('team-alpha-1 → team-alpha-1, cluster-local: allow (200)', async () => {
    const r = await cluster.run(['probe', '--from', 'team-alpha-1', '--to', 'team-alpha-1', '--expect', 'allow'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('predicted: ALLOW (HTTP 200) for http://test-webapp.team-alpha-1:80')
    expect(r.stdout).toMatch(
      /team-alpha-1 \(caller\) → knative-serving\/activator\s+mTLS STRICT \(istio-system\/default\)\s+allow\s+knative-serving\/allow-team-alpha-to-activator rule 0/,
    )
  })

  it('team-alpha-1 → team-alpha-1, external: allow (200)', async () => {
    const r = await cluster.run(['probe', '--from', 'team-alpha-1', '--to', 'team-alpha-1', '--external', '--expect', 'allow'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('for https://test-webapp-team-alpha-1.apps.example.com')
    expect(r.stdout).toContain('knative-serving/allow-traffic-to-activator')
  })

  it('team-alpha-1 → team-bravo-1, cluster-local: deny (403), naming the deciding policy', async () => {
    const r = await cluster.run(['probe', '--from', 'team-alpha-1', '--to', 'team-bravo-1', '--expect', 'deny'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('predicted: DENY (HTTP 403)')
    expect(r.stdout).toContain(
      'because at knative-serving/activator: no ALLOW rule matches and knative-serving/deny-all-by-default (no rules) denies everything else',
    )
  })

  it('team-alpha-1 → team-bravo-1, external: allow (200)', async () => {
    const r = await cluster.run(['probe', '--from', 'team-alpha-1', '--to', 'team-bravo-1', '--external', '--expect', 'allow'])
    expect(r.exitCode, r.stderr).toBe(0)
  })

  it('exits 1 when the prediction differs from --expect, and -o json carries the decision', async () => {
    const r = await cluster.run(['probe', '--from', 'team-alpha-1', '--to', 'team-bravo-1', '--expect', 'allow', '-o', 'json'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain('{"error":{"message":"expected allow, predicted deny","exitCode":1}}')
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({from: 'team-alpha-1', to: 'team-bravo-1', predicted: 'deny', predictedStatus: '403'})
    expect(out.paths[0].hops[0].decision.policy).toEqual({namespace: 'knative-serving', name: 'deny-all-by-default'})
  })

  it('refuses bad input before any request', async () => {
    const r = await cluster.run(['probe', '--from', 'Team', '--to', 'x'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/^error: invalid namespace name "Team"/)
    expect((await cluster.run(['probe', '--to', 'x'])).exitCode).toBe(2)
  })
})

describe('probe --live through the real API server (FakeKubelet plays the kubelet)', () => {
  it('creates a locked-down probe pod in --from, reads its termination message, matches the prediction, deletes the pod', async () => {
    network = (url) => GUIDE_NETWORK[url] ?? null
    const seenBefore = kubelet.seen.length
    const r = await cluster.run(['probe', '--from', 'team-alpha-1', '--to', 'team-bravo-1', '--live', '--expect', 'deny', '--timeout', '30'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('observed:  DENY (HTTP 403) "RBAC: access denied"')
    expect(r.stdout).toContain('prediction matches the observation')
    const seen = kubelet.seen.slice(seenBefore)
    expect(seen).toHaveLength(1)
    const pod = seen[0].pod
    expect(pod.metadata.namespace).toBe('team-alpha-1')
    expect(seen[0].url).toBe('http://test-webapp.team-bravo-1:80')
    expect(pod.metadata.annotations?.['sidecar.istio.io/inject']).toBe('true')
    expect(pod.spec.activeDeadlineSeconds).toBeGreaterThanOrEqual(30)
    expect(pod.spec.restartPolicy).toBe('Never')
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true)
    const c = pod.spec.containers[0]
    expect(c.securityContext).toMatchObject({allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: {drop: ['ALL']}})
    expect(c.resources.limits).toEqual({cpu: '100m', memory: '64Mi'})
    expect(await probePods()).toEqual([])
  })

  it('external URL from the Knative Service status: allowed, as predicted', async () => {
    network = (url) => GUIDE_NETWORK[url] ?? null
    const r = await cluster.run(['probe', '--from', 'team-alpha-1', '--to', 'team-bravo-1', '--external', '--live', '--timeout', '30'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('observed:  ALLOW (HTTP 200) "Hello Serverless!"')
    expect(kubelet.seen.at(-1)!.url).toBe('https://test-webapp-team-bravo-1.apps.example.com')
    expect(await probePods()).toEqual([])
  })

  it('flags a mismatch loudly and exits 1 (policies not enforced: the request went through)', async () => {
    network = () => ({status: '200', body: 'Hello Serverless!'})
    const r = await cluster.run(['probe', '--from', 'team-alpha-1', '--to', 'team-bravo-1', '--live', '--timeout', '30'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain('!!! MISMATCH: knmesh predicted DENY but the request was ALLOWED (HTTP 200) !!!')
    expect(await probePods()).toEqual([])
  })

  it('times out when the pod never finishes, and still deletes it', async () => {
    network = () => null
    const t0 = Date.now()
    const r = await cluster.run(['probe', '--from', 'team-alpha-1', '--to', 'team-alpha-1', '--live', '--timeout', '3'])
    expect(r.exitCode).toBe(7) // issue 18 item 9: no observation is not a mismatch (1): exit 7 (was 1)
    expect(r.stderr).toContain('live probe: timed out after 3s waiting for the probe pod (phase Pending')
    expect(Date.now() - t0).toBeLessThan(30_000)
    expect(await probePods()).toEqual([])
  })
})

describe('probe --matrix', () => {
  it('predicts every pair of tenant namespaces: isolated', async () => {
    const r = await cluster.run(['probe', '--matrix', '--expect', 'isolated'])
    expect(r.exitCode, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toMatch(/^FROM \\ TO\s+TEAM-ALPHA-1\s+TEAM-BRAVO-1$/)
    expect(lines[1]).toMatch(/^team-alpha-1\s+allow\s+deny$/)
    expect(lines[2]).toMatch(/^team-bravo-1\s+deny\s+allow$/)
    expect(r.stdout).toContain('isolated: every tenant reaches its own namespaces only')
  })

  it('finds a leak and exits 1 with --expect isolated', async () => {
    await cluster.client.create({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      metadata: {name: 'allow-everything', namespace: 'team-bravo-1'},
      spec: {action: 'ALLOW', rules: [{}]},
    })
    await cluster.client.create({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      metadata: {name: 'allow-everything', namespace: 'knative-serving'},
      spec: {action: 'ALLOW', selector: {matchLabels: {app: 'activator'}}, rules: [{}]},
    })
    try {
      const r = await cluster.run(['probe', '--matrix', '--expect', 'isolated', '-o', 'json'])
      expect(r.exitCode).toBe(1)
      const out = JSON.parse(r.stdout)
      // Into bravo: open on both paths. Into alpha: the activator is open to all, alpha's pods are not → depends on the path.
      expect(out.violations.map((v: {from: string; to: string; predicted: string}) => `${v.from}>${v.to}:${v.predicted}`)).toEqual([
        'team-alpha-1>team-bravo-1:allow',
        'team-bravo-1>team-alpha-1:mixed',
      ])
    } finally {
      await cluster.client.delete(Kinds.AuthorizationPolicy, 'allow-everything', 'team-bravo-1')
      await cluster.client.delete(Kinds.AuthorizationPolicy, 'allow-everything', 'knative-serving')
    }
  })

  it('names a namespace outside the mesh as the reason: STRICT mTLS refuses its plaintext calls; the matrix says it is not a member (issue 18 item 9)', async () => {
    await createNamespace(cluster.client, 'outsider-1')
    await ksvc('outsider-1')
    const hop = await cluster.run(['probe', '--from', 'outsider-1', '--to', 'team-alpha-1'])
    // The PeerAuthentication that makes STRICT is the deciding object, named in CONNECTION and POLICY.
    expect(hop.stdout).toMatch(/plaintext refused: STRICT \(istio-system\/default\)\s+deny\s+istio-system\/default/)
    expect(hop.stdout).toMatch(/requires mTLS \(STRICT \(istio-system\/default\)\) and outsider-1 has no sidecar/)
    expect(hop.stdout).not.toContain('(no ALLOW rule matches)')
    expect(hop.stdout).toMatch(/predicted: DENY \(connection reset: no HTTP response\)/)
    // A tenant whose namespace is not a member: said by name, with the command that fixes it.
    const t = await cluster.run(['tenant-authz', 'outsiders', '--namespaces', 'outsider-1', '--yes'])
    expect(t.exitCode, t.stderr).toBe(0)
    try {
      const m = await cluster.run(['probe', '--matrix'])
      expect(m.stdout).toContain(
        'note: outsider-1 is not in the ServiceMeshMemberRoll (istio-system/default): no sidecar checks requests to it and its pods call without mTLS, so its pairs can differ by path ("mixed"); add it with kubectl knmesh add-namespace outsider-1',
      )
      expect(m.stdout).not.toContain('note: team-alpha-1')
    } finally {
      await cluster.run(['tenant-authz', '--delete', 'outsiders', '--yes'])
    }
  })
})
