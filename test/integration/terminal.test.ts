import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {knmeshOnTty} from '../support/tty.js'

// tenant-authz edits fixed-name objects (the member roll, knative-serving policies): a control plane of its own.
const cluster = isolatedCluster()

/** What a terminal shows: lines without CR and without colour codes. */
const screen = (out: string) => out.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n/)
const widest = (lines: string[]) => Math.max(...lines.map((l) => l.length))

// A user's terminal, whatever the machine running the tests has set.
const TERM_ENV = {CI: undefined, COLUMNS: undefined, LINES: undefined, PAGER: undefined, KNMESH_PAGER: undefined, LESS: undefined}
const tty = (args: string[], size: {cols: number; rows: number}, env: Record<string, string | undefined> = {}, keys: {when: RegExp; keys: string}[] = []) =>
  knmeshOnTty(args, cluster.kubeconfig, keys, 2500, {size, env: {...TERM_ENV, ...env}})

/** A pager that marks where the paged text starts and ends, and a `less` that says how it was called. */
const bin = mkdtempSync(join(tmpdir(), 'knmesh-pager-'))
const fakePager = join(bin, 'fake-pager')
writeFileSync(fakePager, '#!/bin/sh\necho "<<<pager"\ncat\necho "pager>>>"\n')
writeFileSync(join(bin, 'less'), '#!/bin/sh\necho "<<<less $* LESS=$LESS"\ncat\necho "less>>>"\n')
chmodSync(fakePager, 0o755)
chmodSync(join(bin, 'less'), 0o755)

const LONG_SERVICE = 'inference-with-a-rather-long-knative-service-name'

beforeAll(async () => {
  for (const ns of [
    'team-a-1',
    'team-a-2',
    'team-b-1',
    'team-c-frontend',
    'team-c-backend',
    'team-c-inference',
    'team-d-1',
    'team-d-2',
    'team-d-3',
    'team-e-1',
    'gpu-apps',
  ])
    await createNamespace(cluster.client, ns)
  // Findings with long details and fixes: a LoadBalancer ingress gateway and a Gateway that takes port 443.
  await cluster.client.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name: 'istio-ingressgateway', namespace: 'istio-system'},
    spec: {type: 'LoadBalancer', ports: [{name: 'https', port: 443}]},
  })
  await cluster.client.create({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'Gateway',
    metadata: {name: 'public-wildcard-gateway', namespace: 'team-b-1'},
    spec: {
      selector: {istio: 'ingressgateway'},
      servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'SIMPLE', credentialName: 'x'}}],
    },
  })
  for (const [tenant, nss] of [
    ['team-a', 'team-a-1,team-a-2'],
    ['team-b', 'team-b-1'],
    ['team-c', 'team-c-frontend,team-c-backend,team-c-inference'],
  ]) {
    const r = await cluster.run(['tenant-authz', tenant, '--namespaces', nss, '--add-to-mesh', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
  }
  await cluster.client.create({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {name: LONG_SERVICE, namespace: 'gpu-apps'},
    spec: {
      template: {
        spec: {containers: [{name: 'model-server-with-a-long-container-name', image: 'quay.io/example/m:1', resources: {limits: {'nvidia.com/gpu': '8'}}}]},
      },
    },
  })
}, 180_000)

