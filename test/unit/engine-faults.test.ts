import {describe, expect, it} from 'vitest'
import {describeDenied} from '../../src/change/access.js'
import {runChanges, type EngineOptions} from '../../src/change/engine.js'
import type {Plan} from '../../src/change/plan.js'
import {ExitCode, ForbiddenError, KubeError, PartialError} from '../../src/errors.js'
import type {KubeClient} from '../../src/kube/client.js'
import type {KObject} from '../../src/kube/types.js'

const policy = (ns: string, name: string): KObject => ({
  apiVersion: 'security.istio.io/v1beta1',
  kind: 'AuthorizationPolicy',
  metadata: {name, namespace: ns},
  spec: {},
})

/** Four creates in three namespaces. */
function plan(): Plan {
  return {items: [policy('a', 'p1'), policy('b', 'p2'), policy('c', 'p3'), policy('c', 'p4')].map((desired) => ({live: null, desired})), notes: []}
}

/** A fake client: creates succeed until `failAt` (1-based, real writes only); reviews answer by namespace. */
function fake(opts: {failAt?: number; deny?: (verb: string, ns: string) => boolean} = {}) {
  const created: string[] = []
  const reviews: string[] = []
  let writes = 0
  const client = {
    async request(_m: string, _p: string, o: {body: {spec: {resourceAttributes: {verb: string; resource: string; namespace?: string}}}}) {
      const a = o.body.spec.resourceAttributes
      reviews.push(`${a.verb} ${a.resource} ${a.namespace ?? ''}`)
      return {status: {allowed: !opts.deny?.(a.verb, a.namespace ?? '')}}
    },
    async create(obj: KObject, o: {serverDryRun?: boolean}) {
      if (o.serverDryRun) return obj
      if (++writes === opts.failAt) throw new KubeError('cannot reach the API server at https://127.0.0.1:6443 (kubeconfig k): ECONNREFUSED')
      created.push(`${obj.metadata.namespace}/${obj.metadata.name}`)
      return obj
    },
  }
  return {client: client as unknown as KubeClient, created, reviews}
}

const options = (over: Partial<EngineOptions> = {}): EngineOptions => ({
  yes: true,
  dryRun: 'none',
  color: false,
  interactive: false,
  printer: {info: () => {}, warn: () => {}, data: () => {}, table: () => {}},
  confirm: async () => true,
  ...over,
})

describe('runChanges when the API server fails mid-run', () => {
  it('some writes made, then the server is gone: exit 8 naming what was and was not applied', async () => {
    const f = fake({failAt: 3})
    const err = await runChanges(f.client, {read: async () => null, plan}, options()).catch((e) => e)
    expect(err).toBeInstanceOf(PartialError)
    expect(err.exitCode).toBe(ExitCode.PARTIAL)
    expect(err.exitCode).toBe(8)
    expect(err.message).toBe(
      'partially applied: 2 of 4 change(s) applied (create AuthorizationPolicy/a/p1, create AuthorizationPolicy/b/p2); not applied: create AuthorizationPolicy/c/p3, create AuthorizationPolicy/c/p4; because: cannot reach the API server at https://127.0.0.1:6443 (kubeconfig k): ECONNREFUSED. Each write is whole: run the same command again to finish',
    )
    expect(f.created).toEqual(['a/p1', 'b/p2'])
  })

  it('the first write fails: the error itself (exit 4), not "partially applied"', async () => {
    const err = await runChanges(fake({failAt: 1}).client, {read: async () => null, plan}, options()).catch((e) => e)
    expect(err).toBeInstanceOf(KubeError)
    expect(err.exitCode).toBe(4)
  })
})

describe('permissions up front (SelfSubjectAccessReview)', () => {
  it('one review per verb/resource/namespace, after a refused cluster-wide one; all refused ones in one message; nothing applied', async () => {
    const f = fake({deny: (_v, ns) => ns !== 'a'})
    const err = await runChanges(f.client, {read: async () => null, plan}, options()).catch((e) => e)
    expect(err).toBeInstanceOf(ForbiddenError)
    expect(err.exitCode).toBe(4)
    expect(err.message).toBe(
      'forbidden: you cannot create authorizationpolicies.security.istio.io in namespaces b, c; nothing was applied (check with kubectl auth can-i)',
    )
    expect(f.reviews).toEqual([
      'create authorizationpolicies ',
      'create authorizationpolicies a',
      'create authorizationpolicies b',
      'create authorizationpolicies c',
    ])
    expect(f.created).toEqual([])
  })

  it('allowed cluster-wide: one review; --dry-run=client: none', async () => {
    const f = fake()
    await runChanges(f.client, {read: async () => null, plan}, options())
    expect(f.reviews).toEqual(['create authorizationpolicies '])
    expect(f.created).toHaveLength(4)
    const c = fake({deny: () => true})
    const r = await runChanges(c.client, {read: async () => null, plan}, options({dryRun: 'client'}))
    expect(r.applied).toBe(false)
    expect(c.reviews).toEqual([])
  })

  it('describeDenied names every verb/resource and namespace, the first 20 namespaces by name', () => {
    const many = Array.from({length: 23}, (_, i) => ({verb: 'patch', group: '', resource: 'secrets', namespace: `ns-${String(i).padStart(2, '0')}`}))
    expect(
      describeDenied([
        ...many,
        {verb: 'patch', group: 'maistra.io', resource: 'servicemeshmemberrolls', namespace: 'istio-system'},
        {verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespace: ''},
      ]),
    ).toBe(
      `you cannot patch secrets in namespaces ${many
        .slice(0, 20)
        .map((a) => a.namespace)
        .join(
          ', ',
        )} and 3 more; patch servicemeshmemberrolls.maistra.io in namespace istio-system; create clusterroles.rbac.authorization.k8s.io (cluster-scoped)`,
    )
  })
})
