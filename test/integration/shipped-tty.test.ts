/**
 * What ships is what is tested: every verb, and every interactive path (the confirmation prompt,
 * follow-up questions, setup's questions, Ctrl-C at each, the bulk progress bar) run on a real
 * pseudo-terminal, 100 columns wide, against the installed entry bin/knmesh.js (the esbuild
 * bundle in build/npm that `npm install -g` runs; the single executables run the same chunks as
 * CommonJS). Issue 18 items 1, 2, 4, 10, 11.
 */
import {mkdtempSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {BUNDLE_BIN, ensureBundle, knmesh} from '../support/cli.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {knmeshOnTty} from '../support/tty.js'

// Setup and the verbs edit the SMCP, KnativeServing and knative-serving policies: a control plane of its own.
const cluster = isolatedCluster()
const work = mkdtempSync(join(tmpdir(), 'knmesh-shipped-'))

/** On the pty, with the bundle, from a scratch folder (certs writes files to the current folder). */
const tty = (args: string[], keys: Parameters<typeof knmeshOnTty>[2] = []) => knmeshOnTty(args, cluster.kubeconfig, keys, 2500, {bin: BUNDLE_BIN, cwd: work})
/** Without a terminal, with the bundle. */
const run = (args: string[]) => knmesh(args, {kubeconfig: cluster.kubeconfig, bin: BUNDLE_BIN})
const APPLY = /Apply \d+ change\(s\)\? \(y\/N\)/
const noCrash = (output: string) => {
  expect(output).not.toMatch(/Cannot read properties|TypeError|ReferenceError|is not a function|is not part of this build/)
}

async function secrets(ns: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({length: Math.min(50, n - i)}, (_, j) =>
        cluster.client.create({
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/tls',
          metadata: {name: `tls-${i + j}`, namespace: ns},
          data: {'tls.crt': '', 'tls.key': ''},
        }),
      ),
    )
  }
}

beforeAll(() => ensureBundle(), 120_000)