describe('tables fit the terminal they are printed on', () => {
  const verbs: string[][] = [['status'], ['precheck'], ['probe', '--matrix'], ['gpu-limit', '--list', '-n', 'gpu-apps'], ['tenant-authz', '--list']]
  for (const args of verbs) {
    it(`${args.join(' ')}: no line longer than 80 or 120 columns; -o wide and piped output are not wrapped`, async () => {
      const piped = await cluster.run(args)
      expect(piped.stderr).not.toMatch(/^error: (?!\d+ check)/m)
      const pipedWidth = widest(piped.stdout.split('\n'))
      for (const size of [
        {cols: 80, rows: 24},
        {cols: 120, rows: 40},
      ]) {
        const r = await tty(args, size)
        const lines = screen(r.output)
        // The error line of a failed check is one sentence, not a table: the terminal wraps it.
        expect(widest(lines.filter((l) => !l.startsWith('error: '))), r.output).toBeLessThanOrEqual(size.cols)
        const compactMatrix = lines.some((l) => l.startsWith('A allow, - deny'))
        // The same table, only wrapped: same head, nothing lost (a matrix too wide is printed compact instead).
        if (!compactMatrix) expect(lines.join('\n').replace(/\s+/g, '').length, r.output).toBeGreaterThanOrEqual(piped.stdout.replace(/\s+/g, '').length)
        if (args[1] === '--matrix') expect(compactMatrix, r.output).toBe(size.cols === 80)
        if (pipedWidth > size.cols) expect(lines.length, r.output).toBeGreaterThan(piped.stdout.split('\n').length)
      }
      if (pipedWidth > 80) {
        // -o wide on the terminal: one line per row, as piped.
        const wide = await tty([...args, '-o', 'wide'], {cols: 80, rows: 24})
        expect(widest(screen(wide.output))).toBe(pipedWidth)
        // $COLUMNS fits piped output too.
        const cols = await cluster.run(args, {env: {COLUMNS: '80'}})
        expect(widest(cols.stdout.split('\n'))).toBeLessThanOrEqual(80)
      }
    }, 300_000)
  }

  it('the status table at 120 columns: DETAIL and FIX wrap inside their columns; piped it is one line per row', async () => {
    const piped = await cluster.run(['status'])
    expect(widest(piped.stdout.split('\n'))).toBeGreaterThan(120)
    const r = await tty(['status'], {cols: 120, rows: 40})
    const lines = screen(r.output)
    const head = lines.findIndex((l) => l.startsWith('AREA'))
    const footer = lines.findIndex((l) => /^\d+ checks: /.test(l))
    const starts = ['CHECK', 'STATE', 'DETAIL', 'FIX'].map((h) => lines[head].indexOf(h))
    for (const l of lines.slice(head, footer)) for (const at of starts) expect(l.slice(at - 3, at).trim(), l).toBe('')
    const row = lines.findIndex((l) => /^prerequisites\s+ingressgateway-/.test(l))
    expect(lines[row + 1].slice(0, starts[2]).trim()).toBe('') // the detail goes on below, in its column
  }, 60_000)
})

