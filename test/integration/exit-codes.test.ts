/**
 * Walks the README's "Exit codes" table row by row: every code it lists is provoked here against a
 * real API server (or, for 130, by the named test that already does it), and every code in
 * src/errors.ts is in the table.
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {ExitCode} from '../../src/errors.js'
import {Kinds} from '../../src/kube/kinds.js'
import {isolatedCluster, uniqueName, createNamespace} from '../support/cluster.js'
import {REPO_ROOT} from '../support/controlplane.js'

/** A plain Kubernetes cluster (no operators' CRDs). */
const cluster = isolatedCluster({crds: false})
const emptyHome = mkdtempSync(join(tmpdir(), 'knmesh-home-'))

/** code → meaning, from README.md's "## Exit codes" table. */
function readmeExitCodes(): Map<number, string> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
  const section = readme.split(/^## Exit codes$/m)[1]!.split(/^## /m)[0]!
  const rows = new Map<number, string>()
  for (const m of section.matchAll(/^\| (\d+) \| (.+) \|$/gm)) rows.set(Number(m[1]), m[2]!)
  return rows
}

/** code → what provoked it in this file. */
const provoked = new Map<number, string[]>()
function saw(code: number, what: string, r: {exitCode: number; stderr: string}): void {
  expect(r.exitCode, `${what}: ${r.stderr}`).toBe(code)
  provoked.set(code, [...(provoked.get(code) ?? []), what])
}

/** certs (guide 1.3) touches only a core Secret, so it works on a cluster without the operators. */
function certs(ns: string, extra: string[] = [], opts: Parameters<typeof cluster.run>[1] = {}) {
  return cluster.run(
    ['certs', '--domain', 'apps.example.com', '--mesh-namespace', ns, '--out-dir', mkdtempSync(join(tmpdir(), 'knmesh-certs-')), ...extra],
    opts,
  )
}

function adminConnection(): {server: string; ca: Buffer; token: string} {
  const kc = parse(readFileSync(cluster.kubeconfig, 'utf8')) as {
    clusters: {cluster: {server: string; 'certificate-authority': string}}[]
    users: {user: {token: string}}[]
  }
  return {server: kc.clusters[0]!.cluster.server, ca: readFileSync(kc.clusters[0]!.cluster['certificate-authority']), token: kc.users[0]!.user.token}
}

afterAll(() => {
  process.stderr.write(`\nexit codes provoked:\n${[...provoked].map(([c, w]) => `  ${c}: ${w.join('; ')}`).join('\n')}\n`)
})

