import {describe, expect, it} from 'vitest'
import {runBulk, type EngineOptions} from '../../src/change/engine.js'
import {changesOf, type Plan} from '../../src/change/plan.js'
import {ForbiddenError, NotAppliedError} from '../../src/errors.js'
import type {KubeClient} from '../../src/kube/client.js'
import type {KObject} from '../../src/kube/types.js'
import {table} from '../../src/ui/table.js'
import {
  auditSecrets,
  CERT_UID_LABEL,
  FILTER_ENV,
  filteringEnabled,
  filteringOverride,
  planFilterToggle,
  planSecretLabels,
  secretRefs,
  validateUid,
} from '../../src/mesh/secret-filter.js'

const secret = (ns: string, name: string, labels?: Record<string, string>): KObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'kubernetes.io/tls',
  metadata: {name, namespace: ns, uid: `uid-${ns}-${name}`, resourceVersion: '7', ...(labels ? {labels} : {}), managedFields: [{manager: 'x'}]},
  data: {'tls.key': 'UFJJVkFURQ=='},
})

describe('filter-secrets planners (guide 1.7)', () => {
  it('finds the secrets of Gateways, DomainMappings and KIngresses, once each', () => {
    const refs = secretRefs(
      {
        gateways: [
          {
            apiVersion: 'networking.istio.io/v1alpha3',
            kind: 'Gateway',
            metadata: {name: 'gw', namespace: 'knative-serving'},
            spec: {servers: [{tls: {credentialName: 'wildcard'}}, {port: {number: 80}}]},
          },
        ],
        domainMappings: [
          {
            apiVersion: 'serving.knative.dev/v1beta1',
            kind: 'DomainMapping',
            metadata: {name: 'a.example.com', namespace: 'app'},
            spec: {tls: {secretName: 'a-cert'}},
          },
        ],
        kingresses: [
          {
            apiVersion: 'networking.internal.knative.dev/v1alpha1',
            kind: 'Ingress',
            metadata: {name: 'k', namespace: 'app'},
            spec: {tls: [{secretName: 'wildcard', secretNamespace: 'istio-system'}, {secretName: 'a-cert'}]},
          },
        ],
      },
      'istio-system',
    )
    expect(refs).toEqual([
      {namespace: 'app', name: 'a-cert', by: ['DomainMapping app/a.example.com', 'KIngress app/k']},
      {namespace: 'istio-system', name: 'wildcard', by: ['Gateway knative-serving/gw', 'KIngress app/k']},
    ])
  })

  it('labels with one merge patch on metadata.labels; the own UID by default; labelled ones untouched', () => {
    const plan = planSecretLabels([secret('a', 'one'), secret('a', 'two', {[CERT_UID_LABEL]: 'x', keep: 'me'}), secret('a', 'three', {keep: 'me'})], {})
    const changes = changesOf(plan)
    expect(changes.map((c) => c.desired!.metadata.name)).toEqual(['one', 'three'])
    expect(changes[0].mergePatch).toEqual({metadata: {labels: {[CERT_UID_LABEL]: 'uid-a-one'}, resourceVersion: '7'}})
    expect(changes[1].desired!.metadata.labels).toEqual({keep: 'me', [CERT_UID_LABEL]: 'uid-a-three'})
    // Pages stay small and never carry secret data.
    expect(JSON.stringify(plan)).not.toContain('UFJJVkFURQ')
    expect(JSON.stringify(plan)).not.toContain('managedFields')
    expect(planSecretLabels([secret('a', 'one')], {uid: 'team'}).items[0].mergePatch).toEqual({
      metadata: {labels: {[CERT_UID_LABEL]: 'team'}, resourceVersion: '7'},
    })
  })

  it('validates --uid as a label value', () => {
    expect(validateUid('abc-1.2_3')).toBe('abc-1.2_3')
    expect(() => validateUid('-bad')).toThrow(/invalid --uid/)
    expect(() => validateUid('x'.repeat(64))).toThrow(/at most 63/)
  })

  it('audits: unlabelled and missing referenced secrets, then unlabelled TLS secrets', () => {
    const refs = [
      {namespace: 'app', name: 'gone', by: ['DomainMapping app/d']},
      {namespace: 'istio-system', name: 'ok', by: ['Gateway istio-system/gw']},
      {namespace: 'istio-system', name: 'bare', by: ['Gateway istio-system/gw']},
    ]
    const read = new Map<string, KObject | null>([
      ['app/gone', null],
      ['istio-system/ok', secret('istio-system', 'ok', {[CERT_UID_LABEL]: 'u'})],
      ['istio-system/bare', secret('istio-system', 'bare')],
    ])
    const rows = auditSecrets(refs, read, [secret('istio-system', 'bare'), secret('b', 'tls')])
    expect(rows.map((r) => `${r.namespace}/${r.name}:${r.problem}`)).toEqual(['app/gone:missing', 'istio-system/bare:unlabelled', 'b/tls:unlabelled'])
  })

  it("--disable writes the guide's override; --enable removes it and keeps other workloads", () => {
    const ks: KObject = {
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeServing',
      metadata: {name: 'knative-serving', namespace: 'knative-serving'},
      spec: {
        workloads: [
          {name: 'activator', replicas: 3},
          {name: 'net-istio-controller', resources: [{container: 'controller', limits: {memory: '1Gi'}}]},
        ],
      },
    }
    const off = planFilterToggle(ks, false).items[0].desired!
    expect(off.spec.workloads).toEqual([
      {name: 'activator', replicas: 3},
      {
        name: 'net-istio-controller',
        resources: [{container: 'controller', limits: {memory: '1Gi'}}],
        env: [{container: 'controller', envVars: [{name: FILTER_ENV, value: 'false'}]}],
      },
    ])
    expect(filteringOverride(off)).toBe('false')
    expect(filteringEnabled(off)).toBe(false)
    expect(changesOf(planFilterToggle(off, false))).toEqual([])
    const on = planFilterToggle(off, true).items[0].desired!
    expect(on.spec).toEqual(ks.spec)
    expect(filteringEnabled(on)).toBe(true)
    // From nothing and back: no empty leftovers.
    const bare: KObject = {...ks, spec: {}}
    expect(planFilterToggle(planFilterToggle(bare, false).items[0].desired!, true).items[0].desired!.spec).toEqual({})
    expect(() => planFilterToggle(null, true)).toThrow(/no KnativeServing/)
  })
})

