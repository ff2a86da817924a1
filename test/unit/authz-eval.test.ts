import {describe, expect, it} from 'vitest'
import {evaluate, matchCidr, matchPattern, mtlsMode, type AuthzRequest} from '../../src/mesh/authz-eval.js'
import type {KObject} from '../../src/kube/types.js'

// Cases follow istio.io "Authorization Policy" (reference and concepts) and "PeerAuthentication".

const ap = (name: string, namespace: string, spec: Record<string, unknown>): KObject => ({
  apiVersion: 'security.istio.io/v1beta1',
  kind: 'AuthorizationPolicy',
  metadata: {name, namespace},
  spec,
})

const pa = (name: string, namespace: string, spec: Record<string, unknown>): KObject => ({
  apiVersion: 'security.istio.io/v1beta1',
  kind: 'PeerAuthentication',
  metadata: {name, namespace},
  spec,
})

/** A request from the sleep workload in `from` (mTLS) to httpbin in foo. */
function req(over: Partial<AuthzRequest> & {from?: string} = {}): AuthzRequest {
  const from = over.from ?? 'bar'
  return {
    source: {namespace: from, principal: `cluster.local/ns/${from}/sa/sleep`},
    destination: {namespace: 'foo', labels: {app: 'httpbin', version: 'v1'}, port: 8000},
    host: 'httpbin.foo',
    path: '/headers',
    method: 'GET',
    headers: {},
    ...over,
  }
}

describe('string matching (exact, prefix, suffix, presence)', () => {
  it("follows Istio's four forms", () => {
    expect(matchPattern('abc', 'abc')).toBe(true)
    expect(matchPattern('abc', 'abcd')).toBe(false)
    expect(matchPattern('abc*', 'abcd')).toBe(true)
    expect(matchPattern('*bcd', 'abcd')).toBe(true)
    expect(matchPattern('*bcd', 'abc')).toBe(false)
    expect(matchPattern('*', 'x')).toBe(true)
    expect(matchPattern('*', '')).toBe(false) // presence: any non-empty value
    expect(matchPattern('*', undefined)).toBe(false)
  })
  it('matches IPv4 CIDR blocks and single addresses', () => {
    expect(matchCidr('10.0.0.0/8', '10.1.2.3')).toBe(true)
    expect(matchCidr('10.0.0.0/8', '11.1.2.3')).toBe(false)
    expect(matchCidr('192.168.1.7', '192.168.1.7')).toBe(true)
    expect(matchCidr('192.168.1.0/24', '192.168.2.1')).toBe(false)
    expect(matchCidr('0.0.0.0/0', '8.8.8.8')).toBe(true)
  })
})