describe('the README exit-code table, row by row', () => {
  it('lists every code src/errors.ts defines, plus 130', () => {
    const table = readmeExitCodes()
    expect([...table.keys()].sort((a, b) => a - b)).toEqual([...new Set([...Object.values(ExitCode), 130])].sort((a, b) => a - b))
  })

  it('0: done, or nothing to do', async () => {
    saw(0, 'whoami', await cluster.run(['whoami']))
    const ns = uniqueName('exit0')
    await createNamespace(cluster.client, ns)
    saw(0, 'certs --yes', await certs(ns, ['--yes']))
    const again = await certs(ns, ['--yes'])
    expect(again.stdout).toContain('nothing to do')
    saw(0, 'certs again: nothing to do', again)
  }, 240_000)

  it('1: a check failed', async () => {
    saw(1, 'precheck without the operators', await cluster.run(['precheck']))
  }, 240_000)

  it('2: bad input; nothing is sent to the cluster', async () => {
    for (const args of [
      ['add-namespace', 'Bad_Name', '--yes'],
      ['whoami', '--nope'],
      ['whoami', '--as-group', 'g'],
      ['whoami', '--insecure-skip-tls-verify', '--certificate-authority', '/x'],
    ]) {
      const r = await cluster.run(args, {env: {DEBUG: 'knmesh'}})
      saw(2, args.join(' '), r)
      expect(r.stderr).not.toMatch(/^knmesh (GET|POST|PATCH|PUT|DELETE) /m)
    }
    // The shared flags are checked by their own parsers (Flags.custom): the same one line, nothing sent.
    const flagCases: [string[], string][] = [
      [
        ['status', '--mesh-namespace', 'Bad_Mesh'],
        'error: invalid mesh namespace name "Bad_Mesh": must be at most 63 lowercase letters, digits or \'-\', starting and ending with a letter or digit',
      ],
      [
        ['cost-labels', '-n', 'Bad_NS'],
        'error: invalid namespace name "Bad_NS": must be at most 63 lowercase letters, digits or \'-\', starting and ending with a letter or digit',
      ],
      [['annotate-services', '--namespaces', ','], 'error: --namespaces needs at least one namespace'],
      [
        ['filter-secrets', '--all-tls', '--namespaces', 'a,B'],
        'error: invalid namespace name "B": must be at most 63 lowercase letters, digits or \'-\', starting and ending with a letter or digit',
      ],
    ]
    for (const [args, line] of flagCases) {
      const r = await cluster.run(args)
      saw(2, args.join(' '), r)
      expect(r.stderr.trim()).toBe(line)
    }
  }, 240_000)

  it('with -o json or --json an error is one JSON line on stderr, {"error": {message, exitCode}}; stdout keeps only the data', async () => {
    // A parse error (before any flag is known), bad input, a cluster error and a verb's error: each the same shape.
    const cases: [string[], number, string][] = [
      [['whoami', '--nope', '--json'], 2, '--nope'],
      [['add-namespace', 'Bad_Name', '--yes', '-o', 'json'], 2, 'invalid namespace name "Bad_Name"'],
      [['add-namespace', 'default', '--yes', '--json'], 4, 'is not served by this cluster'],
      [['whoami', '--context', 'nope', '--output=json'], 4, 'nope'],
    ]
    for (const [args, code, message] of cases) {
      const r = await cluster.run(args)
      saw(code, `${args.join(' ')} (JSON error)`, r)
      expect(r.stdout, args.join(' ')).toBe('')
      const lines = r.stderr.trim().split('\n')
      expect(lines, args.join(' ')).toHaveLength(1)
      const error = JSON.parse(lines[0]!) as {error: {message: string; exitCode: number}}
      expect(Object.keys(error.error).sort()).toEqual(['exitCode', 'message'])
      expect(error.error.exitCode).toBe(code)
      expect(error.error.message).toContain(message)
    }
    // -o yaml and the table keep the plain line.
    const yaml = await cluster.run(['add-namespace', 'Bad_Name', '--yes', '-o', 'yaml'])
    expect(yaml.stderr).toMatch(/^error: invalid namespace name "Bad_Name"/)
  }, 240_000)

  it('3: not applied (no terminal, no --yes)', async () => {
    const ns = uniqueName('exit3')
    await createNamespace(cluster.client, ns)
    saw(3, 'certs without --yes', await certs(ns))
    expect(await cluster.client.get(Kinds.Secret, 'wildcard-certs', ns)).toBeNull()
  }, 240_000)

  it('4: forbidden, not served, unreachable, invalid object, no kubeconfig, unknown context', async () => {
    const ns = uniqueName('exit4')
    await createNamespace(cluster.client, ns)
    const forbidden = await certs(ns, ['--yes'], {kubeconfig: cluster.restrictedKubeconfig})
    expect(forbidden.stderr).toMatch(/^error: forbidden: /m)
    saw(4, 'forbidden (view-only user writes)', forbidden)
    const notServed = await cluster.run(['add-namespace', ns, '--yes'])
    expect(notServed.stderr).toContain('is not served by this cluster')
    saw(4, 'kind not served', notServed)
    const unreachable = await cluster.run(['whoami', '--server', 'https://127.0.0.1:1', '--insecure-skip-tls-verify', '--token', 't'])
    expect(unreachable.stderr).toContain('cannot reach the API server at https://127.0.0.1:1')
    saw(4, 'unreachable', unreachable)
    saw(4, 'no kubeconfig', await cluster.run(['whoami'], {kubeconfig: '', env: {HOME: emptyHome, KUBERNETES_SERVICE_HOST: ''}}))
    const missing = await cluster.run(['whoami', '--kubeconfig', '/tmp/missing-knmesh-kubeconfig'])
    expect(missing.stderr.trim()).toBe('error: kubeconfig /tmp/missing-knmesh-kubeconfig does not exist')
    saw(4, '--kubeconfig /tmp/missing…', missing)
    const ctx = await cluster.run(['whoami', '--context', 'nope'])
    expect(ctx.stderr.trim()).toMatch(/^error: context "nope" not found in kubeconfig/)
    saw(4, '--context nope', ctx)

    // Invalid object: a ValidatingAdmissionPolicy refuses Secrets in this namespace (422 Invalid).
    const admin = cluster.client
    const policy = `knmesh-test-no-secrets-${ns}`
    await admin.request('POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: {name: policy},
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {resourceRules: [{apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['secrets']}]},
          validations: [{expression: `object.metadata.namespace != '${ns}'`, message: `no Secrets in ${ns}`}],
        },
      },
    })
    await admin.request('POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: {name: policy},
        spec: {policyName: policy, validationActions: ['Deny']},
      },
    })
    // The policy takes effect once the API server has loaded it.
    let invalid = await certs(ns, ['--yes'])
    for (let i = 0; i < 40 && invalid.exitCode === 0; i++) {
      await admin.delete(Kinds.Secret, 'wildcard-certs', ns)
      await new Promise((r) => setTimeout(r, 250))
      invalid = await certs(ns, ['--yes'])
    }
    expect(invalid.stderr).toMatch(new RegExp(`^error: the API server refused the Secret wildcard-certs: .*no Secrets in ${ns}`, 'm'))
    saw(4, 'invalid object (422 from an admission policy)', invalid)
  }, 240_000)

  it('5: optimistic-concurrency retries exhausted (a proxy answers every write 409, as a busy concurrent writer would)', async () => {
    const ns = uniqueName('exit5')
    await createNamespace(cluster.client, ns)
    const {server, ca, token} = adminConnection()
    let conflicts = 0
    // Like `kubectl proxy`: plain http in front of the API server, adding the admin token.
    const proxy = http.createServer((req, res) => {
      if (req.method === 'PATCH') {
        conflicts++
        req.resume()
        res.writeHead(409, {'Content-Type': 'application/json'})
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'Conflict',
            code: 409,
            message:
              'Operation cannot be fulfilled on secrets "wildcard-certs": the object has been modified; please apply your changes to the latest version and try again',
          }),
        )
        return
      }
      const up = https.request(
        new URL(req.url!, server),
        {method: req.method, headers: {...req.headers, host: new URL(server).host, authorization: `Bearer ${token}`}, ca},
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers)
          r.pipe(res)
        },
      )
      up.on('error', () => res.destroy())
      req.pipe(up)
    })
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()))
    try {
      const port = (proxy.address() as {port: number}).port
      saw(0, 'certs --yes (the Secret to update)', await certs(ns, ['--yes']))
      const r = await certs(ns, ['--rotate', '--yes', '--server', `http://127.0.0.1:${port}`], {kubeconfig: '', env: {HOME: emptyHome}})
      saw(5, 'certs --rotate --yes, every PATCH answered 409', r)
      expect(conflicts).toBe(13)
    } finally {
      proxy.close()
    }
  }, 240_000)

  it('5: undo refused, an object of the change set changed since it was applied', async () => {
    const ns = uniqueName('exit5undo')
    await createNamespace(cluster.client, ns)
    const state = mkdtempSync(join(tmpdir(), 'knmesh-state-'))
    const env = {XDG_STATE_HOME: state}
    expect((await certs(ns, ['--yes'], {env})).exitCode).toBe(0)
    await cluster.client.mergePatch(Kinds.Secret, 'wildcard-certs', ns, {metadata: {labels: {'edited-by': 'someone'}}})
    const r = await cluster.run(['undo', '--yes'], {env})
    expect(r.stderr).toContain(`changed since it was applied: Secret ${ns}/wildcard-certs`)
    saw(5, 'undo after a concurrent edit', r)
  }, 120_000)

  it('6: a name given on the command line does not exist', async () => {
    saw(6, 'cost-labels -n no-such-namespace', await cluster.run(['cost-labels', '-n', 'no-such-namespace']))
    saw(6, 'undo of a change set not in the journal', await cluster.run(['undo', '19990101-000000-000-abcd', '--yes']))
  }, 120_000)

  it('7: probe --live without an observation — provoked by test/integration/probe.test.ts', () => {
    const other = readFileSync(join(REPO_ROOT, 'test/integration/probe.test.ts'), 'utf8')
    expect(other).toContain("it('times out when the pod never finishes, and still deletes it'")
    expect(other).toContain('expect(r.exitCode).toBe(7)')
    provoked.set(7, ['probe --live timeout (probe.test.ts)'])
  })

  it('8: partially applied — provoked by test/integration/faults.test.ts (kube-apiserver killed mid-run, endless 429/503)', () => {
    const other = readFileSync(join(REPO_ROOT, 'test/integration/faults.test.ts'), 'utf8')
    expect(other).toContain(
      "it('tenant-authz over 4 namespaces: exit 8 naming the 2 policies applied and the rest; a rerun completes, the next has nothing to do'",
    )
    expect(other).toContain("it('filter-secrets over 8 namespaces × 250 secrets: exit 8 with the counts; a rerun labels the rest, no secret half-written'")
    expect(other.match(/expect\(r\.exitCode, r\.stderr\)\.toBe\(8\)/g)?.length).toBeGreaterThanOrEqual(4)
    provoked.set(8, ['filter-secrets and tenant-authz with the kube-apiserver killed mid-run, endless 429/503 (faults.test.ts)'])
  })

  it('130: interrupted bulk run — provoked by test/integration/filter-secrets.test.ts', () => {
    const other = readFileSync(join(REPO_ROOT, 'test/integration/filter-secrets.test.ts'), 'utf8')
    expect(other).toContain("it('Ctrl-C: stops sending, says what is left (exit 130); the next run finishes'")
    expect(other).toContain('expect(r.exitCode).toBe(130)')
    provoked.set(130, ['filter-secrets Ctrl-C (filter-secrets.test.ts)'])
  })

  it('every row of the table was provoked', () => {
    expect([...provoked.keys()].sort((a, b) => a - b)).toEqual([...readmeExitCodes().keys()].sort((a, b) => a - b))
  })
})