// runBulk against a recording fake: what was sent, in what shape, how many at once.
function fakeClient(opts: {fail?: (name: string) => string | undefined; delayMs?: number; deny?: (ns: string) => boolean} = {}) {
  const sent: {name: string; patch: unknown}[] = []
  const reviews: {verb: string; resource: string; namespace?: string}[] = []
  let inFlight = 0
  let maxInFlight = 0
  const client = {
    // SelfSubjectAccessReview: allowed unless opts.deny says otherwise (cluster-wide asks: namespace '').
    async request(method: string, path: string, o: {body: {spec: {resourceAttributes: {verb: string; resource: string; namespace?: string}}}}) {
      expect([method, path]).toEqual(['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'])
      const a = o.body.spec.resourceAttributes
      reviews.push(a)
      return {status: {allowed: !opts.deny?.(a.namespace ?? '')}}
    },
    async mergePatch(_info: unknown, name: string, _ns: string, patch: unknown) {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 1))
      inFlight--
      const err = opts.fail?.(name)
      if (err) throw new Error(err)
      sent.push({name, patch})
      return {}
    },
  }
  return {client: client as unknown as KubeClient, sent, reviews, max: () => maxInFlight}
}

function options(over: Partial<EngineOptions> = {}) {
  const out: string[] = []
  const o: EngineOptions = {
    yes: true,
    dryRun: 'none',
    color: false,
    interactive: false,
    printer: {info: (s) => out.push(s), warn: (s) => out.push(`warning: ${s}`), data: (s) => out.push(s), table: (h, r, o) => void out.push(table(h, r, o))},
    confirm: async () => true,
    concurrency: 8,
    ...over,
  }
  return {o, out}
}