describe('action order and policy presence', () => {
  it('allows when no policy applies to the workload', () => {
    const d = evaluate([], req())
    expect(d).toMatchObject({verdict: 'allow', by: 'NONE'})
  })

  it('spec: {} (ALLOW with no rules) denies every request to the workloads it applies to, and is named', () => {
    const d = evaluate([ap('allow-nothing', 'foo', {})], req())
    expect(d.verdict).toBe('deny')
    expect(d.policy).toEqual({namespace: 'foo', name: 'allow-nothing'})
    expect(d.reason).toContain('foo/allow-nothing (no rules) denies everything')
  })

  it('an explicit ALLOW with no rules is the same as spec: {}', () => {
    expect(evaluate([ap('allow-nothing', 'foo', {action: 'ALLOW'})], req()).verdict).toBe('deny')
  })

  it('rules: [{}] (an empty rule) allows everything', () => {
    const d = evaluate([ap('allow-all', 'foo', {rules: [{}]}), ap('deny-all', 'foo', {})], req())
    expect(d).toMatchObject({verdict: 'allow', by: 'ALLOW', policy: {name: 'allow-all'}, rule: 0})
  })

  it('a DENY policy without rules matches nothing', () => {
    expect(evaluate([ap('deny-nothing', 'foo', {action: 'DENY'})], req())).toMatchObject({verdict: 'allow', by: 'NONE'})
  })

  it('DENY is evaluated before ALLOW: a matching DENY wins over a matching ALLOW', () => {
    const policies = [
      ap('allow-get', 'foo', {action: 'ALLOW', rules: [{to: [{operation: {methods: ['GET']}}]}]}),
      ap('deny-bar', 'foo', {action: 'DENY', rules: [{from: [{source: {namespaces: ['bar']}}]}]}),
    ]
    expect(evaluate(policies, req())).toMatchObject({verdict: 'deny', by: 'DENY', policy: {name: 'deny-bar'}, rule: 0})
    expect(evaluate(policies, req({from: 'baz'}))).toMatchObject({verdict: 'allow', policy: {name: 'allow-get'}})
  })

  it('CUSTOM: a matching CUSTOM rule hands the request to the external authorizer, which can only deny', () => {
    const policies = [
      ap('ext', 'foo', {action: 'CUSTOM', provider: {name: 'opa'}, rules: [{to: [{operation: {paths: ['/admin/*']}}]}]}),
      ap('deny-all-get', 'foo', {action: 'DENY', rules: [{to: [{operation: {methods: ['GET']}}]}]}),
    ]
    // DENY and ALLOW let it through: the external authorizer decides.
    expect(evaluate(policies, req({path: '/admin/users', method: 'POST'}))).toMatchObject({verdict: 'unknown', by: 'CUSTOM', policy: {name: 'ext'}, rule: 0})
    // A matching DENY denies whatever the external authorizer says.
    expect(evaluate(policies, req({path: '/admin/users', method: 'GET'}))).toMatchObject({verdict: 'deny', by: 'DENY'})
    // CUSTOM not matching: no effect.
    expect(evaluate(policies, req({path: '/headers', method: 'POST'}))).toMatchObject({verdict: 'allow', by: 'NONE'})
  })

  it('a policy annotated istio.io/dry-run: "true" is not enforced', () => {
    const dry = {...ap('deny-all', 'foo', {}), metadata: {name: 'deny-all', namespace: 'foo', annotations: {'istio.io/dry-run': 'true'}}}
    expect(evaluate([dry], req()).verdict).toBe('allow')
    expect(evaluate([ap('deny-all', 'foo', {})], req()).verdict).toBe('deny')
  })

  it('AUDIT policies never decide', () => {
    expect(evaluate([ap('audit', 'foo', {action: 'AUDIT', rules: [{}]})], req())).toMatchObject({verdict: 'allow', by: 'NONE'})
  })

  it('when several ALLOW policies apply, one matching rule of any of them is enough', () => {
    const policies = [
      ap('a', 'foo', {rules: [{from: [{source: {namespaces: ['x']}}]}]}),
      ap('b', 'foo', {rules: [{from: [{source: {namespaces: ['y']}}]}, {from: [{source: {namespaces: ['bar']}}]}]}),
    ]
    expect(evaluate(policies, req())).toMatchObject({verdict: 'allow', policy: {name: 'b'}, rule: 1})
    expect(evaluate(policies, req({from: 'z'})).verdict).toBe('deny')
  })
})

describe('scope: namespace, root namespace and selector', () => {
  it('a policy applies only to workloads of its own namespace', () => {
    expect(evaluate([ap('deny-all', 'other', {})], req()).verdict).toBe('allow')
  })
  it('a policy in the root namespace applies mesh-wide', () => {
    expect(evaluate([ap('deny-all', 'istio-system', {})], req()).verdict).toBe('deny')
    expect(evaluate([ap('deny-all', 'my-root', {})], req(), 'my-root').verdict).toBe('deny')
  })
  it('a selector narrows a policy to the workloads whose labels match all of matchLabels', () => {
    const only = (labels: Record<string, string>) => ap('deny-all', 'foo', {selector: {matchLabels: labels}})
    expect(evaluate([only({app: 'httpbin'})], req()).verdict).toBe('deny')
    expect(evaluate([only({app: 'httpbin', version: 'v1'})], req()).verdict).toBe('deny')
    expect(evaluate([only({app: 'httpbin', version: 'v2'})], req()).verdict).toBe('allow')
    expect(evaluate([only({app: 'productpage'})], req()).verdict).toBe('allow')
  })
  it('a root-namespace policy with a selector applies to matching workloads in every namespace', () => {
    expect(evaluate([ap('deny-httpbin', 'istio-system', {selector: {matchLabels: {app: 'httpbin'}}})], req()).verdict).toBe('deny')
  })
  it('policies bound with targetRef(s) do not apply to sidecar workloads', () => {
    expect(evaluate([ap('gw', 'foo', {targetRefs: [{kind: 'Gateway', name: 'waypoint'}]})], req()).verdict).toBe('allow')
  })
})