describe('the shipped build (bin/knmesh.js) on a 100-column terminal', () => {
  it('an unknown verb: one line with "did you mean", exit 2', async () => {
    const r = await tty(['stauts'])
    expect(r.exitCode).toBe(2)
    expect(r.output.trim()).toBe('error: unknown verb "stauts" (did you mean "kubectl knmesh status"?): see kubectl knmesh --help')
  })

  it('Ctrl-C at a follow-up question ends the verb: exit 130, nothing applied (enable-istio, tenant-authz, setup)', async () => {
    const smmr = await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')
    const serving = await cluster.client.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving')
    const istio = await tty(['enable-istio'], [{when: /Include "kubectl knmesh [a-z-]+" in this change\? \(y\/N\)/, keys: '\u0003'}])
    noCrash(istio.output)
    expect(istio.exitCode, istio.output).toBe(130)
    expect(istio.output).toContain('interrupted: nothing changed')
    expect(istio.output).not.toContain('Apply ')
    expect(istio.output).not.toContain('error:')

    await createNamespace(cluster.client, 'tty-tenant-1')
    const tenant = await tty(['tenant-authz', 'tty-tenant', '--namespaces', 'tty-tenant-1'], [{when: /add it in the same change\? \(y\/N\)/, keys: '\u0003'}])
    expect(tenant.exitCode, tenant.output).toBe(130)
    expect(tenant.output).not.toContain('Apply ')
    expect(await cluster.client.listAll(Kinds.AuthorizationPolicy, undefined, {labelSelector: 'knmesh.openshift.io/tenant=tty-tenant'})).toEqual([])

    const setup = await tty(['setup'], [{when: /Namespaces to add to the mesh/, keys: '\u0003'}])
    expect(setup.exitCode, setup.output).toBe(130)
    expect(setup.output).toContain('interrupted: nothing changed')
    // The main prompt too.
    const add = await tty(['add-namespace', 'tty-tenant-1'], [{when: APPLY, keys: '\u0003'}])
    expect(add.exitCode, add.output).toBe(130)
    expect((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.metadata.resourceVersion).toBe(smmr?.metadata.resourceVersion)
    expect((await cluster.client.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving'))?.metadata.resourceVersion).toBe(
      serving?.metadata.resourceVersion,
    )
  }, 120_000)

  it('setup on a terminal: answers typed at the prompts, "n" at step 6, then the resume line continues from step 6 with the same 11 steps', async () => {
    await createNamespace(cluster.client, 'shop-1')
    const certDir = mkdtempSync(join(tmpdir(), 'knmesh-shipped-certs-'))
    const r = await tty(
      ['setup', '--cert-dir', certDir],
      [
        {when: /Namespaces to add to the mesh/, keys: 'shop-1\r'},
        {when: /Enable Knative Serving metrics/, keys: 'y\r'},
        {when: /Isolate tenants/, keys: 'y\r'},
        {when: /Tenants as NAME=NS1,NS2/, keys: 'shop=shop-1\r'},
        {when: APPLY, keys: 'y\r'}, // 2 certs
        {when: APPLY, keys: 'y\r'}, // 3 configure-mesh
        {when: APPLY, keys: 'y\r'}, // 4 add-namespace
        {when: APPLY, keys: 'y\r'}, // 5 create-gateways
        {when: APPLY, keys: 'n\r'}, // 6 filter-secrets
      ],
    )
    noCrash(r.output)
    expect(r.exitCode, r.output).toBe(3)
    // Where the keys go is said before certs writes them.
    expect(r.output.indexOf(`writes root.crt, root.key, wildcard.crt and wildcard.key (keys mode 0600) to ${certDir}`)).toBeGreaterThan(-1)
    expect(r.output.indexOf('writes root.crt')).toBeLessThan(r.output.indexOf('[2/11]'))
    expect(readdirSync(certDir).sort()).toEqual(['root.crt', 'root.key', 'wildcard.crt', 'wildcard.key'])
    const line = /resume with: (kubectl knmesh setup .*)/.exec(r.output.replace(/\r/g, ''))?.[1]?.trim()
    expect(line).toBe(`kubectl knmesh setup --namespaces shop-1 --metrics --tenant shop=shop-1 --cert-dir ${certDir} --from-step 6`)
    expect(r.output).toContain('setup stopped at step 6/11 (filter-secrets); nothing was applied there')
    expect(r.output).not.toMatch(/error: aborted/)

    const resumed = await run([...line!.split(' ').slice(2), '--yes'])
    expect(resumed.exitCode, resumed.stderr).toBe(0)
    expect(resumed.stdout).toContain('[5/11] Create the gateways (1.4.2 steps 4-5): skipped (--from-step 6)')
    expect(resumed.stdout).toContain('[6/11] Label the secrets')
    expect(resumed.stdout).toContain('[10/11] Tenant shop (2.3 step 4)')
    expect(resumed.stdout).toContain('setup complete: 11 steps')
    expect((await cluster.client.listAll(Kinds.AuthorizationPolicy, undefined, {labelSelector: 'knmesh.openshift.io/tenant=shop'})).length).toBeGreaterThan(0)
  }, 240_000)

  it('every verb runs on the terminal without a crash', async () => {
    await cluster.client.create({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {name: 'hello', namespace: 'shop-1'},
      spec: {template: {spec: {containers: [{image: 'quay.io/example/hello:1'}]}}},
    })
    const runs: [string[], Parameters<typeof knmeshOnTty>[2], number[]][] = [
      [['precheck'], [], [0, 1]],
      [['status'], [], [0, 1]],
      [['certs'], [], [0]],
      [['configure-mesh'], [], [0]],
      [['create-gateways'], [], [0]],
      [['enable-istio'], [], [0]],
      [['enable-metrics'], [], [0]],
      [['add-namespace', 'tty-tenant-1'], [{when: APPLY, keys: 'n\r'}], [3]],
      [['remove-namespace', 'shop-1'], [{when: APPLY, keys: 'n\r'}], [3]],
      [['annotate-services', '-n', 'shop-1'], [{when: APPLY, keys: 'y\r'}], [0]],
      [['tenant-authz', '--list'], [], [0]],
      [['probe', '--from', 'shop-1', '--to', 'shop-1', '--service', 'hello'], [], [0]],
      [['probe', '--matrix'], [], [0]],
      [['cost-labels', '-n', 'shop-1'], [], [0]],
      [['cost-labels', '-n', 'shop-1', '--set', 'cost-center=shop'], [{when: APPLY, keys: 'y\r'}], [0]],
      [['gpu-limit', 'hello', '1', '-n', 'shop-1'], [{when: APPLY, keys: 'y\r'}], [0]],
      [['filter-secrets', '--check'], [], [0]],
      [['history'], [], [0]],
      [['undo'], [{when: APPLY, keys: 'n\r'}], [3]],
      [['whoami'], [], [0]],
      [['analyze'], [], [0, 1]],
      [['--help'], [], [0]],
    ]
    for (const [args, keys, codes] of runs) {
      const r = await tty(args, keys)
      noCrash(r.output)
      expect(codes, `${args.join(' ')}: ${r.output}`).toContain(r.exitCode)
      // "n" at the prompt is not an error.
      // (The prompt leaves cursor controls such as ESC[?25h before the next line: read the text.)
      if (r.exitCode === 3) expect(r.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''), args.join(' ')).toMatch(/^aborted: nothing changed/m)
      if (r.exitCode === 3) expect(r.output, args.join(' ')).not.toContain('error:')
      // Hints name the verb as it was called.
      expect(r.output, args.join(' ')).not.toMatch(
        /(?<!(?:kubectl|oc) )knmesh (?:precheck|certs|configure-mesh|add-namespace|create-gateways|enable-istio|annotate-services|enable-metrics|filter-secrets|tenant-authz|probe|cost-labels|gpu-limit|status|setup)\b/,
      )
    }
  }, 300_000)

  it('filter-secrets: the progress bar, its total while several namespaces are listed, and Ctrl-C', async () => {
    const nss = ['bulk-a', 'bulk-b', 'bulk-c']
    for (const ns of nss) {
      await createNamespace(cluster.client, ns)
      await secrets(ns, 300)
    }
    // Ctrl-C once the bar is drawn: the patches in flight finish, the bar is gone before the message and the table.
    const stopped = await tty(
      ['filter-secrets', '--all-tls', '--namespaces', nss.join(','), '--concurrency', '1', '--yes'],
      [{when: /labelling secrets \[/, keys: '\u0003'}],
    )
    noCrash(stopped.output)
    expect(stopped.exitCode, stopped.output).toBe(130)
    const after = stopped.output.slice(stopped.output.indexOf('interrupted: finishing the patches in flight'))
    expect(after.length).toBeGreaterThan(0)
    expect(after).not.toContain('labelling secrets [') // nothing drawn over the message or the table
    expect(after).toMatch(/NAMESPACE\s+LABELLED\s+ALREADY LABELLED\s+FAILED/)
    expect(after).toContain('interrupted after ')

    // The rest: the bar's total grows while namespaces are still listed, and says so.
    const rest = await tty(['filter-secrets', '--all-tls', '--namespaces', nss.join(','), '--yes'])
    noCrash(rest.output)
    expect(rest.exitCode, rest.output).toBe(0)
    const total = Number(/total\s+(\d+)\s+(\d+)\s+0/.exec(rest.output)?.[1])
    expect(total).toBeGreaterThan(0)
    const frames = [...rest.output.matchAll(/labelling secrets \[[^\]]*\] (\d+)\/(\d+)(\+ found so far)?/g)]
    expect(frames.length).toBeGreaterThan(0)
    for (const f of frames) {
      if (f[3]) continue // still listing: says so
      expect(Number(f[2]), f[0]).toBe(total)
    }
    const labelled = (await cluster.client.listAll(Kinds.Secret, undefined, {labelSelector: 'networking.internal.knative.dev/certificate-uid'})).filter((s) =>
      nss.includes(s.metadata.namespace!),
    )
    expect(labelled).toHaveLength(900)
  }, 240_000)
})
