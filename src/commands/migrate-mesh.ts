import {Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag, type Result} from '../base-command.js'
import {DeclinedError, ExitCode, KnmeshError, NotAppliedError} from '../errors.js'
import {DEFAULT_MESH_NAMESPACE} from '../mesh/constants.js'

export default class MigrateMesh extends KnmeshCommand {
  static summary = 'Migrate the Serverless mesh integration from Service Mesh 2.x to Service Mesh 3, step by step'
  static description = `Prints the ordered migration plan for this cluster (read-only): eleven steps, each with one line per object it changes. With --apply it runs them one at a time through the change engine (diff, confirm or --yes, --dry-run), re-reading the cluster before each step; a step already done says "nothing to do", so the same command resumes. It stops at the first step that fails or cannot run yet and names the step to resume from (--from-step N).

Steps: 1 preconditions (Service Mesh 3 operator installed, SMCP at 2.6); 2 prepare the SMCP (manageNetworkPolicy, addons and tracing off) and annotate KnativeServing/KnativeEventing serverless.openshift.io/disable-istio-net-policies-generation; 3 unique port names in ServiceEntries; 4 IstioCNI default and Istio default with the SMCP's settings (drain, excluded ports, discoverySelectors for a MultiTenant SMCP), then wait until both are Ready; 5 namespace knative-serving-ingress, the TLS Secret copied there and the gateway objects; 6 namespace labels instead of the member roll (injection label + maistra.io/ignore-namespace); 7 KnativeServing/Eventing/Kafka and Knative Services on Service Mesh 3; 8 the SMCP's gateways off and the stale Routes of the mesh namespace deleted (they block the new ones: HostAlreadyClaimed); 9 policies for knative-serving-ingress; 10 restart the workloads (yourself); 11 delete the SMMR, SMMs, SMCP and the old knative-local-gateway Service (the TLS Secret of the mesh namespace is kept).`

  static examples = [
    '<%= config.bin %> <%= command.id %> --to 3',
    '<%= config.bin %> <%= command.id %> --to 3 -o yaml',
    '<%= config.bin %> <%= command.id %> --to 3 --apply',
    '<%= config.bin %> <%= command.id %> --to 3 --apply --yes --istio-version v1.26-latest',
    '<%= config.bin %> <%= command.id %> --to 3 --apply --from-step 5 --yes',
    '<%= config.bin %> <%= command.id %> --to 3 --apply --dry-run=server --yes',
  ]

  static spansGenerations = true
  static flags = {
    'mesh-namespace': meshNamespaceFlag['mesh-namespace'],
    to: Flags.option({options: ['3'] as const, required: true, description: 'the Service Mesh generation to migrate to (3)'})(),
    apply: Flags.boolean({description: 'run the steps (default: print the plan, change nothing)', default: false}),
    'from-step': Flags.integer({
      description: 'with --apply: start at this step (the stop line names it)',
      min: 1,
      max: 11,
      helpValue: 'N',
      dependsOn: ['apply'],
    }),
    'istio-version': Flags.string({
      description: 'spec.version of the new Istio (default: the newest vX.Y-latest the Service Mesh 3 operator installs)',
      helpValue: 'VERSION',
    }),
  }