describe('source: principals and namespaces need mTLS, notX fields, AND within a source, OR across sources', () => {
  const allowFrom = (source: Record<string, unknown>) => [ap('allow', 'foo', {rules: [{from: [{source}]}]})]
  it('principals: exact, prefix, suffix and "*" (any authenticated)', () => {
    expect(evaluate(allowFrom({principals: ['cluster.local/ns/bar/sa/sleep']}), req()).verdict).toBe('allow')
    expect(evaluate(allowFrom({principals: ['cluster.local/ns/bar/*']}), req()).verdict).toBe('allow')
    expect(evaluate(allowFrom({principals: ['*/sa/sleep']}), req()).verdict).toBe('allow')
    expect(evaluate(allowFrom({principals: ['*']}), req()).verdict).toBe('allow')
    expect(evaluate(allowFrom({principals: ['cluster.local/ns/bar/sa/other']}), req()).verdict).toBe('deny')
  })
  it('without mTLS there is no principal and no namespace: principals/namespaces never match, "*" included', () => {
    const plaintext = req({source: {}})
    expect(evaluate(allowFrom({principals: ['*']}), plaintext).verdict).toBe('deny')
    expect(evaluate(allowFrom({namespaces: ['bar']}), plaintext).verdict).toBe('deny')
    // A negative field holds when the value is absent.
    expect(evaluate(allowFrom({notNamespaces: ['bar']}), plaintext).verdict).toBe('allow')
  })
  it('notNamespaces / notPrincipals exclude', () => {
    expect(evaluate(allowFrom({notNamespaces: ['bar']}), req()).verdict).toBe('deny')
    expect(evaluate(allowFrom({notNamespaces: ['bar']}), req({from: 'baz'})).verdict).toBe('allow')
    expect(evaluate(allowFrom({principals: ['*'], notPrincipals: ['cluster.local/ns/bar/sa/sleep']}), req()).verdict).toBe('deny')
  })
  it('fields of one source are ANDed', () => {
    const source = {namespaces: ['bar'], principals: ['cluster.local/ns/bar/sa/admin']}
    expect(evaluate(allowFrom(source), req()).verdict).toBe('deny')
    expect(evaluate(allowFrom(source), req({source: {namespace: 'bar', principal: 'cluster.local/ns/bar/sa/admin'}})).verdict).toBe('allow')
  })
  it('several sources are ORed', () => {
    const policies = [ap('allow', 'foo', {rules: [{from: [{source: {namespaces: ['x']}}, {source: {namespaces: ['bar']}}]}]})]
    expect(evaluate(policies, req()).verdict).toBe('allow')
  })
  it('ipBlocks / notIpBlocks match the source address', () => {
    expect(evaluate(allowFrom({ipBlocks: ['10.0.0.0/16']}), req({source: {ip: '10.0.3.4'}})).verdict).toBe('allow')
    expect(evaluate(allowFrom({ipBlocks: ['10.0.0.0/16']}), req({source: {ip: '10.1.3.4'}})).verdict).toBe('deny')
    expect(evaluate(allowFrom({notIpBlocks: ['10.0.0.0/16']}), req({source: {ip: '10.0.3.4'}})).verdict).toBe('deny')
  })
  it('an empty list is an unset field', () => {
    expect(evaluate(allowFrom({namespaces: []}), req()).verdict).toBe('allow')
  })
})

