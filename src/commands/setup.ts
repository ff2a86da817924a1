import {Flags} from '@oclif/core'
import {connectionArgv, KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {ExitCode, KnmeshError, UsageError} from '../errors.js'
import {DEFAULT_MESH_NAMESPACE, meshFlag} from '../mesh/constants.js'
import {splitList, validateLabelName} from '../mesh/names.js'

interface Step {
  title: string
  id: string
  argv: string[]
  /** Read-only steps whose failure stops the wizard (precheck). */
  check?: boolean
}

/** A word as a POSIX shell reads it back: as it is when safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** "team-alpha=team-alpha-1,team-alpha-2" → [tenant, namespaces]. */
export function parseTenant(spec: string): [string, string[]] {
  const m = /^([^=]+)=(.+)$/.exec(spec.trim())
  if (!m) throw new UsageError(`invalid --tenant "${spec}": expected NAME=NS1,NS2`)
  const name = validateLabelName(m[1].trim(), 'tenant')
  return [name, splitList(m[2]).map((n) => validateLabelName(n))]
}

export default class Setup extends KnmeshCommand {
  static summary = 'Walk a fresh cluster through the whole integration, one verb at a time'
  static description = `Runs, in the guide's order: precheck, certs, configure-mesh, add-namespace, create-gateways, filter-secrets, enable-istio, enable-metrics (optional), tenant-authz (optional) and annotate-services. Each step is the verb itself: it shows its diff and asks (or applies with --yes). A step with nothing to do says so, so running setup again skips what is done. setup stops at the first failure and says how to resume.

On Service Mesh 3 (Sail operator) the same verbs run in their Service Mesh 3 form (README "Service Mesh 3"): configure-mesh edits the Istio (knmesh does not create it), add-namespace labels namespaces instead of editing a member roll (skipped when no namespace is given: Knative's own pods are injected by enable-istio's labels), certs and create-gateways work in knative-serving-ingress.

Interactively it asks which namespaces join the mesh, whether to enable metrics, and which tenants to isolate; with --yes, give them as flags.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --namespaces team-alpha-1,team-bravo-1 --metrics --tenant team-alpha=team-alpha-1 --tenant team-bravo=team-bravo-1 --yes',
    '<%= config.bin %> <%= command.id %> --namespaces my-app --cert-dir ./certs --domain apps.example.com --yes',
  ]

  static flags = {
    ...meshNamespaceFlag,
    namespaces: Flags.string({description: 'namespaces to add to the mesh, comma-separated', helpValue: 'NS,…'}),
    'cert-dir': Flags.string({description: 'where certs writes root.crt/root.key/wildcard.crt/wildcard.key', default: '.', helpValue: 'DIR'}),
    domain: Flags.string({description: "certificate domain (default: the cluster's apps domain)", helpValue: 'DOMAIN'}),
    metrics: Flags.boolean({description: 'enable Knative Serving metrics (guide 1.5); --no-metrics skips', allowNo: true}),
    tenant: Flags.string({
      description: 'isolate a tenant (guide chapter 2): NAME=NS1,NS2 (repeatable)',
      multiple: true,
      helpValue: 'NAME=NS,…',
      exclusive: ['no-tenants'],
    }),
    'no-tenants': Flags.boolean({description: 'isolate no tenant, and do not ask', default: false}),
    'from-step': Flags.integer({
      description: 'skip the steps before this one (setup prints it in its resume line, with every answer as flags)',
      min: 1,
      helpValue: 'N',
    }),
    eventing: Flags.boolean({description: 'configure KnativeEventing too (--no-eventing skips)', default: true, allowNo: true}),
  }

  async run() {
    const {flags} = await this.parseFlags(Setup)
    const mesh = flags['mesh-namespace']
    let namespaces = splitList(flags.namespaces).map((n) => validateLabelName(n))
    let tenants = (flags.tenant ?? []).map(parseTenant)
    let metrics = flags.metrics
    const f = this.baseFlagValues
    const ask = !f.yes && this.interactive

    // The mesh namespace first (client() checks it), and the generation: a typo is said before any question.
    const {generation} = await this.meshGeneration()
    if (ask) {
      // Ctrl-C at any of these is InterruptedError (exit 130), from src/ui/prompt.ts.
      const {input, confirm} = await import('../ui/prompt.js')
      if (flags.namespaces === undefined)
        namespaces = splitList(await input('Namespaces to add to the mesh (comma-separated, empty for none):')).map((n) => validateLabelName(n))
      if (metrics === undefined) metrics = await confirm('Enable Knative Serving metrics (guide 1.5)?', true)
      if (!flags.tenant && !flags['no-tenants'] && (await confirm('Isolate tenants with AuthorizationPolicies (guide chapter 2, Technology Preview)?'))) {
        const answer = await input('Tenants as NAME=NS1,NS2; NAME2=NS3 …:')
        tenants = answer
          .split(';')
          .filter((s) => s.trim())
          .map(parseTenant)
      }
    }
    const tenantNamespaces = tenants.flatMap(([, ns]) => ns)
    const members = [...new Set([...namespaces, ...tenantNamespaces])]

    // Every input is checked against the cluster before the first write (the mesh namespace by client()).
    const {requireNamespaces} = await import('../read/exists.js')
    await requireNamespaces(await this.client(), members.length ? members : ['knative-serving'])

    const meshArgs = [
      ...(mesh === DEFAULT_MESH_NAMESPACE ? [] : ['--mesh-namespace', mesh]),
      ...(flags['mesh-version'] ? ['--mesh-version', flags['mesh-version']] : []),
    ]
    const three = generation === 3
    const pass: string[] = []
    if (f.kubeconfig) pass.push('--kubeconfig', f.kubeconfig)
    if (f.context) pass.push('--context', f.context)
    pass.push(...connectionArgv(f))
    if (f.yes) pass.push('--yes')
    if (f['dry-run'] !== 'none') pass.push(`--dry-run=${f['dry-run']}`)
    if (f['no-pager']) pass.push('--no-pager')
    if (f['show-objects']) pass.push('--show-objects')

    const steps: Step[] = [
      {title: 'Check the prerequisites (1.4.1)', id: 'precheck', argv: meshArgs, check: true},
      {
        title: 'Create the wildcard certificate (1.3)',
        id: 'certs',
        argv: ['--out-dir', flags['cert-dir'], ...(flags.domain ? ['--domain', flags.domain] : []), ...meshArgs],
      },
      three
        ? {title: 'Configure the Istio and mesh-wide mTLS (1.4.2 step 1, Service Mesh 3)', id: 'configure-mesh', argv: [...meshArgs]}
        : {title: 'Configure the Service Mesh control plane (1.4.2 step 1)', id: 'configure-mesh', argv: ['--create', ...meshArgs]},
      // Service Mesh 3 has no member roll: with no namespace to label there is nothing to add.
      ...(three && !members.length
        ? []
        : [
            {
              title: `Add namespaces to the mesh (1.4.2 steps 2-3${three ? ', injection labels' : ''})`,
              id: 'add-namespace',
              argv: [...(members.length ? members : ['knative-serving']), ...meshArgs],
            },
          ]),
      {title: 'Create the gateways (1.4.2 steps 4-5)', id: 'create-gateways', argv: [...meshArgs]},
      {title: 'Label the secrets net-istio must see with secret filtering on (1.7)', id: 'filter-secrets', argv: [...meshArgs]},
      {title: 'Enable Istio in Knative (1.4.3)', id: 'enable-istio', argv: [...(flags.eventing ? [] : ['--no-eventing']), ...meshArgs]},
    ]
    if (metrics) steps.push({title: 'Enable Knative Serving metrics (1.5)', id: 'enable-metrics', argv: [...meshArgs]})
    if (tenants.length) {
      steps.push({title: 'Cluster-wide authorization policies (2.3 step 2)', id: 'tenant-authz', argv: ['--defaults', ...meshArgs]})
      for (const [name, ns] of tenants)
        steps.push({title: `Tenant ${name} (2.3 step 4)`, id: 'tenant-authz', argv: [name, '--namespaces', ns.join(','), ...meshArgs]})
    }
    if (members.length) steps.push({title: 'Annotate Knative Services for the mesh (1.4.4)', id: 'annotate-services', argv: ['--all-members', ...meshArgs]})
    const from = flags['from-step'] ?? 1
    if (from > steps.length) throw new UsageError(`--from-step ${from}: these answers make ${steps.length} steps`)

    // The resume line carries every answer (flags or prompts) so it makes the same steps, and starts at the failed one.
    const answers = [
      ...meshArgs,
      '--namespaces',
      namespaces.join(','),
      metrics ? '--metrics' : '--no-metrics',
      ...(tenants.length ? tenants.flatMap(([name, ns]) => ['--tenant', `${name}=${ns.join(',')}`]) : ['--no-tenants']),
      ...(flags['cert-dir'] === '.' ? [] : ['--cert-dir', flags['cert-dir']]),
      ...(flags.domain ? ['--domain', flags.domain] : []),
      ...(flags.eventing ? [] : ['--no-eventing']),
      ...pass.filter((a) => a !== '--yes'),
    ]
    // A bearer token is a credential: the resume line names the flag, never its value.
    const shown = answers.map((a, i) => (answers[i - 1] === '--token' ? '<token>' : a))
    // The prefix is the command as called ("kubectl knmesh"), not one word to quote.
    const resume = (step: number) =>
      `${this.config.bin} ${['setup', ...shown, '--from-step', String(step), ...(f.yes ? ['--yes'] : [])].map((a) => (a === '<token>' ? a : shellQuote(a))).join(' ')}`
    if (from <= 2) {
      const {resolve} = await import('node:path')
      this.printer.info(
        `certs (step 2) writes root.crt, root.key, wildcard.crt and wildcard.key (keys mode 0600) to ${resolve(flags['cert-dir'])}${flags['cert-dir'] === '.' ? ' (the current folder; --cert-dir DIR for another)' : ''}`,
      )
    }
    const done: {step: string; result: string}[] = []
    for (const [i, step] of steps.entries()) {
      if (i + 1 < from) {
        this.printer.info(`[${i + 1}/${steps.length}] ${step.title}: skipped (--from-step ${from})`)
        done.push({step: step.id, result: 'skipped'})
        continue
      }
      this.printer.info(`\n[${i + 1}/${steps.length}] ${step.title}: ${this.config.bin} ${step.id} ${step.argv.join(' ')}`)
      process.exitCode = 0
      const code = step.check ? await this.precheck(mesh, three) : await this.runStep(step.id, [...step.argv, ...pass])
      if (code === 0) {
        done.push({step: step.id, result: 'ok'})
        continue
      }
      process.exitCode = 0
      const notApplied = code === ExitCode.NOT_APPLIED || code === ExitCode.INTERRUPTED
      // Stopped for want of a terminal to confirm on: the resume line confirms with --yes, or it stops the same way.
      const again = code === ExitCode.NOT_APPLIED && !this.interactive && !f.yes ? `${resume(i + 1)} --yes` : resume(i + 1)
      throw new KnmeshError(
        `setup stopped at step ${i + 1}/${steps.length} (${step.id}); ${notApplied ? 'nothing was applied there; resume' : 'fix the error above, then resume'} with: ${again}`,
        code,
      )
    }
    this.printer.info(`\nsetup complete: ${steps.length} steps. Check the result with: ${this.config.bin} status${meshFlag(mesh)}`)
    // Each step printed its own output; --json prints the steps.
    return {data: {steps: done}, machine: 'done' as const}
  }

  /** Runs one verb as the user would; its own error line is already printed. Returns its exit code. */
  private async runStep(id: string, argv: string[]): Promise<number> {
    await this.config.runCommand(id, argv)
    return Number(process.exitCode ?? 0)
  }

  /**
   * precheck's checks; on Service Mesh 2 a missing control plane is not fatal here, since configure-mesh --create
   * makes one (on Service Mesh 3 knmesh does not create the Istio: its row is fatal).
   */
  private async precheck(mesh: string, three: boolean): Promise<number> {
    const {precheckChecks} = await import('../mesh/precheck.js')
    const {readPrecheck} = await import('../read/install.js')
    const checks = precheckChecks(await readPrecheck(await this.client(), mesh, three ? await this.meshGeneration() : undefined))
    await this.printer.table(
      ['check', 'status', 'detail', 'fix'],
      checks.map((c) => [c.id, c.status, c.detail, c.status === 'ok' ? '' : c.fix]),
    )
    const fatal = checks.filter((c) => c.status === 'failure' && c.id !== 'smcp')
    if (fatal.length) {
      process.stderr.write(`error: ${fatal.length} prerequisite check(s) failed: ${fatal.map((c) => c.id).join(', ')}\n`)
      return ExitCode.CHECK_FAILED
    }
    return 0
  }
}
