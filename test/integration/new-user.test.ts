/**
 * What a new administrator hit (issue 18): names that do not exist get an error with its own exit
 * code before any diff (items 3, 5, 6), and every FIX a check prints, applied as printed, makes
 * that finding go away (item 8).
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {knmesh} from '../support/cli.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'

// Applies configure-mesh, enable-istio… (fixed-name objects): a control plane of its own.
const cluster = isolatedCluster()
const errorLines = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('error:'))

/** Runs a FIX as printed ("kubectl knmesh VERB …"), applying without a prompt, from a scratch folder. */
async function applyFix(fix: string) {
  const words = fix.split(' ')
  expect(words.slice(0, 2), fix).toEqual(['kubectl', 'knmesh'])
  const cwd = mkdtempSync(join(tmpdir(), 'knmesh-fix-'))
  const {execa} = await import('execa')
  const {BIN} = await import('../support/cli.js')
  const r = await execa('node', [BIN, ...words.slice(2), '--yes'], {cwd, reject: false, env: {KUBECONFIG: cluster.kubeconfig, NO_COLOR: '1'}})
  expect(r.exitCode, `${fix}: ${r.stderr}`).toBe(0)
}

describe('names that do not exist: exit 6, one line, before any diff (items 3, 5, 6)', () => {
  it('probe --service, probe --from/--to, filter-secrets -n, annotate-services -n, cost-labels -n, gpu-limit -n', async () => {
    await createNamespace(cluster.client, 'real-1')
    const cases: [string[], string][] = [
      [
        ['probe', '--from', 'real-1', '--to', 'real-1', '--service', 'nonexistent-svc'],
        'error: Knative Service "nonexistent-svc" does not exist in namespace real-1: give --service',
      ],
      [['probe', '--from', 'nope', '--to', 'real-1'], 'error: namespace "nope" does not exist: nothing was changed'],
      [['probe', '--from', 'real-1', '--to', 'real-2'], 'error: namespace "real-2" does not exist (did you mean "real-1"?): nothing was changed'],
      [['filter-secrets', '--all-tls', '-n', 'nope', '--yes'], 'error: namespace "nope" does not exist: nothing was changed'],
      [['filter-secrets', '--all-tls', '--namespaces', 'real-1,nope2', '--yes'], 'error: namespace "nope2" does not exist: nothing was changed'],
      [['annotate-services', '-n', 'nope', '--yes'], 'error: namespace "nope" does not exist: nothing was changed'],
      [['annotate-services', '--namespaces', 'nope', '--yes'], 'error: namespace "nope" does not exist: nothing was changed'],
      [['cost-labels', '-n', 'nope', '--set', 'cost-center=x', '--yes'], 'error: namespace "nope" does not exist: nothing was changed'],
      [['gpu-limit', 'hello', '1', '-n', 'nope', '--yes'], 'error: namespace "nope" does not exist: nothing was changed'],
      [['tenant-authz', 'team-x', '--namespaces', 'real-1,team-x-1', '--yes'], 'error: namespace "team-x-1" does not exist: nothing was changed'],
      [['probe', '--matrix', '--tenants', 'nobody'], 'error: no tenant named nobody (see tenant-authz --list)'],
    ]
    for (const [args, line] of cases) {
      const r = await cluster.run(args)
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(6)
      expect(errorLines(r.stderr), args.join(' ')).toEqual([line])
      expect(r.stdout, args.join(' ')).not.toMatch(/^[+~-] (create|update|delete)|nothing to do|predicted/m)
    }
  }, 600_000)

  it('a mesh namespace typo: one error naming the namespace that holds a control plane, before any diff; precheck too', async () => {
    const before = await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')
    for (const args of [
      ['add-namespace', 'foo', '--mesh-namespace', 'istio-sytem', '--yes'],
      ['precheck', '--mesh-namespace', 'istio-sytem'],
      ['status', '--mesh-namespace', 'istio-sytem'],
      ['setup', '--mesh-namespace', 'istio-sytem', '--yes'],
    ]) {
      const r = await cluster.run(args)
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(6)
      expect(errorLines(r.stderr), args.join(' ')).toEqual([
        'error: mesh namespace "istio-sytem" does not exist; ServiceMeshControlPlane basic in istio-system: use --mesh-namespace istio-system',
      ])
      expect(r.stdout, args.join(' ')).not.toContain('create')
      expect(r.stdout + r.stderr, args.join(' ')).not.toContain('configure-mesh --create')
    }
    expect((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion)
  }, 300_000)

  it('setup checks every namespace it was given before the first write (a tenant namespace that does not exist)', async () => {
    const smcp = await cluster.client.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system')
    const dir = mkdtempSync(join(tmpdir(), 'knmesh-setup-'))
    const r = await cluster.run(['setup', '--namespaces', 'real-1', '--tenant', 'team-alpha=team-alpha-1', '--no-metrics', '--cert-dir', dir, '--yes'])
    expect(r.exitCode, r.stderr).toBe(6)
    expect(errorLines(r.stderr)).toEqual(['error: namespace "team-alpha-1" does not exist: nothing was changed'])
    expect(r.stdout).not.toContain('[2/')
    expect(await cluster.client.get(Kinds.Secret, 'wildcard-certs', 'istio-system')).toBeNull()
    expect((await cluster.client.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system'))?.metadata.resourceVersion).toBe(smcp?.metadata.resourceVersion)
  }, 120_000)
})

describe('a FIX the tool prints makes its own check pass (item 8)', () => {
  it('status: each FIX, applied as printed, clears its own row; after them, no failure is left', async () => {
    const failing = async () => {
      const r = await cluster.run(['status', '-o', 'json'])
      return (JSON.parse(r.stdout).rows as {check: string; state: string; fix?: string}[]).filter((x) => x.state === 'failure')
    }
    let rows = await failing()
    expect(rows.length).toBeGreaterThan(3)
    for (let round = 0; round < 3 && rows.length; round++) {
      for (const row of rows) {
        expect(row.fix, row.check).toMatch(/^kubectl knmesh /)
        await applyFix(row.fix!)
        expect(
          (await failing()).map((x) => x.check),
          row.fix,
        ).not.toContain(row.check)
      }
      rows = await failing()
    }
    expect(rows).toEqual([])
  }, 900_000)

  it('precheck: no control plane in the mesh namespace; its FIX creates one and that check passes', async () => {
    await createNamespace(cluster.client, 'mesh-fix')
    const checks = async () => {
      const r = await cluster.run(['precheck', '--mesh-namespace', 'mesh-fix', '-o', 'json'])
      return JSON.parse(r.stdout).checks as {id: string; status: string; fix?: string}[]
    }
    const smcp = (await checks()).find((c) => c.id === 'smcp')
    expect(smcp?.status).toBe('failure')
    expect(smcp?.fix).toBe('kubectl knmesh configure-mesh --create --mesh-namespace mesh-fix')
    await applyFix(smcp!.fix!)
    expect((await checks()).find((c) => c.id === 'smcp')?.status).toBe('ok')
  }, 300_000)

  it('cost-labels --check: the FIX for app=my-domain (a key Knative owns) makes --check pass', async () => {
    await createNamespace(cluster.client, 'shop', {app: 'my-domain'})
    await cluster.client.create({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {name: 'web', namespace: 'shop'},
      spec: {template: {spec: {containers: [{image: 'quay.io/example/web:1'}]}}},
    })
    const check = await cluster.run(['cost-labels', '-n', 'shop', '--check', '-o', 'json'])
    expect(check.exitCode).toBe(1)
    const findings = JSON.parse(check.stdout).findings as {key: string; severity: string; fix: string}[]
    const warnings = findings.filter((f) => f.severity === 'warning')
    expect(warnings.map((f) => f.fix)).toEqual(['kubectl knmesh cost-labels -n shop --set cost-center=my-domain'])
    for (const f of warnings) await applyFix(f.fix)
    const after = await cluster.run(['cost-labels', '-n', 'shop', '--check'])
    expect(after.exitCode, after.stdout + after.stderr).toBe(0)
    // The row that stays (app=my-domain, no FIX) says why it is fine now.
    expect(after.stdout).toContain('query by cost-center=my-domain instead')
  }, 300_000)
})

describe('wording (item 11)', () => {
  it('hints inside warnings name the verb as it was called', async () => {
    const r = await knmesh(['create-gateways', '--secret', 'missing-certs', '--dry-run=client'], {kubeconfig: cluster.kubeconfig})
    expect(r.stderr).toContain(
      'warning: Secret istio-system/missing-certs does not exist: the ingress gateway cannot serve TLS until it does (kubectl knmesh certs)',
    )
  })
})
