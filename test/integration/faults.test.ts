/**
 * Faults mid-run (issue 15, items 2 and 4), on a real API server of this file's own:
 * - the kube-apiserver killed in the middle of a bulk filter-secrets and of a multi-object tenant-authz (the kill
 *   is made at an exact request by a FaultProxy hook, ControlPlane.apiserver.kill(), so the test is not a race):
 *   exit 8 (partially applied) with one line naming what was and was not applied; after a restart the same
 *   command finishes, and nothing is half-written;
 * - 429/503 storms with Retry-After: a bounded one ends in success, an endless one in one clear line;
 * - permissions checked up front with SelfSubjectAccessReview against real RBAC, for a limited user.
 */
import {describe, expect, it} from 'vitest'
import type {KubeClient} from '../../src/kube/client.js'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {createNamespace, isolatedCluster, uniqueName} from '../support/cluster.js'
import {startFaultProxy, type Fault, type ProxiedRequest} from '../support/fault-proxy.js'

// Kills and restarts its kube-apiserver: a control plane of its own.
const cluster = isolatedCluster()

const LABEL = 'networking.internal.knative.dev/certificate-uid'
const TENANT = 'knmesh.openshift.io/tenant'

function tlsSecret(namespace: string, name: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {name, namespace, labels: {keep: 'me'}},
    data: {'tls.crt': Buffer.from(`crt ${name}`).toString('base64'), 'tls.key': Buffer.from(`key ${name}`).toString('base64')},
  }
}

/** Namespaces with `perNs` TLS secrets each, created 32 at a time. */
async function secretsIn(client: KubeClient, namespaces: string[], perNs: number): Promise<void> {
  for (const ns of namespaces) await createNamespace(client, ns)
  const all = namespaces.flatMap((ns) => Array.from({length: perNs}, (_, i) => tlsSecret(ns, `s-${String(i).padStart(4, '0')}`)))
  let next = 0
  await Promise.all(
    Array.from({length: 32}, async () => {
      while (next < all.length) await client.create(all[next++])
    }),
  )
}

/** Every secret whole: data and labels as created, and the label (when there) is the secret's own UID. */
async function audit(client: KubeClient, namespaces: string[]): Promise<{labelled: number; total: number; bad: string[]}> {
  let labelled = 0
  let total = 0
  const bad: string[] = []
  for (const ns of namespaces) {
    for (const s of await client.listAll(Kinds.Secret, ns)) {
      total++
      const v = s.metadata.labels?.[LABEL]
      if (v) labelled++
      const data = s.data as Record<string, string>
      if (s.metadata.labels?.keep !== 'me' || Buffer.from(data['tls.key'], 'base64').toString() !== `key ${s.metadata.name}` || (v && v !== s.metadata.uid))
        bad.push(`${ns}/${s.metadata.name}`)
    }
  }
  return {labelled, total, bad}
}

async function tenantObjects(tenant: string): Promise<string[]> {
  const list = await cluster.client.listAll(Kinds.AuthorizationPolicy, undefined, {labelSelector: `${TENANT}=${tenant}`})
  return list.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()
}

const isWrite = (r: ProxiedRequest, method: string) => r.method === method && !r.path.includes('dryRun=All')
const stderrLines = (s: string) => s.trim().split('\n').filter(Boolean)

