import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {CheckFailedError} from '../errors.js'

export default class Status extends KnmeshCommand {
  static sharedReads = true
  static summary = 'Check every step of the guide against the live cluster (read-only)'
  static description = `Checks chapters 1 and 2 of the guide in one pass: prerequisites, the control plane's settings, the member roll, the wildcard certificate, the gateways, the Istio settings of KnativeServing, KnativeEventing and KnativeKafka, metrics, secret filtering, the mesh annotations of Knative Services (those deployed by OpenShift Pipelines included), the tenants' policies and the cross-tenant matrix.

On Service Mesh 3 each area asks the verb's Service Mesh 3 form (README "Service Mesh 3"): the Istio instead of the control plane, namespace injection labels instead of the member roll, the gateway and its certificate in knative-serving-ingress.

Each row names the knmesh command that fixes it. Every check is the verb's own planner or check: a verb that would change something is a finding. The number of API requests does not grow with the number of namespaces. Exit code 1 when any check fails.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> -o json',
    '<%= config.bin %> <%= command.id %> --mesh-namespace my-mesh',
  ]

  static readsOnly = true
  static flags = {...meshNamespaceFlag}

  async run() {
    const {flags} = await this.parseFlags(Status)
    const mesh = flags['mesh-namespace']
    const {statusFailed} = await import('../mesh/status.js')
    const client = await this.client()
    const generation = await this.meshGeneration()
    // The analyze area: one row summing up knmesh analyze's findings for this generation.
    const {analyze, analyzeStatusRow} = await import('../mesh/analyze/index.js')
    const {readAnalyzeFor} = await import('../read/analyze.js')
    const analyzeRow = async () => analyzeStatusRow(analyze(await readAnalyzeFor(client, mesh, generation)), mesh, generation.generation)
    let all
    if (generation.generation === 3) {
      // Service Mesh 3: every area asks the verb's Service Mesh 3 planner (src/mesh/status3.ts).
      const {readStatus3} = await import('../read/status.js')
      const {statusRows3} = await import('../mesh/status3.js')
      const state = await readStatus3(client, mesh, generation)
      state.extra = [await analyzeRow()]
      all = statusRows3(state)
    } else {
      const {readStatus, statusExtras} = await import('../read/status.js')
      const {statusRows} = await import('../mesh/status.js')
      // Each area's reader asks for what it needs; the KnativeServing, the control planes, the gateways … are sent once.
      const state = await readStatus(client, mesh)
      state.extra = await statusExtras(client, state)
      state.extra.push(await analyzeRow())
      all = statusRows(state)
    }
    // The generation status checked (src/mesh/generation.ts), first of the mesh rows: said on every generation.
    const at = all.findIndex((r) => r.area !== 'prerequisites')
    all.splice(at < 0 ? all.length : at, 0, {area: 'mesh', check: 'generation', state: 'ok', detail: generation.line})
    const rows = all.map((r) => (r.fix ? {...r, fix: this.named(r.fix)} : r))
    const failures = statusFailed(rows)
    const report = {meshNamespace: mesh, ok: failures.length === 0, rows}
    const warnings = rows.filter((r) => r.state === 'warning').length
    return {
      data: report,
      table: {head: ['area', 'check', 'state', 'detail', 'fix'], rows: rows.map((r) => [r.area, r.check, r.state, r.detail, r.fix ?? ''])},
      footer: `${rows.length} checks: ${rows.length - failures.length - warnings} ok, ${warnings} warning(s), ${failures.length} failure(s)`,
      error: failures.length
        ? new CheckFailedError(
            `${failures.length} check(s) failed${this.machineOutput ? ': each row\'s "fix" names the command' : '; the FIX column names the command for each'}`,
          )
        : undefined,
    }
  }
}
