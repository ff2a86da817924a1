import {Flags} from '@oclif/core'
import {connectionArgv, KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {ExitCode, KnmeshError, UsageError} from '../errors.js'
import {splitList, validateLabelName} from '../mesh/names.js'

interface Step {
  title: string
  id: string
  argv: string[]
  /** Read-only steps whose failure stops the wizard (precheck). */
  check?: boolean
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
    domain: Flags.string({description: 'certificate domain (default: the cluster\'s apps domain)', helpValue: 'DOMAIN'}),
    metrics: Flags.boolean({description: 'enable Knative Serving metrics (guide 1.5); --no-metrics skips', allowNo: true}),
    tenant: Flags.string({description: 'isolate a tenant (guide chapter 2): NAME=NS1,NS2 (repeatable)', multiple: true, helpValue: 'NAME=NS,…'}),
    eventing: Flags.boolean({description: 'configure KnativeEventing too (--no-eventing skips)', default: true, allowNo: true}),
  }

  async run() {
    const {flags} = await this.parseFlags(Setup)
    const mesh = validateLabelName(flags['mesh-namespace'], 'mesh namespace')
    let namespaces = splitList(flags.namespaces).map((n) => validateLabelName(n))
    let tenants = (flags.tenant ?? []).map(parseTenant)
    let metrics = flags.metrics
    const f = this.baseFlagValues
    const ask = !f.yes && this.interactive

    if (ask) {
      const {input, confirm} = await import('@inquirer/prompts')
      try {
        if (!flags.namespaces) namespaces = splitList(await input({message: 'Namespaces to add to the mesh (comma-separated, empty for none):'})).map((n) => validateLabelName(n))
        if (metrics === undefined) metrics = await confirm({message: 'Enable Knative Serving metrics (guide 1.5)?', default: true})
        if (!flags.tenant && (await confirm({message: 'Isolate tenants with AuthorizationPolicies (guide chapter 2, Technology Preview)?', default: false}))) {
          const answer = await input({message: 'Tenants as NAME=NS1,NS2; NAME2=NS3 …:'})
          tenants = answer.split(';').filter((s) => s.trim()).map(parseTenant)
        }
      } catch (error) {
        if (error instanceof KnmeshError) throw error
        throw new KnmeshError('setup cancelled: nothing changed', ExitCode.NOT_APPLIED)
      }
    }
    const tenantNamespaces = tenants.flatMap(([, ns]) => ns)
    const members = [...new Set([...namespaces, ...tenantNamespaces])]

    const meshArgs = mesh === 'istio-system' ? [] : ['--mesh-namespace', mesh]
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
      {title: 'Create the wildcard certificate (1.3)', id: 'certs', argv: ['--out-dir', flags['cert-dir'], ...(flags.domain ? ['--domain', flags.domain] : []), ...meshArgs]},
      {title: 'Configure the Service Mesh control plane (1.4.2 step 1)', id: 'configure-mesh', argv: ['--create', ...meshArgs]},
      {title: 'Add namespaces to the mesh (1.4.2 steps 2-3)', id: 'add-namespace', argv: [...members.length ? members : ['knative-serving'], ...meshArgs]},
      {title: 'Create the gateways (1.4.2 steps 4-5)', id: 'create-gateways', argv: [...meshArgs]},
      {title: 'Label the secrets net-istio must see with secret filtering on (1.7)', id: 'filter-secrets', argv: [...meshArgs]},
      {title: 'Enable Istio in Knative (1.4.3)', id: 'enable-istio', argv: [...(flags.eventing ? [] : ['--no-eventing']), ...meshArgs]},
    ]
    if (metrics) steps.push({title: 'Enable Knative Serving metrics (1.5)', id: 'enable-metrics', argv: [...meshArgs]})
    if (tenants.length) {
      steps.push({title: 'Cluster-wide authorization policies (2.3 step 2)', id: 'tenant-authz', argv: ['--defaults', ...meshArgs]})
      for (const [name, ns] of tenants) steps.push({title: `Tenant ${name} (2.3 step 4)`, id: 'tenant-authz', argv: [name, '--namespaces', ns.join(','), ...meshArgs]})
    }
    if (members.length) steps.push({title: 'Annotate Knative Services for the mesh (1.4.4)', id: 'annotate-services', argv: ['--all-members', ...meshArgs]})

    const resume = [this.config.bin, 'setup', ...this.argv.filter((a) => a !== '--yes' && a !== '-y'), '--yes'].join(' ')
    const done: {step: string; result: string}[] = []
    for (const [i, step] of steps.entries()) {
      this.printer.info(`\n[${i + 1}/${steps.length}] ${step.title}: ${this.config.bin} ${step.id} ${step.argv.join(' ')}`)
      process.exitCode = 0
      const code = step.check ? await this.precheck(mesh) : await this.runStep(step.id, [...step.argv, ...pass])
      if (code === 0) {
        done.push({step: step.id, result: 'ok'})
        continue
      }
      process.exitCode = 0
      throw new KnmeshError(
        `setup stopped at step ${i + 1}/${steps.length} (${step.id}); ${code === ExitCode.NOT_APPLIED ? 'nothing was applied there' : 'fix the error above'}, then resume with: ${resume}`,
        code,
      )
    }
    this.printer.info(`\nsetup complete: ${steps.length} steps. Check the result with: ${this.config.bin} status${mesh === 'istio-system' ? '' : ` --mesh-namespace ${mesh}`}`)
    return {steps: done}
  }

  /** Runs one verb as the user would; its own error line is already printed. Returns its exit code. */
  private async runStep(id: string, argv: string[]): Promise<number> {
    await this.config.runCommand(id, argv)
    return Number(process.exitCode ?? 0)
  }

  /** precheck's checks; a missing control plane is not fatal here, since configure-mesh --create makes one. */
  private async precheck(mesh: string): Promise<number> {
    const {precheckChecks} = await import('../mesh/precheck.js')
    const {readPrecheck} = await import('../mesh/install-read.js')
    const {table} = await import('../ui/table.js')
    const checks = precheckChecks(await readPrecheck(await this.client(), mesh))
    this.printer.info(table(['check', 'status', 'detail', 'fix'], checks.map((c) => [c.id, c.status, c.detail, c.status === 'ok' ? '' : c.fix])))
    const fatal = checks.filter((c) => c.status === 'failure' && c.id !== 'smcp')
    if (fatal.length) {
      process.stderr.write(`error: ${fatal.length} prerequisite check(s) failed: ${fatal.map((c) => c.id).join(', ')}\n`)
      return ExitCode.CHECK_FAILED
    }
    return 0
  }
}