describe('a plan at the terminal: summary, details in the pager, then the question', () => {
  const plan = ['tenant-authz', 'team-d', '--namespaces', 'team-d-1,team-d-2,team-d-3', '--no-eventing']
  const addToMesh = {when: /the same change\?/, keys: 'y\r'}

  it('at 80x20: the summary first, the long details through $KNMESH_PAGER, then the one-line question; declined, nothing changes', async () => {
    const r = await tty(plan, {cols: 80, rows: 20}, {KNMESH_PAGER: fakePager}, [addToMesh, {when: /Apply 8 change\(s\)\?/, keys: 'n\r'}])
    expect(r.exitCode, r.output).toBe(3)
    const out = screen(r.output).join('\n')
    const summaryAt = out.indexOf('8 changes:')
    const pagerAt = out.indexOf('<<<pager')
    const pagerEnd = out.indexOf('pager>>>')
    const askAt = out.indexOf('Apply 8 change(s)?')
    expect(summaryAt, out).toBeGreaterThan(-1)
    expect(summaryAt).toBeLessThan(pagerAt)
    expect(pagerAt).toBeLessThan(pagerEnd)
    expect(pagerEnd).toBeLessThan(askAt)
    const summary = out.slice(summaryAt, pagerAt)
    // Each summary line is cut to the 80 columns.
    expect(summary).toContain('  create AuthorizationPolicy in team-d-1: 2 (allow-from-knative-and-istio, all…)')
    expect(widest(summary.split('\n'))).toBeLessThanOrEqual(80)
    expect(summary).toContain('  update ServiceMeshMemberRoll in istio-system: 1 (default)')
    expect(summary).not.toContain('+ create')
    const details = out.slice(pagerAt, pagerEnd)
    expect(details).toContain('+ create AuthorizationPolicy/team-d-1/allow-from-knative-and-istio')
    expect(details).toContain('~ update ServiceMeshMemberRoll/istio-system/default')
    expect(details).toMatch(/\+\s+- team-d-3/)
    expect(details).not.toContain('action: ALLOW') // creates listed, not dumped
    // The question repeats the summary on one line that fits 80 columns.
    expect(out).toMatch(/\? create 7 AuthorizationPolicies, \+1 more: Apply 8 change\(s\)\?/)
    expect(out).toContain('aborted: nothing changed')
    expect(await cluster.client.get(Kinds.AuthorizationPolicy, 'allow-team-d-to-activator', 'knative-serving')).toBeNull()
  }, 90_000)

  it('at 120x60 the details fit under the summary: no pager; the question names every kind and namespace count', async () => {
    const r = await tty(plan, {cols: 120, rows: 60}, {KNMESH_PAGER: fakePager}, [addToMesh, {when: /Apply 8 change\(s\)\?/, keys: 'y\r'}])
    expect(r.exitCode, r.output).toBe(0)
    const out = screen(r.output).join('\n')
    expect(out).not.toContain('<<<pager')
    expect(out).toContain('+ create AuthorizationPolicy/knative-serving/allow-team-d-to-activator')
    expect(out).toContain('? create 7 AuthorizationPolicies in 4 namespaces, update 1 ServiceMeshMemberRoll: Apply 8 change(s)?')
    expect(await cluster.client.get(Kinds.AuthorizationPolicy, 'allow-team-d-to-activator', 'knative-serving')).not.toBeNull()
    expect((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.spec.members).toEqual(
      expect.arrayContaining(['team-d-1', 'team-d-2', 'team-d-3']),
    )
  }, 90_000)

  it('the default pager is less -R with LESS=FRX (as git); $PAGER is used when set; --no-pager prints the details', async () => {
    const e = ['tenant-authz', 'team-e', '--namespaces', 'team-e-1', '--add-to-mesh']
    const ask = [{when: /Apply \d+ change\(s\)\?/, keys: 'n\r'}]
    const less = await tty(e, {cols: 80, rows: 12}, {PATH: `${bin}:${process.env.PATH}`}, ask)
    expect(screen(less.output).join('\n'), less.output).toContain('<<<less -R LESS=FRX')
    const pager = await tty(e, {cols: 80, rows: 12}, {PAGER: fakePager}, ask)
    expect(screen(pager.output).join('\n')).toContain('<<<pager')
    const none = await tty([...e, '--no-pager'], {cols: 80, rows: 12}, {KNMESH_PAGER: fakePager}, ask)
    const out = screen(none.output).join('\n')
    expect(out).not.toContain('<<<pager')
    expect(out).toContain('+ create AuthorizationPolicy/team-e-1/allow-wait-for-drain')
    expect(out.indexOf('+ create')).toBeLessThan(out.indexOf('Apply '))
  }, 240_000)

  it('--show-objects dumps the new objects; without it they are listed; piped output has no pager and no colours', async () => {
    const listed = await cluster.run(['tenant-authz', 'team-e', '--namespaces', 'team-e-1', '--dry-run=client'], {env: {KNMESH_PAGER: fakePager}})
    expect(listed.exitCode, listed.stderr).toBe(0)
    expect(listed.stdout).toContain('+ create AuthorizationPolicy/team-e-1/allow-wait-for-drain')
    expect(listed.stdout).not.toContain('action: ALLOW')
    expect(listed.stdout).toMatch(/\(\d+ new objects listed, not shown: --show-objects or -o yaml prints them in full\)/)
    expect(listed.stdout).not.toContain('<<<pager')
    const shown = await cluster.run(['tenant-authz', 'team-e', '--namespaces', 'team-e-1', '--dry-run=client', '--show-objects'], {env: {NO_COLOR: ''}})
    expect(shown.stdout).toContain('+ create AuthorizationPolicy/team-e-1/allow-wait-for-drain')
    expect(shown.stdout).toMatch(/\+\s+action: ALLOW/)
    expect(shown.stdout).not.toContain('\u001B[')
  }, 180_000)

  it('colours on a terminal, none with NO_COLOR', async () => {
    const args = ['tenant-authz', 'team-e', '--namespaces', 'team-e-1', '--dry-run=client']
    const coloured = await tty(args, {cols: 120, rows: 60}, {NO_COLOR: ''})
    expect(coloured.output).toContain('\u001B[32m+ create\u001B[0m')
    const plain = await tty(args, {cols: 120, rows: 60}, {NO_COLOR: '1'})
    expect(plain.output).toContain('+ create')
    expect(plain.output).not.toContain('\u001B[32m')
  }, 180_000)
})
