import {Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag, type Result} from '../base-command.js'
import {CheckFailedError, ExitCode, KnmeshError, MissingError, UsageError} from '../errors.js'
import {splitList, validateLabelName, validateObjectName} from '../mesh/names.js'

export default class Probe extends KnmeshCommand {
  static summary = 'Predict (and with --live, test) whether one namespace can reach a Knative Service in another (guide 2.4)'
  static description = `Predicts, from the live AuthorizationPolicies, PeerAuthentications and ServiceMeshMemberRoll, whether a request from --from to the Knative Service --service in --to is allowed, following Istio's evaluation order (CUSTOM, DENY, ALLOW; an ALLOW policy without rules such as spec: {} denies everything it applies to) along the request's real paths: cluster-local (http://SERVICE.NS) from the caller's sidecar to the activator in knative-serving and on to the revision pod, or straight to the pod; --external through the ingress gateway in the mesh namespace. Names the policy and rule that decide each hop.

--live also sends the request for real: a short-lived curl pod in --from (sidecar injected, non-root, resource limits, activeDeadlineSeconds) writes the HTTP status and the head of the body to its termination message; knmesh waits for it (--timeout), reports predicted against observed (a mismatch is flagged loudly) and deletes the pod whatever happens.

On Service Mesh 3 sidecars run where the namespace is labeled for injection (istio-injection=enabled or istio.io/rev), or in a Knative Service whose revision template has the label sidecar.istio.io/inject: "true" (the annotation is ignored there, and the prediction says so); mTLS comes from the PeerAuthentications (the mesh-wide one in the mesh namespace); --external goes through the gateway in knative-serving-ingress; a caller without a sidecar goes through the local gateway knative-local-gateway.knative-serving-ingress.svc.cluster.local, which is plain HTTP there.

--matrix predicts every pair of tenant namespaces (tenants found by tenant-authz's labels): same tenant should be allowed, different tenants denied.

Exit code 0 when every result matches --expect (or none is given) and, with --live, the observation matches the prediction; 1 otherwise.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --from team-alpha-1 --to team-bravo-1',
    '<%= config.bin %> <%= command.id %> --from team-alpha-1 --to team-bravo-1 --external --expect allow',
    '<%= config.bin %> <%= command.id %> --from team-alpha-1 --to team-alpha-1 --service test-webapp --live --timeout 90',
    '<%= config.bin %> <%= command.id %> --matrix',
    '<%= config.bin %> <%= command.id %> --matrix --tenants team-alpha,team-bravo --expect isolated -o json',
  ]

  static readsOnly = true
  static flags = {
    ...meshNamespaceFlag,
    from: Flags.string({description: 'namespace the request comes from', helpValue: 'NS'}),
    to: Flags.string({description: 'namespace of the Knative Service', helpValue: 'NS'}),
    service: Flags.string({description: 'Knative Service name', default: 'test-webapp', helpValue: 'NAME'}),
    external: Flags.boolean({description: "use the Service's external URL (through the ingress gateway)", default: false}),
    live: Flags.boolean({description: 'also send the request for real from a short-lived pod in --from', default: false}),
    timeout: Flags.integer({description: 'seconds to wait for the --live pod', default: 120, min: 1}),
    image: Flags.string({description: 'curl image for --live', helpValue: 'IMAGE'}),
    expect: Flags.option({
      options: ['allow', 'deny', 'isolated'] as const,
      description: 'expected result: allow|deny (one probe) or isolated (--matrix: same tenant allowed, others denied)',
    })(),
    matrix: Flags.boolean({description: 'predict every pair of tenant namespaces', default: false}),
    tenants: Flags.string({description: 'with --matrix: only these tenants, comma-separated', multiple: true, helpValue: 'NAME[,NAME]'}),
  }

  async run() {
    const {flags} = await this.parseFlags(Probe)
    const mesh = flags['mesh-namespace']
    if (flags.matrix) {
      if (flags.from || flags.to || flags.live || flags.external) throw new UsageError('--matrix takes no --from, --to, --live or --external')
      if (flags.expect && flags.expect !== 'isolated') throw new UsageError('with --matrix, --expect takes "isolated"')
      return this.matrix(
        mesh,
        splitList(flags.tenants).map((t) => validateLabelName(t, 'tenant')),
        flags.expect === 'isolated',
        validateObjectName(flags.service, 'service name'),
      )
    }
    if (!flags.from || !flags.to) throw new UsageError('give --from NS and --to NS (or --matrix)')
    if (flags.expect === 'isolated') throw new UsageError('--expect isolated goes with --matrix; give allow or deny')
    if (flags.tenants) throw new UsageError('--tenants goes with --matrix')
    const from = validateLabelName(flags.from)
    const to = validateLabelName(flags.to)
    const service = validateLabelName(flags.service, 'service name')

    const {readMeshViewFor} = await import('../read/authz.js')
    const {Authorizer, predict, expectedStatus, ksvcInjection3} = await import('../mesh/probe.js')
    const client = await this.client()
    const generation = await this.meshGeneration()
    // Names that do not exist are an error (exit 6) before any prediction.
    await this.requireNamespaces([from, to])
    const {requireKnativeService, appsDomain} = await import('../read/probe.js')
    const [view, ksvc] = await Promise.all([readMeshViewFor(client, mesh, generation), requireKnativeService(client, service, to)])
    // Service Mesh 3: the Knative Service's template label (not its annotation) can inject it outside labeled namespaces.
    const targetInjection = view.mesh3 && ksvc ? ksvcInjection3(ksvc, view.mesh3.namespaces.get(to), view.mesh3.istio) : undefined
    const url = ksvc?.status?.url as string | undefined
    let externalHost: string | undefined
    if (flags.external) {
      if (url) externalHost = new URL(url).host
      else if (flags.live) throw new UsageError(`Knative Service ${to}/${service} has no status.url: cannot send an external request`)
      else {
        // Not deployed yet: the host OpenShift Serverless would give it, SERVICE-NS.<apps domain>.
        externalHost = `${service}-${to}.${(await appsDomain(client)) ?? 'apps'}`
      }
    }
    const p = predict(new Authorizer(view), {from, to, service, external: flags.external, externalHost, targetInjection})
    const predictedStatus = expectedStatus(p)
    const result: Record<string, unknown> = {
      from,
      to,
      service,
      external: flags.external,
      url: p.url,
      predicted: p.verdict,
      predictedStatus,
      reason: p.reason,
      paths: p.paths,
    }
    const failures: string[] = []
    if (flags.expect && p.verdict !== flags.expect) failures.push(`expected ${flags.expect}, predicted ${p.verdict}`)

    if (!this.machineOutput) {
      const rows = p.paths.flatMap((path) =>
        path.hops.map((h, i) => [
          i === 0 ? path.name : '',
          `${h.from} → ${h.to}`,
          h.mtls,
          h.decision.verdict,
          h.decision.policy
            ? `${h.decision.policy.namespace}/${h.decision.policy.name}${h.decision.rule === undefined ? '' : ` rule ${h.decision.rule}`}`
            : h.decision.verdict === 'deny'
              ? denyWhy(h)
              : '-',
        ]),
      )
      await this.printer.table(['path', 'hop', 'connection', 'decision', 'policy'], rows)
      this.printer.info(
        `predicted: ${p.verdict.toUpperCase()}${predictedStatus === '?' ? '' : predictedStatus === '000' ? ' (connection reset: no HTTP response)' : ` (HTTP ${predictedStatus})`} for ${p.url}`,
      )
      this.printer.info(`  because ${p.reason}`)
    }

    if (flags.live) {
      const {probePod} = await import('../mesh/probe-live.js')
      const {runLiveProbe} = await import('../read/probe-live.js')
      const target = flags.external ? url! : p.url
      const pod = probePod({namespace: from, url: target, timeoutSeconds: flags.timeout, image: flags.image})
      const live = await runLiveProbe(client, pod, flags.timeout * 1000, {
        onCreated: (name) => this.printer.info(`live: pod ${from}/${name} sends GET ${target} ...`),
      })
      result.live = live
      if (!live.deleted) this.printer.warn(`could not delete the probe pod ${from}/${live.pod}: delete it by hand`)
      if (live.observation) {
        const o = live.observation
        const head = o.body.split('\n')[0]?.slice(0, 80) ?? ''
        if (!this.machineOutput)
          this.printer.info(
            `observed:  ${o.verdict.toUpperCase()} (HTTP ${o.status}${o.status === '000' ? `, curl exit ${o.curlExit}` : ''})${head ? ` "${head}"` : ''}`,
          )
        result.observed = o.verdict
        result.observedStatus = o.status
        if (o.verdict !== p.verdict) {
          result.mismatch = true
          failures.push(`MISMATCH: predicted ${p.verdict}, observed ${o.verdict} (HTTP ${o.status})`)
          this.printer.warn(
            `!!! MISMATCH: knmesh predicted ${p.verdict.toUpperCase()} but the request was ${o.verdict === 'allow' ? 'ALLOWED' : o.verdict === 'deny' ? 'DENIED' : 'UNDETERMINED'} (HTTP ${o.status}) !!!`,
          )
        } else if (!this.machineOutput) {
          this.printer.info('prediction matches the observation')
        }
        if (flags.expect && o.verdict !== flags.expect) failures.push(`expected ${flags.expect}, observed ${o.verdict}`)
      } else {
        failures.push(`live probe: ${live.problem}`)
        result.liveProblem = live.problem
      }
    }
    // No observation (the pod never finished) is not a mismatch: its own exit code.
    const error = result.liveProblem
      ? new KnmeshError(failures.join('; '), ExitCode.LIVE_NO_RESULT)
      : failures.length
        ? new CheckFailedError(failures.join('; '))
        : undefined
    // The human text was printed as the probe went.
    return {data: result, machine: (format: 'json' | 'yaml') => machineText(result, format), error} satisfies Result
  }

  private async matrix(mesh: string, tenants: string[], expectIsolated: boolean, service: string) {
    const {readMeshViewFor} = await import('../read/authz.js')
    const {tenantMatrix} = await import('../mesh/probe.js')
    const view = await readMeshViewFor(await this.client(), mesh, await this.meshGeneration())
    const m = tenantMatrix(view, {tenants, service})
    const missing = tenants.filter((t) => !m.tenants.includes(t))
    if (missing.length) throw new MissingError(`no tenant named ${missing.join(', ')} (see tenant-authz --list)`)
    const data = {
      tenants: m.tenants,
      namespaces: m.namespaces,
      pairs: m.cells.length,
      violations: m.violations.map((c) => ({from: c.from, to: c.to, expected: c.expected, predicted: c.verdict, reason: c.reason})),
      cells: m.cells.map((c) => ({from: c.from, to: c.to, fromTenant: c.fromTenant, toTenant: c.toTenant, predicted: c.verdict})),
      ms: Math.round(m.ms),
    }
    // -o json|yaml: rendered from the Result; the human grid is drawn here.
    if (this.machineOutput) {
      // nothing to draw
    } else if (m.namespaces.length === 0) {
      this.printer.info('no tenants: create them with tenant-authz')
    } else {
      const {table} = await import('../ui/table.js')
      const short = (v: string) => (v === 'allow' ? 'allow' : v === 'deny' ? 'deny' : v)
      if (m.namespaces.length <= 12) {
        const byPair = new Map(m.cells.map((c) => [`${c.from}\u0000${c.to}`, c]))
        const cell = (f: string, t: string) => byPair.get(`${f}\u0000${t}`)!
        const rows = m.namespaces.map((f) => [
          f,
          ...m.namespaces.map((t) => {
            const c = cell(f, t)
            return c.verdict === c.expected ? short(c.verdict) : `${short(c.verdict)} (!)`
          }),
        ])
        const grid = table(['from \\ to', ...m.namespaces], rows, {width: null})
        const {terminalWidth} = await import('../ui/terminal.js')
        const width = terminalWidth()
        if (!width || Math.max(...grid.split('\n').map((l) => l.length)) <= width) {
          this.printer.info(grid)
        } else {
          // Too wide for the terminal: numbered columns and one-letter cells.
          const mark = (c: {verdict: string; expected: string}) =>
            (c.verdict === 'allow' ? 'A' : c.verdict === 'deny' ? '-' : '?') + (c.verdict === c.expected ? '' : '!')
          const compact = m.namespaces.map((f, i) => [`${i + 1} ${f}`, ...m.namespaces.map((t) => mark(cell(f, t)))])
          await this.printer.table(['from \\ to', ...m.namespaces.map((_n, i) => String(i + 1))], compact)
          this.printer.info('A allow, - deny, ? unknown, ! unexpected; column N: row N (-o wide: names)')
        }
      } else {
        // Many tenants: one row per tenant pair that breaks isolation, and a summary.
        this.printer.info(`${m.tenants.length} tenants, ${m.namespaces.length} namespaces, ${m.cells.length} pairs predicted`)
      }
      if (m.violations.length) {
        await this.printer.table(
          ['from', 'to', 'expected', 'predicted', 'because'],
          m.violations.slice(0, 50).map((c) => [c.from, c.to, c.expected, c.verdict, c.reason]),
        )
        if (m.violations.length > 50) this.printer.info(`... and ${m.violations.length - 50} more (-o json for all)`)
      }
      for (const ns of m.outsideMesh) {
        const outside = view.mesh3 ? 'is not labeled for sidecar injection (Service Mesh 3)' : `is not in the ServiceMeshMemberRoll (${mesh}/default)`
        this.printer.info(
          `note: ${ns} ${outside}: no sidecar checks requests to it and its pods call without mTLS, so its pairs can differ by path ("mixed"); add it with ${this.config.bin} add-namespace ${ns}`,
        )
      }
      this.printer.info(
        `${m.violations.length === 0 ? 'isolated: every tenant reaches its own namespaces only' : `${m.violations.length} pair(s) break tenant isolation (marked (!))`} (${Math.round(m.ms)} ms)`,
      )
    }
    const error = expectIsolated && m.violations.length ? new CheckFailedError(`${m.violations.length} pair(s) break tenant isolation`) : undefined
    return {data, machine: (format: 'json' | 'yaml') => machineText(data, format), error} satisfies Result
  }
}

/** -o json|yaml of a probe: YAML lines are never folded (paths and reasons are long). */
async function machineText(data: unknown, format: 'json' | 'yaml'): Promise<string> {
  if (format === 'yaml') return (await import('yaml')).stringify(data, {lineWidth: 0})
  return JSON.stringify(data, null, 2)
}

/** Why a hop is denied when no AuthorizationPolicy decided it. */
function denyWhy(h: {mtls: string}): string {
  return h.mtls.startsWith('plaintext refused') ? '(STRICT mTLS: the caller has no sidecar)' : '(no ALLOW rule matches)'
}