describe('output piped into a reader that stops early', () => {
  it("`| head -1`: the first line, exit 0 (not EPIPE, not Node's exit 13), for the dev and the shipped entry", async () => {
    const {execa} = await import('execa')
    const {DEV_BIN, BUNDLE_BIN, ensureBundle} = await import('../support/cli.js')
    ensureBundle()
    for (const bin of [DEV_BIN, BUNDLE_BIN]) {
      for (let i = 0; i < 3; i++) {
        const r = await execa('bash', ['-c', `node ${JSON.stringify(bin)} --help | head -1; echo "exit=\${PIPESTATUS[0]}"`], {
          reject: false,
          env: {NO_COLOR: '1'},
          extendEnv: true,
        })
        expect(r.stdout.split('\n'), `${bin}: ${r.stderr}`).toEqual([expect.stringMatching(/\S/), 'exit=0'])
        expect(r.stderr).toBe('')
      }
    }
  })
})

describe('a word after a verb that takes none', () => {
  it('one usage line naming the verb, exit 2 (not oclif\'s "command precheck:extra-arg not found")', async () => {
    const {knmesh} = await import('../support/cli.js')
    for (const verb of ['precheck', 'status', 'certs']) {
      const r = await knmesh([verb, 'extra-arg'], {kubeconfig: cluster.kubeconfig})
      expect([r.exitCode, r.stdout, r.stderr.trim()]).toEqual([2, '', `error: ${verb} takes no arguments, got "extra-arg" (see kubectl knmesh ${verb} --help)`])
    }
  })
})

describe('a flag value or combination oclif refuses', () => {
  it('one line with the reason, without oclif\'s wrappers ("Parsing --days", "The following error occurred:"), exit 2', async () => {
    const {knmesh} = await import('../support/cli.js')
    const cases: [string[], string][] = [
      [['certs', '--days', '10'], 'error: --days: Expected an integer greater than or equal to 31 but received: 10 (see kubectl knmesh certs --help)'],
      [['certs', '--ca-cert', 'x'], 'error: All of the following must be provided when using --ca-cert: --ca-key (see kubectl knmesh certs --help)'],
      [['migrate-mesh'], 'error: Missing required flag to (see kubectl knmesh migrate-mesh --help)'],
    ]
    for (const [args, line] of cases) {
      const r = await knmesh(args, {kubeconfig: cluster.kubeconfig})
      expect([r.exitCode, r.stdout, r.stderr.trim()], args.join(' ')).toEqual([2, '', line])
    }
  })
})