function pagesOf(n: number, pageSize: number, labelledEvery = 0) {
  let passes = 0
  return {
    get passes() {
      return passes
    },
    async *pages(): AsyncGenerator<Plan> {
      passes++
      for (let start = 0; start < n; start += pageSize) {
        const page: KObject[] = []
        for (let i = start; i < Math.min(n, start + pageSize); i++)
          page.push(secret(`ns-${i % 3}`, `s-${i}`, labelledEvery && i % labelledEvery === 0 ? {[CERT_UID_LABEL]: 'x'} : undefined))
        yield planSecretLabels(page, {uid: 'u'})
      }
    },
  }
}

describe('runBulk: a streamed plan', () => {
  it('applies every page with bounded concurrency and counts per namespace', async () => {
    const f = fakeClient()
    const spec = pagesOf(1000, 100, 10)
    const {o} = options({concurrency: 8})
    const r = await runBulk(f.client, spec, o)
    expect(spec.passes).toBe(1) // --yes: no summary pass
    expect(r.changed).toBe(900)
    expect(r.unchanged).toBe(100)
    expect(r.failed).toBe(0)
    expect(f.sent).toHaveLength(900)
    expect(f.sent[0].patch).toEqual({metadata: {labels: {[CERT_UID_LABEL]: 'u'}, resourceVersion: '7'}})
    expect(f.max()).toBeLessThanOrEqual(8)
    expect(f.max()).toBeGreaterThan(1)
    expect([...r.byNamespace.values()].reduce((a, c) => a + c.changed, 0)).toBe(900)
  })

  it('records failures with reasons and carries on', async () => {
    const f = fakeClient({fail: (n) => (n.endsWith('7') ? 'forbidden: you cannot patch secrets' : undefined)})
    const r = await runBulk(f.client, pagesOf(100, 30), options().o)
    expect(r.failed).toBe(10)
    expect(r.changed).toBe(90)
    expect([...r.failures]).toEqual([['forbidden: you cannot patch secrets', {count: 10, names: ['ns-1/s-7', 'ns-2/s-17', 'ns-0/s-27']}]])
  })

  it('summarizes instead of diffing thousands, then asks; declined or no terminal: nothing sent', async () => {
    const f = fakeClient()
    const {o, out} = options({yes: false, interactive: true, confirm: async () => false})
    await expect(runBulk(f.client, pagesOf(3000, 500), o)).rejects.toThrow(NotAppliedError)
    expect(f.sent).toHaveLength(0)
    expect(out[0]).toBe('3000 changes:')
    expect(out).toContain('  update Secret in ns-0: 1000 (s-0, s-3, s-6, …)')
    expect(out.join('\n')).not.toContain('@@')
    await expect(runBulk(f.client, pagesOf(10, 5), options({yes: false}).o)).rejects.toThrow(/no terminal to confirm on/)
  })

  it('confirmed: a summary pass, then the apply pass; dry-run=client sends nothing', async () => {
    const f = fakeClient()
    const spec = pagesOf(50, 20)
    const r = await runBulk(f.client, spec, options({yes: false, interactive: true}).o)
    expect(spec.passes).toBe(2)
    expect(r.changed).toBe(50)
    const d = fakeClient()
    const {o, out} = options({dryRun: 'client'})
    const dr = await runBulk(d.client, pagesOf(5, 5), o)
    expect(d.sent).toHaveLength(0)
    expect(dr.changed).toBe(5)
    expect(out.at(-1)).toBe('dry run (client): 5 change(s) shown, nothing applied')
    expect(out.join('\n')).toContain('~ update Secret/ns-0/s-0') // few changes: real diffs
  })

  it('permissions up front: one cluster-wide review when allowed; else one per namespace, and every refused one named, nothing sent', async () => {
    const f = fakeClient()
    await runBulk(f.client, pagesOf(300, 100), options().o)
    expect(f.reviews).toEqual([{verb: 'patch', group: '', resource: 'secrets'}]) // asked once for the whole run
    const d = fakeClient({deny: (ns) => ns !== 'ns-0'})
    const err = await runBulk(d.client, pagesOf(300, 100), options({yes: false, interactive: true}).o).catch((e) => e)
    expect(err).toBeInstanceOf(ForbiddenError)
    expect(err.exitCode).toBe(4)
    expect(err.message).toBe('forbidden: you cannot patch secrets in namespaces ns-1, ns-2; nothing was applied (check with kubectl auth can-i)')
    expect(d.sent).toHaveLength(0)
    expect(d.reviews.map((r) => r.namespace ?? '')).toEqual(['', 'ns-0', 'ns-1', 'ns-2'])
    // --yes: namespaces declared up front (spec.needs) are checked before the first page is written.
    const y = fakeClient({deny: (ns) => ns === 'ns-2' || ns === ''})
    const needs = ['ns-0', 'ns-1', 'ns-2'].map((namespace) => ({verb: 'patch', group: '', resource: 'secrets', namespace}))
    await expect(runBulk(y.client, {...pagesOf(300, 100), needs}, options().o)).rejects.toThrow(
      'forbidden: you cannot patch secrets in namespace ns-2; nothing was applied',
    )
    expect(y.sent).toHaveLength(0)
    // --dry-run=client asks nothing.
    const c = fakeClient({deny: () => true})
    await runBulk(c.client, pagesOf(10, 5), options({dryRun: 'client'}).o)
    expect(c.reviews).toEqual([])
  })

  it('a later page that cannot be listed after some writes: stopped, with the counts (the caller says partially applied)', async () => {
    const f = fakeClient()
    const spec = {
      async *pages(): AsyncGenerator<Plan> {
        yield planSecretLabels([secret('ns-0', 'a'), secret('ns-0', 'b')], {uid: 'u'})
        throw new Error('cannot reach the API server at https://127.0.0.1:1: ECONNREFUSED')
      },
    }
    const r = await runBulk(f.client, spec, options().o)
    expect([r.changed, r.failed, r.stopped, r.noop]).toEqual([2, 0, 'cannot reach the API server at https://127.0.0.1:1: ECONNREFUSED', false])
    // Nothing written yet: the error itself.
    const g = fakeClient()
    const none = {
      // eslint-disable-next-line require-yield -- a listing that fails before its first page
      async *pages(): AsyncGenerator<Plan> {
        throw new Error('cannot reach')
      },
    }
    await expect(runBulk(g.client, none, options().o)).rejects.toThrow('cannot reach')
  })

  it('all labelled: nothing to do', async () => {
    const f = fakeClient()
    const {o, out} = options()
    const r = await runBulk(f.client, pagesOf(20, 5, 1), o)
    expect(r.noop).toBe(true)
    expect(r.unchanged).toBe(20)
    expect(out).toContain('nothing to do: the cluster already matches')
  })

  it('interrupted: starts no new patch, finishes those in flight, says so', async () => {
    const f = fakeClient({delayMs: 5})
    const abort = new AbortController()
    const {o} = options({concurrency: 4, onApplied: (done) => done === 50 && abort.abort()})
    const r = await runBulk(f.client, pagesOf(1000, 100), {...o, signal: abort.signal})
    expect(r.interrupted).toBe(true)
    expect(r.changed).toBe(f.sent.length)
    expect(r.changed).toBeGreaterThanOrEqual(50)
    expect(r.changed).toBeLessThan(60)
  })
})
