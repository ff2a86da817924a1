import {describe, expect, it} from 'vitest'
import {parseAllDocuments} from 'yaml'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {golden} from '../support/golden.js'
import {knmeshOnTty} from '../support/tty.js'

// Edits fixed-name objects in knative-serving / knative-eventing: a control plane of its own.
const cluster = isolatedCluster()

const TENANT = 'knmesh.openshift.io/tenant'
const key = (o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`

/**
 * The reference set for team-alpha {team-alpha-1, team-alpha-2}: `helm template` of the knative-istio-authz
 * chart 1.32.0 (golden file, see test/fixtures/golden/SOURCES.md). It replaces a hand-written set that
 * carried `methods: ["POST"]` on the eventing rules, which no chart version renders (issue 11.3).
 */
function referenceSet(): KObject[] {
  return golden('authz-chart/team-alpha.yaml')
}

async function tenantObjects(tenant?: string): Promise<KObject[]> {
  const sel = tenant ? `${TENANT}=${tenant}` : TENANT
  return (await cluster.client.listAll(Kinds.AuthorizationPolicy, undefined, {labelSelector: sel})).sort((a, b) => key(a).localeCompare(key(b)))
}

describe('tenant-authz against a real API server (guide 2.3, the two-tenant example)', () => {
  it('refuses bad input before any change', async () => {
    const bad = await cluster.run(['tenant-authz', 'Team_Alpha', '--namespaces', 'team-alpha-1', '--yes'])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/^error: invalid tenant name "Team_Alpha"/)
    const reserved = await cluster.run(['tenant-authz', 'team-alpha', '--namespaces', 'knative-serving', '--yes'])
    expect(reserved.exitCode).toBe(2)
    expect(reserved.stderr).toContain('knative-serving cannot be a tenant namespace')
    const missing = await cluster.run(['tenant-authz', 'team-alpha', '--namespaces', 'no-such-ns', '--yes'])
    expect(missing.exitCode).toBe(6) // issue 18 item 5: a namespace that does not exist has its own exit code (was 4)
    expect(missing.stderr).toContain('"no-such-ns" does not exist')
    expect(await tenantObjects()).toEqual([])
  })

  it("--defaults installs the guide's cluster-wide policies verbatim; a second run does nothing", async () => {
    const r = await cluster.run(['tenant-authz', '--defaults', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const deny = await cluster.client.get(Kinds.AuthorizationPolicy, 'deny-all-by-default', 'knative-serving')
    expect(deny?.spec ?? {}).toEqual({})
    expect(await cluster.client.get(Kinds.AuthorizationPolicy, 'deny-all-by-default', 'knative-eventing')).not.toBeNull()
    const act = await cluster.client.get(Kinds.AuthorizationPolicy, 'allow-traffic-to-activator', 'knative-serving')
    expect(act?.spec).toEqual({
      selector: {matchLabels: {app: 'activator'}},
      action: 'ALLOW',
      rules: [{from: [{source: {namespaces: ['knative-serving', 'istio-system']}}]}],
    })
    const probe = await cluster.client.get(Kinds.AuthorizationPolicy, 'allow-probe-kafka-sink-receiver', 'knative-eventing')
    expect(probe?.spec).toEqual({
      action: 'ALLOW',
      selector: {matchLabels: {'app.kubernetes.io/component': 'kafka-sink-receiver'}},
      rules: [
        {
          from: [{source: {namespaces: ['knative-eventing'], principals: ['cluster.local/ns/knative-eventing/sa/kafka-controller']}}],
          to: [{operation: {methods: ['GET']}}],
        },
      ],
    })
    const all = await cluster.client.listAll(Kinds.AuthorizationPolicy)
    expect(all).toHaveLength(11)
    const again = await cluster.run(['tenant-authz', '--defaults'])
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('nothing to do')
  })

  it('creates team-alpha equal, object for object, to the reference set; labels record the tenant; idempotent', async () => {
    for (const ns of ['team-alpha-1', 'team-alpha-2', 'team-alpha-3', 'team-bravo-1']) await createNamespace(cluster.client, ns)
    const r = await cluster.run(['tenant-authz', 'team-alpha', '--namespaces', 'team-alpha-1,team-alpha-2', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    // The SMMR of the seed has no members: the verb says which command to run.
    expect(r.stderr).toContain('knmesh add-namespace team-alpha-1 team-alpha-2')

    const live = await tenantObjects('team-alpha')
    const want = referenceSet().sort((a, b) => key(a).localeCompare(key(b)))
    expect(live.map(key)).toEqual(want.map(key))
    for (const [i, w] of want.entries()) {
      expect(live[i].apiVersion, key(w)).toBe('security.istio.io/v1beta1')
      expect(live[i].spec, key(w)).toEqual(w.spec)
      expect(live[i].metadata.labels, key(w)).toEqual({'app.kubernetes.io/managed-by': 'knmesh', [TENANT]: 'team-alpha'})
    }
    const again = await cluster.run(['tenant-authz', 'team-alpha', '--namespaces', 'team-alpha-1,team-alpha-2'])
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('nothing to do')
  })

  it('a namespace belongs to one tenant only: refused, naming the other tenant, nothing changed', async () => {
    const before = (await tenantObjects()).map((o) => o.metadata.resourceVersion)
    const r = await cluster.run(['tenant-authz', 'team-bravo', '--namespaces', 'team-bravo-1,team-alpha-2', '--yes'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('namespace team-alpha-2 already belongs to tenant team-alpha')
    expect((await tenantObjects()).map((o) => o.metadata.resourceVersion)).toEqual(before)
  })

  it('adding a namespace updates every list of every policy and creates its per-namespace objects; --add-to-mesh adds it to the SMMR', async () => {
    const r = await cluster.run(['tenant-authz', 'team-alpha', '--namespaces', 'team-alpha-3', '--add-to-mesh', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const live = await tenantObjects('team-alpha')
    expect(live).toHaveLength(14)
    expect(
      live
        .filter((o) => o.metadata.namespace === 'team-alpha-3')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['allow-from-knative-and-istio', 'allow-wait-for-drain'])
    for (const o of live) {
      if (o.metadata.name === 'allow-wait-for-drain') continue
      const text = JSON.stringify(o.spec)
      expect(text, key(o)).toContain('team-alpha-3')
      // team-alpha-3 appears after team-alpha-2 in every list.
      expect(text.indexOf('team-alpha-3'), key(o)).toBeGreaterThan(text.indexOf('team-alpha-2'))
    }
    const act = live.find((o) => o.metadata.name === 'allow-team-alpha-to-activator')!
    expect(act.spec.rules[0].from[0].source.namespaces).toEqual(['team-alpha-1', 'team-alpha-2', 'team-alpha-3'])
    const smmr = await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')
    expect(smmr?.spec.members).toEqual(['knative-serving', 'knative-eventing', 'team-alpha-1', 'team-alpha-2', 'team-alpha-3'])
  })

  it('removing a namespace removes it everywhere and deletes its per-namespace objects', async () => {
    const r = await cluster.run(['tenant-authz', 'team-alpha', '--remove-namespace', 'team-alpha-3', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const live = await tenantObjects('team-alpha')
    expect(live).toHaveLength(12)
    expect(JSON.stringify(live.map((o) => [o.metadata.namespace, o.spec]))).not.toContain('team-alpha-3')
    // Back to the reference set exactly.
    const want = referenceSet().sort((a, b) => key(a).localeCompare(key(b)))
    expect(live.map((o) => o.spec)).toEqual(want.map((o) => o.spec))
  })

  it('keeps fields it does not own when updating', async () => {
    await cluster.client.mergePatch(Kinds.AuthorizationPolicy, 'allow-team-alpha-to-activator', 'knative-serving', {
      metadata: {labels: {owner: 'platform'}, annotations: {note: 'keep me'}},
    })
    const r = await cluster.run(['tenant-authz', 'team-alpha', '--namespaces', 'team-alpha-3', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const act = await cluster.client.get(Kinds.AuthorizationPolicy, 'allow-team-alpha-to-activator', 'knative-serving')
    expect(act?.metadata.labels?.owner).toBe('platform')
    expect(act?.metadata.annotations?.note).toBe('keep me')
    await cluster.run(['tenant-authz', 'team-alpha', '--remove-namespace', 'team-alpha-3', '--yes'])
  })

  it('--list shows tenants, namespaces and policy counts; -o yaml renders the whole policy set', async () => {
    const b = await cluster.run(['tenant-authz', 'team-bravo', '--namespaces', 'team-bravo-1', '--yes'])
    expect(b.exitCode, b.stderr).toBe(0)
    const r = await cluster.run(['tenant-authz', '--list'])
    expect(r.exitCode, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toMatch(/^TENANT\s+NAMESPACES\s+POLICIES\s+COMPONENTS\s+NOT IN MESH$/)
    expect(lines[1]).toMatch(/^team-alpha\s+team-alpha-1,team-alpha-2\s+12\s+serving,eventing\s+-$/)
    expect(lines[2]).toMatch(/^team-bravo\s+team-bravo-1\s+10\s+serving,eventing\s+team-bravo-1$/)
    const y = await cluster.run(['tenant-authz', '--list', '-o', 'yaml'])
    expect(y.exitCode, y.stderr).toBe(0)
    const docs = parseAllDocuments(y.stdout).map((d) => d.toJS() as KObject)
    expect(docs).toHaveLength(22)
    expect(docs.every((d) => d.kind === 'AuthorizationPolicy' && !d.metadata.resourceVersion && !d.metadata.uid)).toBe(true)
  })

  it('a view-only user gets one clear line and nothing is written; --dry-run=client -o yaml prints plain YAML', async () => {
    await createNamespace(cluster.client, 'team-delta-1')
    const r = await cluster.run(['tenant-authz', 'team-delta', '--namespaces', 'team-delta-1', '--yes'], {kubeconfig: cluster.restrictedKubeconfig})
    expect(r.exitCode).toBe(4)
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^error: forbidden: you cannot create authorizationpolicies.security.istio.io in namespace/)
    expect(await tenantObjects('team-delta')).toEqual([])
    const y = await cluster.run(['tenant-authz', 'team-delta', '--namespaces', 'team-delta-1', '--no-eventing', '--dry-run=client', '-o', 'yaml'])
    expect(y.exitCode, y.stderr).toBe(0)
    const docs = parseAllDocuments(y.stdout)
    expect(docs.map((d) => (d.toJS() as KObject).metadata.name)).toEqual([
      'allow-from-knative-and-istio',
      'allow-team-delta-to-activator',
      'allow-wait-for-drain',
    ])
    expect(y.stdout).not.toMatch(/[&*]a\d/) // no anchors/aliases
    expect(await tenantObjects('team-delta')).toEqual([])
  })

  it('on a terminal, offers to add non-member namespaces to the member roll in the same change', async () => {
    await createNamespace(cluster.client, 'team-charlie-1')
    const r = await knmeshOnTty(['tenant-authz', 'team-charlie', '--namespaces', 'team-charlie-1'], cluster.kubeconfig, [
      {when: /team-charlie-1 is not in the ServiceMeshMemberRoll \(istio-system\/default\): add it in the same change\?/, keys: 'y\r'},
      {when: /Apply 11 change\(s\)\?/, keys: 'y\r'},
    ])
    expect(r.exitCode, r.output).toBe(0)
    expect(r.output).toContain('~ update ServiceMeshMemberRoll/istio-system/default')
    expect((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.spec.members).toContain('team-charlie-1')
    expect(await tenantObjects('team-charlie')).toHaveLength(10)
    expect((await cluster.run(['tenant-authz', '--delete', 'team-charlie', '--yes'])).exitCode).toBe(0)
  }, 90_000)

  it("--delete removes the tenant's objects and nothing else", async () => {
    const before = await cluster.client.listAll(Kinds.AuthorizationPolicy)
    const r = await cluster.run(['tenant-authz', '--delete', 'team-bravo', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const after = await cluster.client.listAll(Kinds.AuthorizationPolicy)
    expect(await tenantObjects('team-bravo')).toEqual([])
    const gone = before.filter((o) => !after.some((a) => key(a) === key(o)))
    expect(gone).toHaveLength(10)
    expect(gone.every((o) => o.metadata.labels?.[TENANT] === 'team-bravo')).toBe(true)
    // Everything else untouched (same resourceVersion).
    for (const o of after) expect(o.metadata.resourceVersion, key(o)).toBe(before.find((b) => key(b) === key(o))!.metadata.resourceVersion)
    const again = await cluster.run(['tenant-authz', '--delete', 'team-bravo', '--yes'])
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('nothing to do')
  })
})