describe('operation: hosts, paths, methods, ports and their notX fields', () => {
  const allowTo = (operation: Record<string, unknown>) => [ap('allow', 'foo', {rules: [{to: [{operation}]}]})]
  it('hosts: exact and wildcard, case-insensitively', () => {
    expect(evaluate(allowTo({hosts: ['httpbin.foo']}), req()).verdict).toBe('allow')
    expect(evaluate(allowTo({hosts: ['*.foo']}), req()).verdict).toBe('allow')
    expect(evaluate(allowTo({hosts: ['*.foo']}), req({host: 'HTTPBIN.FOO'})).verdict).toBe('allow')
    expect(evaluate(allowTo({hosts: ['*.foo.svc', '*.foo.svc.cluster.local']}), req()).verdict).toBe('deny')
    expect(evaluate(allowTo({hosts: ['*.foo.svc.cluster.local']}), req({host: 'httpbin.foo.svc.cluster.local'})).verdict).toBe('allow')
    expect(evaluate(allowTo({hosts: ['*.bar']}), req()).verdict).toBe('deny')
  })
  it('hosts are compared with the Host header as sent: a port makes an exact host miss unless "host:*" is listed', () => {
    expect(evaluate(allowTo({hosts: ['httpbin.foo']}), req({host: 'httpbin.foo:8000'})).verdict).toBe('deny')
    expect(evaluate(allowTo({hosts: ['httpbin.foo', 'httpbin.foo:*']}), req({host: 'httpbin.foo:8000'})).verdict).toBe('allow')
  })
  it('notHosts', () => {
    expect(evaluate(allowTo({notHosts: ['*.foo']}), req()).verdict).toBe('deny')
    expect(evaluate(allowTo({notHosts: ['*.bar']}), req()).verdict).toBe('allow')
  })
  it('paths: exact, prefix, suffix; the query string is not part of the path', () => {
    expect(evaluate(allowTo({paths: ['/headers']}), req({path: '/headers?x=1'})).verdict).toBe('allow')
    expect(evaluate(allowTo({paths: ['/api/*']}), req({path: '/api/v1/users'})).verdict).toBe('allow')
    expect(evaluate(allowTo({paths: ['*.html']}), req({path: '/index.html'})).verdict).toBe('allow')
    expect(evaluate(allowTo({paths: ['/api/*']}), req({path: '/admin'})).verdict).toBe('deny')
    expect(evaluate(allowTo({notPaths: ['/admin/*']}), req({path: '/admin/x'})).verdict).toBe('deny')
  })
  it('methods and notMethods', () => {
    expect(evaluate(allowTo({methods: ['GET', 'HEAD']}), req()).verdict).toBe('allow')
    expect(evaluate(allowTo({methods: ['POST']}), req()).verdict).toBe('deny')
    expect(evaluate(allowTo({notMethods: ['GET']}), req()).verdict).toBe('deny')
  })
  it('ports and notPorts compare the destination port', () => {
    expect(evaluate(allowTo({ports: ['8000']}), req()).verdict).toBe('allow')
    expect(evaluate(allowTo({ports: ['8022']}), req()).verdict).toBe('deny')
    expect(evaluate(allowTo({notPorts: ['8000']}), req()).verdict).toBe('deny')
  })
  it('fields of one operation are ANDed; several operations are ORed', () => {
    expect(evaluate(allowTo({methods: ['GET'], paths: ['/admin']}), req()).verdict).toBe('deny')
    const either = [ap('allow', 'foo', {rules: [{to: [{operation: {paths: ['/admin']}}, {operation: {methods: ['GET']}}]}]})]
    expect(evaluate(either, req()).verdict).toBe('allow')
  })
})

