/**
 * Retry-After, as client-go honours it (rest/with_retry.go, rest/request.go): against a FaultProxy in front of
 * the real API server that answers `429 storage is (re)initializing` (what kube-apiserver answers right after a
 * CRD is installed) or a 5xx with Retry-After for the requests a test picks, and forwards the rest.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {KubeError} from '../../src/errors.js'
import {KubeClient} from '../../src/kube/client.js'
import {Kinds} from '../../src/kube/kinds.js'
import {createNamespace, isolatedCluster, uniqueName} from '../support/cluster.js'
import {startFaultProxy, type Fault, type FaultProxy, type ProxiedRequest} from '../support/fault-proxy.js'

const cluster = isolatedCluster()
const INITIALIZING: Fault = {status: 429, retryAfter: '1', message: 'storage is (re)initializing'}

let proxy: FaultProxy | undefined
let client: KubeClient | undefined
afterEach(async () => {
  client?.close()
  await proxy?.close()
  proxy = client = undefined
})

async function through(fault: (r: ProxiedRequest) => Fault | undefined, opts: {http1Only?: boolean} = {}): Promise<{proxy: FaultProxy; client: KubeClient}> {
  proxy = await startFaultProxy(cluster.kubeconfig, fault, opts)
  client = await KubeClient.connect({kubeconfig: proxy.kubeconfig})
  return {proxy, client}
}

const secret = (ns: string, name: string) => ({apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: {name, namespace: ns}, data: {a: 'MQ=='}})

describe('Retry-After on a real API server behind a fault proxy', () => {
  it('tenant-authz --list succeeds although the first 3 requests get "429 storage is (re)initializing", waiting Retry-After each time', async () => {
    await createNamespace(cluster.client, 'team-retry-1')
    const made = await cluster.run(['tenant-authz', 'team-retry', '--namespaces', 'team-retry-1', '--yes'])
    expect(made.exitCode, made.stderr).toBe(0)
    const direct = await cluster.run(['tenant-authz', '--list'])
    expect(direct.exitCode, direct.stderr).toBe(0)

    proxy = await startFaultProxy(cluster.kubeconfig, (r) => (r.n <= 3 ? INITIALIZING : undefined))
    const r = await cluster.run(['tenant-authz', '--list'], {kubeconfig: proxy.kubeconfig})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toBe(direct.stdout)
    expect(r.stdout).toMatch(/^team-retry\s+team-retry-1\s/m)
    const refused = proxy.log.filter((e) => e.faulted)
    expect(refused.map((e) => e.status)).toEqual([429, 429, 429])
    // Each refused request was sent again, no sooner than its Retry-After (1 s), and then answered by the server.
    for (const e of refused) {
      const again = proxy.log.find((x) => x.n > e.n && x.method === e.method && x.path === e.path)
      expect(again, `${e.method} ${e.path}`).toBeDefined()
      expect(again!.at - e.at).toBeGreaterThanOrEqual(950)
    }
    expect(proxy.log.at(-1)!.faulted).toBe(false)
  }, 60_000)

  it('a create (POST) answered 429 is retried and creates the object once', async () => {
    const ns = uniqueName('retry')
    await createNamespace(cluster.client, ns)
    const {proxy, client} = await through((r) => (r.method === 'POST' && r.n === 1 ? INITIALIZING : undefined))
    await client.create(secret(ns, 'once'))
    expect(proxy.log.map((e) => [e.method, e.status])).toEqual([
      ['POST', 429],
      ['POST', 201],
    ])
    expect((await cluster.client.get(Kinds.Secret, 'once', ns))?.data).toEqual({a: 'MQ=='})
  })

  it('a non-idempotent POST answered 503 with Retry-After is not retried: one request, one clear error', async () => {
    const ns = uniqueName('retry')
    await createNamespace(cluster.client, ns)
    const {proxy, client} = await through((r) => (r.method === 'POST' ? {status: 503, retryAfter: '1', message: 'the server is shutting down'} : undefined))
    const err = await client.create(secret(ns, 'never')).catch((e) => e)
    expect(err).toBeInstanceOf(KubeError)
    expect([err.status, err.exitCode, err.message]).toEqual([503, 4, 'create secrets in namespace ' + ns + ' failed: the server is shutting down'])
    expect(proxy.log.map((e) => [e.method, e.status])).toEqual([['POST', 503]])
    expect(await cluster.client.get(Kinds.Secret, 'never', ns)).toBeNull()
  })

  it('idempotent requests answered 5xx with Retry-After are retried: GET, a conditional JSON patch, a merge patch, DELETE', async () => {
    const ns = uniqueName('retry')
    await createNamespace(cluster.client, ns)
    const live = await cluster.client.create(secret(ns, 'idem'))
    const firstOf = new Set<string>()
    const {proxy, client} = await through((r) => {
      if (firstOf.has(r.method)) return undefined
      firstOf.add(r.method)
      return {status: 500, retryAfter: '1', message: 'etcdserver: leader changed'}
    })
    expect((await client.get(Kinds.Secret, 'idem', ns))?.data).toEqual({a: 'MQ=='})
    await client.patch(Kinds.Secret, 'idem', ns, [
      {op: 'replace', path: '/data/a', value: 'Mg=='},
      {op: 'replace', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion},
    ])
    await client.mergePatch(Kinds.Secret, 'idem', ns, {metadata: {labels: {x: 'y'}}})
    await client.delete(Kinds.Secret, 'idem', ns)
    expect(proxy.log.map((e) => [e.method, e.status])).toEqual([
      ['GET', 500],
      ['GET', 200],
      ['PATCH', 500],
      ['PATCH', 200],
      ['PATCH', 200],
      ['DELETE', 500],
      ['DELETE', 200],
    ])
    expect(await cluster.client.get(Kinds.Secret, 'idem', ns)).toBeNull()
  }, 30_000)

  it('is bounded: 10 retries (11 requests), then the last answer as one line (exit 4); no Retry-After, no retry', async () => {
    const {proxy, client} = await through((r) =>
      r.path.includes('/secrets/always')
        ? {status: 429, retryAfter: '0', message: 'too many requests, please try again later'}
        : r.path.includes('/secrets/bare')
          ? {status: 503, message: 'unavailable'}
          : undefined,
    )
    const err = await client.get(Kinds.Secret, 'always', 'default').catch((e) => e)
    expect(err).toBeInstanceOf(KubeError)
    expect(err.exitCode).toBe(4)
    expect(err.message).toBe(
      'get secrets in namespace default failed: too many requests, please try again later (still 429 after 10 retries honouring Retry-After)',
    )
    expect(proxy.log.filter((e) => e.path.includes('/always')).length).toBe(11)
    const bare = await client.get(Kinds.Secret, 'bare', 'default').catch((e) => e)
    expect(bare.status).toBe(503)
    expect(proxy.log.filter((e) => e.path.includes('/bare')).length).toBe(1)
  })

  it('a GET whose connection is reset is sent again; a POST is not', async () => {
    const ns = uniqueName('retry')
    await createNamespace(cluster.client, ns)
    let resets = 0
    const {proxy, client} = await through((r) => (resets++ < 1 || r.method === 'POST' ? 'reset' : undefined))
    expect(await client.get(Kinds.Namespace, ns)).not.toBeNull()
    expect(proxy.log.map((e) => [e.method, e.status])).toEqual([
      ['GET', 0],
      ['GET', 200],
    ])
    const err = await client.create(secret(ns, 'reset')).catch((e) => e)
    expect(err.message).toMatch(/^cannot reach the API server at https:\/\/127\.0\.0\.1:\d+ \(.*context "admin".*\): ECONNRESET$/)
    expect(proxy.log.filter((e) => e.method === 'POST')).toHaveLength(1)
  })

  it('speaks HTTP/2 when the server offers it (40 requests at once on one connection), HTTP/1.1 when it does not or with DISABLE_HTTP2 set', async () => {
    const ns = uniqueName('h2')
    await createNamespace(cluster.client, ns)
    const many = async (c: KubeClient) => Promise.all(Array.from({length: 40}, () => c.get(Kinds.Namespace, ns)))
    // The proxy offers h2 and http/1.1 by ALPN, as kube-apiserver does.
    const h2 = await through(() => undefined)
    expect((await many(h2.client)).every((n) => n?.metadata.name === ns)).toBe(true)
    expect(new Set(h2.proxy.log.map((e) => e.httpVersion))).toEqual(new Set(['2.0']))
    expect(h2.proxy.connections()).toBe(1)
    client!.close()
    await proxy!.close()
    // A server (or a TLS-terminating proxy) that offers only HTTP/1.1: the same requests over HTTP/1.1.
    const h1 = await through(() => undefined, {http1Only: true})
    expect((await many(h1.client)).every((n) => n?.metadata.name === ns)).toBe(true)
    expect(new Set(h1.proxy.log.map((e) => e.httpVersion))).toEqual(new Set(['1.1']))
    client!.close()
    await proxy!.close()
    // DISABLE_HTTP2 (client-go's switch): HTTP/1.1 although the server offers HTTP/2.
    process.env.DISABLE_HTTP2 = '1'
    try {
      const off = await through(() => undefined)
      await many(off.client)
      expect(new Set(off.proxy.log.map((e) => e.httpVersion))).toEqual(new Set(['1.1']))
      expect(off.proxy.connections()).toBeGreaterThan(1)
    } finally {
      delete process.env.DISABLE_HTTP2
    }
  })

  it('an HTTP/2 stream refused before processing (REFUSED_STREAM) is sent again, a create too: the object is created once', async () => {
    const ns = uniqueName('refused')
    await createNamespace(cluster.client, ns)
    let refused = 0
    const {proxy, client} = await through((r) => (r.method === 'POST' && refused++ < 2 ? 'refuse-stream' : undefined))
    await client.create(secret(ns, 'once'))
    expect(proxy.log.filter((e) => e.method === 'POST').map((e) => [e.status, e.httpVersion])).toEqual([
      [0, '2.0'],
      [0, '2.0'],
      [201, '2.0'],
    ])
    expect(await cluster.client.get(Kinds.Secret, 'once', ns)).not.toBeNull()
  })
})
