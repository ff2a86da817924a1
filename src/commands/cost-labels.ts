import {Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag, namespaceFlag} from '../base-command.js'
import {CheckFailedError, KnmeshError} from '../errors.js'

export default class CostLabels extends KnmeshCommand {
  static summary = 'Audit and set the namespace labels cost management uses for Knative Services (guide chapter 3)'
  static description = `Cost management gives pods the labels of their namespace, but never overrides a label a pod already has. Knative revision pods carry labels of their own: app=<revision name> (unless the revision template sets app), serving.knative.dev/service, …/revision and the other serving.knative.dev labels; Istio adds security.istio.io/tlsMode. So a namespace label such as app=my-domain does not reach those pods, and cost queries by app=my-domain miss them.

Without --set (read-only): for the namespace (-n) or every mesh member (--all-members), lists the namespace labels that the namespace's Knative revision pods do not carry — because Knative, Istio or the service's revision template sets the key — and says under which label their costs are found. --check exits 1 when there is such a label.

With --set key=value: puts the label on the namespace and on the revision template of each of its Knative Services, so new revision pods carry it (each changed service rolls out a new revision). Keys that Knative, Istio or Kubernetes set on pods themselves, such as app, are refused.`

  static examples = [
    {description: 'Audit the current namespace', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Audit every namespace of the mesh', command: '<%= config.bin %> <%= command.id %> --all-members'},
    {
      description: 'Label a namespace and its Knative Services for cost reports',
      command: '<%= config.bin %> <%= command.id %> -n my-app --set cost-center=my-domain --yes',
    },
    {
      description: 'Label every mesh member; show the changes first',
      command: '<%= config.bin %> <%= command.id %> --all-members --set cost-center=shared --dry-run=client',
    },
    {description: 'In CI: fail when a namespace label is missed by cost queries', command: '<%= config.bin %> <%= command.id %> --all-members --check -o json'},
  ]

  static flags = {
    ...namespaceFlag,
    ...meshNamespaceFlag,
    'all-members': Flags.boolean({
      description:
        'every namespace of the Service Mesh member roll, or on Service Mesh 3 every namespace labeled for injection (except knative-serving and knative-eventing)',
      default: false,
      exclusive: ['namespace'],
    }),
    set: Flags.string({
      description: "put the label KEY=VALUE on the namespaces and their Knative Services' revision templates (repeatable)",
      multiple: true,
      helpValue: 'KEY=VALUE',
    }),
    check: Flags.boolean({description: 'exit 1 when the audit finds a missed label (without --set)', default: false, exclusive: ['set']}),
  }

  async run() {
    const {flags} = await this.parseFlags(CostLabels)
    const mesh = flags['mesh-namespace']
    const {parseCostLabels} = await import('../mesh/cost-labels.js')
    const labels = flags.set ? parseCostLabels(flags.set) : undefined
    const namespaces = (await this.namespaceScope(flags, {mesh, fallback: 'context'})).namespaces!
    if (namespaces.length === 0) {
      const members =
        (await this.meshGeneration()).generation === 3
          ? `no namespace is labeled for the injection of the Istio of ${mesh}`
          : `the member roll of ${mesh} has no namespaces`
      this.printer.info(`${members} besides knative-serving and knative-eventing: nothing to do`)
      return {data: {namespaces, ok: true, findings: []}}
    }
    const {readCostLabels} = await import('../read/workloads.js')
    if (labels) {
      const {planCostLabels} = await import('../mesh/cost-labels.js')
      return this.change({
        read: (c) => readCostLabels(c, namespaces, {pods: false}),
        plan: (s) => planCostLabels(s, {labels, skipMissing: flags['all-members']}),
      })
    }
    return this.audit(namespaces, flags.check, flags['all-members'])
  }

  private async audit(namespaces: string[], check: boolean, skipMissing: boolean) {
    const {auditCostLabels, missingText} = await import('../mesh/cost-labels.js')
    const {readCostLabels} = await import('../read/workloads.js')
    const state = await readCostLabels(await this.client(), namespaces)
    if (state.missing.length && !skipMissing) throw new KnmeshError(missingText(state.missing))
    if (state.missing.length) this.printer.warn(`${missingText(state.missing)}: skipped`)
    // Fixes name the verb as the user calls it, in -o json too (as precheck and status do).
    const findings = auditCostLabels(state).map((f) => ({...f, fix: this.named(f.fix)}))
    const report = {namespaces, ok: !findings.some((f) => f.severity === 'warning'), findings}
    const missed = findings.filter((f) => f.severity === 'warning')
    const footer = findings.length
      ? undefined
      : `no missed cost labels: the Knative revision pods of ${namespaces.length === 1 ? `namespace ${namespaces[0]}` : `${namespaces.length} namespace(s)`} carry every namespace label`
    return {
      data: report,
      table: {
        head: ['namespace', 'label', 'set by', 'services', 'costs found under', 'fix'],
        rows: findings.map((f) => [
          f.namespace,
          `${f.key}=${f.value}`,
          f.setBy,
          f.services.length ? f.services.map((s) => s.name).join(', ') : '(none yet)',
          f.services.length ? [...new Set(f.services.flatMap((s) => s.values.map((v) => `${f.key}=${v}`)))].join(', ') : '',
          f.fix,
        ]),
      },
      footer,
      // An info row has no FIX: its reason (e.g. "query by cost-center=my-domain instead") is said under the table.
      notes: findings.filter((x) => x.severity === 'info').map((f) => `note: ${f.namespace}: ${f.message}`),
      warnings: state.pods === null ? ["cannot list pods: revision names come from the Knative Services' status"] : [],
      error: check && missed.length ? new CheckFailedError(`${missed.length} namespace label(s) missed by cost queries of Knative revision pods`) : undefined,
    }
  }
}