  async run(): Promise<Result> {
    const {flags} = await this.parseFlags(MigrateMesh)
    const mesh = flags['mesh-namespace']
    const m = await import('../mesh/migrate.js')
    const {readMigration} = await import('../read/migrate.js')
    // Steps 5, 7 and 9: the Service Mesh 3 planners of create-gateways, enable-istio, annotate-services and tenant-authz.
    const {mesh3Planners} = await import('../mesh/migrate-planners.js')
    const input = {planners: mesh3Planners(), istioVersion: flags['istio-version']}
    const client = await this.client()
    const state = await readMigration(client, mesh)
    // Bad input (an --istio-version this operator does not install) is said before any write: exit 2.
    m.chooseIstioVersion(state.istioVersions, input.istioVersion)
    if (!flags.apply) return this.showPlan(m.planMigration(state, input), mesh)

    const f = this.baseFlagValues
    const dry = f['dry-run'] !== 'none'
    const from = flags['from-step'] ?? 1
    const resume = (n: number) =>
      [
        'knmesh migrate-mesh --to 3 --apply --from-step',
        String(n),
        ...(mesh === DEFAULT_MESH_NAMESPACE ? [] : ['--mesh-namespace', mesh]),
        ...(flags['istio-version'] ? ['--istio-version', flags['istio-version']] : []),
        ...(f.yes ? ['--yes'] : []),
      ].join(' ')
    const done: {step: number; title: string; result: string}[] = []
    let changed = false
    for (let n = from; n <= m.STEP_COUNT; n++) {
      const title = m.stepTitle(n)
      this.printer.info(`${n > from ? '\n' : ''}[${n}/${m.STEP_COUNT}] ${title}`)
      let noop: boolean
      try {
        const report = await this.change({read: (c) => readMigration(c, mesh), plan: (s) => m.planStep(n, s, input)}, {question: `Apply step ${n}?`})
        noop = report.data.noop
      } catch (error) {
        if (dry && changed && error instanceof m.StepBlockedError) {
          // A dry run applies nothing, so a later step may wait for an earlier one's objects.
          this.printer.info(`dry run: step ${n} can be shown once the steps before it are applied (${error.reason})`)
          return {data: {steps: done}, machine: 'done'}
        }
        throw stepError(error as Error, n, title, resume(n), error instanceof m.StepBlockedError ? error.wait : false)
      }
      changed ||= !noop
      done.push({step: n, title, result: noop ? 'nothing to do' : dry ? `dry run (${f['dry-run']})` : 'applied'})
      if (dry) continue
      const pending = m.stepPending(n, await readMigration(client, mesh))
      if (pending) throw new KnmeshError(`step ${n} (${title}) is applied but not done: ${pending}; then run \`${resume(n)}\``)
    }
    this.printer.info(`\nmigration steps ${from}-${m.STEP_COUNT} done${dry ? ' (dry run: nothing applied)' : ''}: check with knmesh status`)
    return {data: {steps: done}, machine: 'done'}
  }

  /** The read-only plan: a table (step, title, changes), then the steps' notes; -o json|yaml: the steps. */
  private async showPlan(steps: import('../mesh/migrate.js').MigrationStep[], mesh: string): Promise<Result> {
    const {redact, stripServerFields} = await import('../kube/objects.js')
    const {actionOf} = await import('../change/plan.js')
    this.printer.info(`Service Mesh 2 → 3 migration plan for ${mesh} (read-only: --apply runs it step by step)`)
    const rows = steps.map((s) => [
      s.n,
      s.title,
      s.blocked ? `${s.blocked.wait ? 'waits' : 'blocked'}: ${s.blocked.reason}` : s.changes.join('\n') || 'nothing to do',
    ])
    // A note several steps share is said once: "steps 5, 6, 7: …".
    const said = (level: 'info' | 'warning') => {
      const by = new Map<string, number[]>()
      for (const s of steps) for (const n of s.plan.notes) if (n.level === level) by.set(n.text, [...(by.get(n.text) ?? []), s.n])
      return [...by].map(([text, ns]) => `step${ns.length > 1 ? 's' : ''} ${ns.join(', ')}: ${text}`)
    }
    const notes = said('info')
    const warnings = said('warning')
    const data = {
      meshNamespace: mesh,
      steps: steps.map((s) => ({
        step: s.n,
        title: s.title,
        changes: s.changes,
        ...(s.blocked ? {blocked: s.blocked} : {}),
        notes: s.plan.notes,
        // Secret values are never printed.
        objects: s.plan.items.filter((i) => i.desired && actionOf(i) !== 'unchanged').map((i) => redact(stripServerFields(i.desired!))),
      })),
    }
    return {data, table: {head: ['step', 'title', 'changes'], rows}, notes, warnings}
  }
}

/**
 * The one line a stopped step ends with, keeping the exit code of what stopped it (README "Exit codes"): a step
 * that waits for the cluster or cannot run (4), declined or no terminal (3), partially applied (8), refused (4), ….
 */
function stepError(error: Error, n: number, title: string, resume: string, wait: boolean): Error {
  const head = `step ${n} (${title})`
  const msg = error.message.split('\n')[0]
  if (wait) return new KnmeshError(`${head} waits: ${msg}; wait, then run \`${resume}\``)
  if (error instanceof DeclinedError) return new DeclinedError(`${head} not applied (${msg}): run \`${resume}\` to go on`)
  if (error instanceof NotAppliedError) return new NotAppliedError(`${head} not applied: ${msg}; run \`${resume}\` to go on`)
  if (error instanceof KnmeshError && error.exitCode === ExitCode.USAGE) return error
  const code = error instanceof KnmeshError ? error.exitCode : 1
  return new KnmeshError(`${head} failed: ${msg}; fix it and run \`${resume}\``, code)
}