describe('the kube-apiserver killed mid-run, then restarted', () => {
  it('filter-secrets over 8 namespaces × 250 secrets: exit 8 with the counts; a rerun labels the rest, no secret half-written', async () => {
    const namespaces = Array.from({length: 8}, (_, i) => uniqueName(`fk${i}`))
    await secretsIn(cluster.client, namespaces, 250)
    let patches = 0
    const proxy = await startFaultProxy(cluster.kubeconfig, async (r) => {
      if (r.method === 'PATCH' && ++patches === 500) await cluster.apiserver!.kill()
      return undefined
    })
    try {
      const r = await cluster.run(['filter-secrets', '--all-tls', '--namespaces', namespaces.join(','), '--concurrency', '8', '--yes'], {
        kubeconfig: proxy.kubeconfig,
      })
      expect(r.exitCode, r.stderr).toBe(8)
      const lines = stderrLines(r.stderr)
      expect(lines).toHaveLength(1)
      // The in-flight patches failed and the next listing could not be read: one cause, said once.
      const m =
        /^error: partially applied: (\d+) secret\(s\) labelled, \d+ failed; stopped before the end: cannot reach the API server at https:\/\/127\.0\.0\.1:\d+ \(kubeconfig [^,]+, context "admin" \(user "admin", cluster "knmesh-test"\)\): ECONNRESET\. No secret is half-written: run the same command again to label the rest$/.exec(
          lines[0],
        )
      expect(m, lines[0]).not.toBeNull()
      const labelled = Number(m![1])
      expect(labelled).toBeGreaterThanOrEqual(400)
      expect(labelled).toBeLessThan(500)
      // What was applied, per namespace, in the table; the total row carries the same count.
      expect(r.stdout).toMatch(new RegExp(`^total\\s+${labelled}\\s+0\\s+\\d+$`, 'm'))
    } finally {
      await cluster.apiserver!.start()
      await proxy.close()
    }
    const after = await audit(cluster.client, namespaces)
    expect(after.bad).toEqual([])
    expect(after.labelled).toBeGreaterThanOrEqual(400)
    expect(after.labelled).toBeLessThan(2000)

    const again = await cluster.run(['filter-secrets', '--all-tls', '--namespaces', namespaces.join(','), '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toMatch(new RegExp(`^total\\s+${2000 - after.labelled}\\s+${after.labelled}\\s+0$`, 'm'))
    expect(await audit(cluster.client, namespaces)).toEqual({labelled: 2000, total: 2000, bad: []})
  }, 240_000)

  it('tenant-authz over 4 namespaces: exit 8 naming the 2 policies applied and the rest; a rerun completes, the next has nothing to do', async () => {
    const namespaces = ['tk-1', 'tk-2', 'tk-3', 'tk-4']
    for (const ns of namespaces) await createNamespace(cluster.client, ns)
    let creates = 0
    const proxy = await startFaultProxy(cluster.kubeconfig, async (r) => {
      if (isWrite(r, 'POST') && r.path.includes('/authorizationpolicies') && ++creates === 3) await cluster.apiserver!.kill()
      return undefined
    })
    let applied: string[] | undefined
    try {
      const r = await cluster.run(['tenant-authz', 'team-kill', '--namespaces', namespaces.join(','), '--add-to-mesh', '--yes'], {kubeconfig: proxy.kubeconfig})
      expect(r.exitCode, r.stderr).toBe(8)
      const lines = stderrLines(r.stderr)
      expect(lines, r.stderr).toHaveLength(1)
      const m =
        /^error: partially applied: 2 of (\d+) change\(s\) applied \(create AuthorizationPolicy\/([\w-]+\/[\w-]+), create AuthorizationPolicy\/([\w-]+\/[\w-]+)\); not applied: (.+); because: cannot reach the API server at https:\/\/127\.0\.0\.1:\d+ .*: ECONNRESET\. Each write is whole: run the same command again to finish$/.exec(
          lines[0],
        )
      expect(m, lines[0]).not.toBeNull()
      applied = [m![2], m![3]].sort()
      const notApplied = m![4].split(', ')
      expect(notApplied.length + 2).toBe(Math.min(Number(m![1]), 12)) // at most 10 named, then "and N more"
      expect(notApplied[0]).toMatch(/^create AuthorizationPolicy\//)
    } finally {
      await cluster.apiserver!.start()
      await proxy.close()
    }
    // Exactly the two named are there, whole: the next run plans no update for them.
    expect(await tenantObjects('team-kill')).toEqual(applied)
    const again = await cluster.run(['tenant-authz', 'team-kill', '--namespaces', namespaces.join(','), '--add-to-mesh', '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).not.toMatch(/update AuthorizationPolicy/)
    const third = await cluster.run(['tenant-authz', 'team-kill', '--namespaces', namespaces.join(','), '--add-to-mesh', '--yes'])
    expect(third.exitCode, third.stderr).toBe(0)
    expect(third.stdout).toContain('nothing to do')
    expect((await tenantObjects('team-kill')).length).toBeGreaterThan(8)
  }, 180_000)
})

describe('429 and 503 storms (Retry-After)', () => {
  it('filter-secrets: a 3 s storm (429 on reads, 503 on patches, Retry-After: 1) is waited out: exit 0, every secret labelled once', async () => {
    const namespaces = [uniqueName('sa'), uniqueName('sb')]
    await secretsIn(cluster.client, namespaces, 100)
    let from: number | undefined
    const proxy = await startFaultProxy(cluster.kubeconfig, (r): Fault | undefined => {
      if (r.method === 'PATCH') from ??= Date.now()
      if (from === undefined || Date.now() - from > 3000) return undefined
      return r.method === 'PATCH'
        ? {status: 503, retryAfter: '1', message: 'etcdserver: leader changed'}
        : {status: 429, retryAfter: '1', message: 'too many requests, please try again later'}
    })
    try {
      const r = await cluster.run(['filter-secrets', '--all-tls', '--namespaces', namespaces.join(','), '--yes'], {kubeconfig: proxy.kubeconfig})
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^total\s+200\s+0\s+0$/m)
      const faulted = proxy.log.filter((e) => e.faulted)
      expect(faulted.length).toBeGreaterThan(10)
      // Every refused request was sent again and, in the end, answered by the server.
      for (const e of faulted)
        expect(
          proxy.log.some((x) => x.n > e.n && x.path === e.path && !x.faulted && x.status < 300),
          `${e.method} ${e.path}`,
        ).toBe(true)
    } finally {
      await proxy.close()
    }
    expect(await audit(cluster.client, namespaces)).toEqual({labelled: 200, total: 200, bad: []})
  }, 120_000)

  it("filter-secrets: endless 503 on one namespace's patches: each tried 11 times, exit 8 in one line; the other namespace is done; a rerun finishes", async () => {
    const [good, bad] = [uniqueName('eg'), uniqueName('eb')]
    await secretsIn(cluster.client, [good, bad], 20)
    const proxy = await startFaultProxy(cluster.kubeconfig, (r) =>
      r.method === 'PATCH' && r.path.startsWith(`/api/v1/namespaces/${bad}/`)
        ? {status: 503, retryAfter: '0', message: 'the server is currently unable to handle the request'}
        : undefined,
    )
    try {
      const r = await cluster.run(['filter-secrets', '--all-tls', '--namespaces', `${good},${bad}`, '--yes'], {kubeconfig: proxy.kubeconfig})
      expect(r.exitCode, r.stderr).toBe(8)
      expect(stderrLines(r.stderr)).toEqual([
        `error: partially applied: 20 secret(s) labelled, 20 failed (patch secrets in namespace ${bad} failed: the server is currently unable to handle the request (still 503 after 10 retries honouring Retry-After)). No secret is half-written: run the same command again to label the rest`,
      ])
      expect(r.stdout).toMatch(new RegExp(`^${bad}\\s+0\\s+0\\s+20$`, 'm'))
      const perSecret = new Map<string, number>()
      for (const e of proxy.log.filter((x) => x.method === 'PATCH' && x.path.startsWith(`/api/v1/namespaces/${bad}/`)))
        perSecret.set(e.path, (perSecret.get(e.path) ?? 0) + 1)
      expect(perSecret.size).toBe(20)
      expect([...new Set(perSecret.values())]).toEqual([11]) // bounded: 1 + 10 retries each
    } finally {
      await proxy.close()
    }
    expect((await audit(cluster.client, [good])).labelled).toBe(20)
    expect((await audit(cluster.client, [bad])).labelled).toBe(0)
    const again = await cluster.run(['filter-secrets', '--all-tls', '--namespaces', `${good},${bad}`, '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(await audit(cluster.client, [good, bad])).toEqual({labelled: 40, total: 40, bad: []})
  }, 120_000)

  it("tenant-authz: 429 on the first 3 creates is waited out (exit 0); endless 429 on one namespace's creates: exit 8 naming what was applied; a rerun finishes", async () => {
    for (const ns of ['ts-1', 'ts-2', 'tz-1', 'tz-2']) await createNamespace(cluster.client, ns)
    let creates = 0
    const bounded = await startFaultProxy(cluster.kubeconfig, (r) =>
      isWrite(r, 'POST') && ++creates <= 3 ? {status: 429, retryAfter: '1', message: 'storage is (re)initializing'} : undefined,
    )
    try {
      const r = await cluster.run(['tenant-authz', 'team-storm', '--namespaces', 'ts-1,ts-2', '--add-to-mesh', '--yes'], {kubeconfig: bounded.kubeconfig})
      expect(r.exitCode, r.stderr).toBe(0)
      expect(bounded.log.filter((e) => e.faulted)).toHaveLength(3)
    } finally {
      await bounded.close()
    }
    expect((await cluster.run(['tenant-authz', 'team-storm', '--namespaces', 'ts-1,ts-2', '--add-to-mesh'])).stdout).toContain('nothing to do')

    const endless = await startFaultProxy(cluster.kubeconfig, (r) =>
      isWrite(r, 'POST') && r.path.startsWith('/apis/security.istio.io/v1beta1/namespaces/tz-2/')
        ? {status: 429, retryAfter: '0', message: 'too many requests, please try again later'}
        : undefined,
    )
    try {
      const r = await cluster.run(['tenant-authz', 'team-endless', '--namespaces', 'tz-1,tz-2', '--add-to-mesh', '--yes'], {kubeconfig: endless.kubeconfig})
      expect(r.exitCode, r.stderr).toBe(8)
      const lines = stderrLines(r.stderr)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        /^error: partially applied: 1 of \d+ change\(s\) applied \(create AuthorizationPolicy\/tz-1\/allow-from-knative-and-istio\); not applied: create AuthorizationPolicy\/tz-2\/allow-from-knative-and-istio, .*; because: create authorizationpolicies\.security\.istio\.io in namespace tz-2 failed: too many requests, please try again later \(still 429 after 10 retries honouring Retry-After\)\. Each write is whole: run the same command again to finish$/,
      )
      expect(endless.log.filter((e) => e.faulted)).toHaveLength(11)
    } finally {
      await endless.close()
    }
    expect(await tenantObjects('team-endless')).toEqual(['tz-1/allow-from-knative-and-istio'])
    const again = await cluster.run(['tenant-authz', 'team-endless', '--namespaces', 'tz-1,tz-2', '--add-to-mesh', '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect((await cluster.run(['tenant-authz', 'team-endless', '--namespaces', 'tz-1,tz-2', '--add-to-mesh'])).stdout).toContain('nothing to do')
  }, 120_000)
})

describe('permissions checked up front (SelfSubjectAccessReview, real RBAC)', () => {
  /** Grants user "restricted" (view everywhere) `verbs` on `resources` in `namespace`. */
  async function grant(namespace: string, name: string, apiGroup: string, resources: string[], verbs: string[]): Promise<void> {
    const rbac = '/apis/rbac.authorization.k8s.io/v1/namespaces/' + namespace
    await cluster.client.request('POST', `${rbac}/roles`, {
      body: {apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: {name, namespace}, rules: [{apiGroups: [apiGroup], resources, verbs}]},
    })
    await cluster.client.request('POST', `${rbac}/rolebindings`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: {name, namespace},
        roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name},
        subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'restricted'}],
      },
    })
  }

  it('tenant-authz as a user who may create policies in one namespace only: one line naming every missing permission, exit 4, nothing applied; --dry-run=client asks nothing', async () => {
    for (const ns of ['tp-1', 'tp-2']) await createNamespace(cluster.client, ns)
    await grant('tp-1', 'ap-writer', 'security.istio.io', ['authorizationpolicies'], ['create', 'patch'])
    const smmr = await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')
    const proxy = await startFaultProxy(cluster.restrictedKubeconfig, () => undefined)
    try {
      const r = await cluster.run(['tenant-authz', 'team-perm', '--namespaces', 'tp-1,tp-2', '--add-to-mesh', '--yes'], {kubeconfig: proxy.kubeconfig})
      expect(r.exitCode).toBe(4)
      expect(stderrLines(r.stderr)).toEqual([
        'error: forbidden: you cannot create authorizationpolicies.security.istio.io in namespaces knative-eventing, knative-serving, tp-2; patch servicemeshmemberrolls.maistra.io in namespace istio-system; nothing was applied (check with kubectl auth can-i)',
      ])
      const reviews = proxy.log.filter((e) => e.path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')
      // create policies: cluster-wide (refused), then tp-1, tp-2, knative-serving, knative-eventing; patch SMMR in istio-system.
      expect(reviews).toHaveLength(6)
      expect(proxy.log.filter((e) => e.path.includes('/authorizationpolicies') && e.method !== 'GET')).toEqual([]) // not even a dry run
      const before = proxy.log.length
      const dry = await cluster.run(['tenant-authz', 'team-perm', '--namespaces', 'tp-1,tp-2', '--add-to-mesh', '--dry-run=client'], {
        kubeconfig: proxy.kubeconfig,
      })
      expect(dry.exitCode, dry.stderr).toBe(0)
      expect(proxy.log.slice(before).filter((e) => e.path.includes('selfsubjectaccessreviews'))).toEqual([])
    } finally {
      await proxy.close()
    }
    expect(await tenantObjects('team-perm')).toEqual([])
    expect((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))!.metadata.resourceVersion).toBe(smmr!.metadata.resourceVersion)
  })

  it('filter-secrets --yes as a user who may label secrets in one of two namespaces: exit 4 naming the other, not one secret labelled', async () => {
    const [a, b] = [uniqueName('pa'), uniqueName('pb')]
    await secretsIn(cluster.client, [a, b], 30)
    await grant(a, 'secret-labeller', '', ['secrets'], ['get', 'list', 'patch'])
    await grant(b, 'secret-reader', '', ['secrets'], ['get', 'list'])
    const r = await cluster.run(['filter-secrets', '--all-tls', '--namespaces', `${a},${b}`, '--yes'], {kubeconfig: cluster.restrictedKubeconfig})
    expect(r.exitCode).toBe(4)
    expect(stderrLines(r.stderr)).toEqual([`error: forbidden: you cannot patch secrets in namespace ${b}; nothing was applied (check with kubectl auth can-i)`])
    expect((await audit(cluster.client, [a, b])).labelled).toBe(0)
    // Allowed in both: done.
    await grant(b, 'secret-labeller', '', ['secrets'], ['patch'])
    const ok = await cluster.run(['filter-secrets', '--all-tls', '--namespaces', `${a},${b}`, '--yes'], {kubeconfig: cluster.restrictedKubeconfig})
    expect(ok.exitCode, ok.stderr).toBe(0)
    expect(await audit(cluster.client, [a, b])).toEqual({labelled: 60, total: 60, bad: []})
  })
})