describe('when conditions', () => {
  const allowWhen = (when: unknown[], extra: Record<string, unknown> = {}) => [ap('allow', 'foo', {rules: [{...extra, when}]})]
  it('request.headers[...]: values ORed, header names case-insensitive', () => {
    const when = [{key: 'request.headers[Kn-Namespace]', values: ['team-a', 'team-b']}]
    expect(evaluate(allowWhen(when), req({headers: {'kn-namespace': 'team-b'}})).verdict).toBe('allow')
    expect(evaluate(allowWhen(when), req({headers: {'Kn-Namespace': 'team-c'}})).verdict).toBe('deny')
    expect(evaluate(allowWhen(when), req({headers: {}})).verdict).toBe('deny')
  })
  it('notValues; a missing header satisfies notValues', () => {
    const when = [{key: 'request.headers[version]', notValues: ['v2']}]
    expect(evaluate(allowWhen(when), req({headers: {version: 'v2'}})).verdict).toBe('deny')
    expect(evaluate(allowWhen(when), req({headers: {version: 'v1'}})).verdict).toBe('allow')
    expect(evaluate(allowWhen(when), req()).verdict).toBe('allow')
  })
  it('conditions are ANDed with each other and with from/to', () => {
    const when = [
      {key: 'request.headers[version]', values: ['v1']},
      {key: 'source.namespace', values: ['bar']},
      {key: 'destination.port', values: ['8000']},
    ]
    expect(evaluate(allowWhen(when), req({headers: {version: 'v1'}})).verdict).toBe('allow')
    expect(evaluate(allowWhen(when), req({from: 'baz', headers: {version: 'v1'}})).verdict).toBe('deny')
    const withTo = allowWhen([{key: 'request.headers[version]', values: ['v1']}], {to: [{operation: {methods: ['POST']}}]})
    expect(evaluate(withTo, req({headers: {version: 'v1'}})).verdict).toBe('deny')
  })
  it('source.principal, source.ip and JWT keys (absent here) in when', () => {
    expect(evaluate(allowWhen([{key: 'source.principal', values: ['cluster.local/ns/bar/*']}]), req()).verdict).toBe('allow')
    expect(evaluate(allowWhen([{key: 'source.ip', values: ['10.0.0.0/8']}]), req({source: {ip: '10.2.2.2'}})).verdict).toBe('allow')
    expect(evaluate(allowWhen([{key: 'request.auth.claims[iss]', values: ['*']}]), req()).verdict).toBe('deny')
  })
})

describe('PeerAuthentication: the effective mTLS mode', () => {
  const w = {namespace: 'foo', labels: {app: 'httpbin'}}
  it('is PERMISSIVE by default', () => {
    expect(mtlsMode([], w, 'istio-system')).toEqual({mode: 'PERMISSIVE'})
  })
  it('mesh-wide from the root namespace, overridden by the namespace, overridden by a workload selector', () => {
    const root = pa('default', 'istio-system', {mtls: {mode: 'STRICT'}})
    const ns = pa('default', 'foo', {mtls: {mode: 'PERMISSIVE'}})
    const wl = pa('httpbin', 'foo', {selector: {matchLabels: {app: 'httpbin'}}, mtls: {mode: 'DISABLE'}})
    expect(mtlsMode([root], w, 'istio-system').mode).toBe('STRICT')
    expect(mtlsMode([root, ns], w, 'istio-system')).toEqual({mode: 'PERMISSIVE', from: {namespace: 'foo', name: 'default'}})
    expect(mtlsMode([root, ns, wl], w, 'istio-system').mode).toBe('DISABLE')
  })
  it('UNSET inherits from the parent; portLevelMtls overrides for one port of a selected workload', () => {
    const root = pa('default', 'istio-system', {mtls: {mode: 'STRICT'}})
    const unset = pa('default', 'foo', {mtls: {mode: 'UNSET'}})
    const port = pa('httpbin', 'foo', {selector: {matchLabels: {app: 'httpbin'}}, portLevelMtls: {'8080': {mode: 'PERMISSIVE'}}})
    expect(mtlsMode([root, unset], w, 'istio-system').mode).toBe('STRICT')
    expect(mtlsMode([root, port], w, 'istio-system', 8080).mode).toBe('PERMISSIVE')
    expect(mtlsMode([root, port], w, 'istio-system', 9090).mode).toBe('STRICT')
  })
  it('a root-namespace PeerAuthentication with a selector applies only to the root namespace', () => {
    const sel = pa('gw', 'istio-system', {selector: {matchLabels: {app: 'httpbin'}}, mtls: {mode: 'STRICT'}})
    expect(mtlsMode([sel], w, 'istio-system').mode).toBe('PERMISSIVE')
  })
})
