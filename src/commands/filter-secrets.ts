import {Flags} from '@oclif/core'
import type {SecretScope} from '../read/secrets.js'
import {KnmeshCommand, meshNamespaceFlag, namespaceFlag, namespacesFlag, type Cell, type Result} from '../base-command.js'
import {CheckFailedError, KnmeshError, PartialError, UsageError} from '../errors.js'

export default class FilterSecrets extends KnmeshCommand {
  static summary = 'Label the secrets net-istio must see once secret filtering is on (guide 1.7)'
  static description = `With secret filtering (ENABLE_SECRET_INFORMER_FILTERING_BY_CERT_UID, on by default), net-istio only sees Secrets labelled networking.internal.knative.dev/certificate-uid. This verb puts that label (value: --uid, else the secret's own UID) on the secrets Knative's ingress uses: those named by the Gateways' credentialName in the mesh namespace, by DomainMappings' spec.tls.secretName and by KIngresses' spec.tls, and, with --all-tls, every kubernetes.io/tls secret of the chosen namespaces (-n, --namespaces or --all-namespaces, narrowed by -l). Secrets already labelled are not touched.

Built for clusters with tens of thousands of secrets: secrets are listed in pages and never all held in memory; each secret gets one merge patch of its labels (atomic: no secret is ever half-written), --concurrency at a time on one HTTP/2 connection (HTTP/1.1 keep-alive connections when the server offers only HTTP/1.1), with a progress bar on a terminal and a table at the end (labelled / already labelled / failed, with reasons). Interrupted (Ctrl-C, killed), it is run again to finish the rest. The confirmation shows counts per namespace and the first few names, not one diff per secret.

--check is a read-only audit: it lists the secrets net-istio would not see with filtering on (unlabelled or missing) and exits 1 if there is any.
--disable sets the guide's override ENABLE_SECRET_INFORMER_FILTERING_BY_CERT_UID=false on the net-istio-controller "controller" container in KnativeServing spec.workloads; --enable removes it (filtering is the default), keeping every other workload entry.`

  static examples = [
    {description: 'Label the secrets Gateways, DomainMappings and KIngresses reference', command: '<%= config.bin %> <%= command.id %>'},
    {
      description: 'Also every TLS secret of two namespaces, with a fixed label value',
      command: '<%= config.bin %> <%= command.id %> --all-tls --namespaces team-a,team-b --uid team-certs --yes',
    },
    {
      description: 'Every TLS secret of the cluster selected by a label, 16 patches at a time',
      command: '<%= config.bin %> <%= command.id %> --all-tls -A -l app=web --concurrency 16 --yes',
    },
    {
      description: 'Audit before enabling filtering (exit 1 if a secret would be invisible)',
      command: '<%= config.bin %> <%= command.id %> --check --all-tls -A',
    },
    {
      description: 'Turn secret filtering off, or back on',
      command: '<%= config.bin %> <%= command.id %> --disable\n<%= config.bin %> <%= command.id %> --enable',
    },
  ]

  static flags = {
    ...namespaceFlag,
    namespaces: namespacesFlag({exclusive: ['namespace', 'all-namespaces']}),
    'all-namespaces': Flags.boolean({char: 'A', description: 'every namespace', default: false, exclusive: ['namespace']}),
    'all-tls': Flags.boolean({description: 'also every kubernetes.io/tls secret in the chosen namespaces', default: false}),
    selector: Flags.string({
      char: 'l',
      description: 'with --all-tls: only the TLS secrets matching this label selector',
      helpValue: 'SELECTOR',
      dependsOn: ['all-tls'],
    }),
    uid: Flags.string({description: "label value to use (default: each secret's own UID)", helpValue: 'VALUE'}),
    check: Flags.boolean({
      description: 'read-only: list the secrets net-istio would not see with filtering on; exit 1 if any',
      default: false,
      exclusive: ['enable', 'disable', 'uid'],
    }),
    disable: Flags.boolean({
      description: `turn secret filtering off (the guide's override in KnativeServing spec.workloads)`,
      default: false,
      exclusive: ['enable', 'all-tls', 'uid'],
    }),
    enable: Flags.boolean({description: 'turn secret filtering back on (remove the override)', default: false, exclusive: ['disable', 'all-tls', 'uid']}),
    concurrency: Flags.integer({
      description: 'label patches sent at once (at most 32; HTTP/2 streams, or HTTP/1.1 connections when the server offers only HTTP/1.1)',
      default: 32,
      min: 1,
      max: 32,
    }),
    ...meshNamespaceFlag,
  }

  async run() {
    const {flags} = await this.parseFlags(FilterSecrets)
    const mesh = flags['mesh-namespace']
    const {validateUid} = await import('../mesh/secret-filter.js')
    const uid = flags.uid === undefined ? undefined : validateUid(flags.uid)
    if (flags['all-tls'] && !flags.namespaces && !flags.namespace && !flags['all-namespaces']) {
      throw new UsageError('--all-tls needs the namespaces to look in: -n NS, --namespaces NS,NS or --all-namespaces')
    }
    if (flags.selector !== undefined && !flags.selector.trim()) throw new UsageError('-l needs a label selector')
    // A namespace that does not exist is an error (exit 6) before any read, not "nothing to do".
    const {namespaces} = await this.namespaceScope(flags, {fallback: 'cluster', require: !flags.enable && !flags.disable})
    const {gatewayNamespace} = await import('../mesh/generation.js')
    const scope = {meshNamespace: mesh, gatewayNamespace: gatewayNamespace((await this.meshGeneration()).generation, mesh), namespaces}

    if (flags.enable || flags.disable) return this.toggle(flags.enable, scope)
    if (flags.check) return this.check(scope, flags['all-tls'], flags.selector)
    return this.label(scope, {allTls: flags['all-tls'], selector: flags.selector, uid, concurrency: flags.concurrency})
  }

  private async toggle(enable: boolean, scope: SecretScope) {
    const {planFilterToggle, auditSecrets} = await import('../mesh/secret-filter.js')
    const {readFilterToggle} = await import('../read/secrets.js')
    return this.change({
      read: (c) => readFilterToggle(c, scope, enable),
      plan: (s) => planFilterToggle(s.serving, enable, {unlabelled: s.refs ? auditSecrets(s.refs.refs, s.refs.secrets, []).length : 0}),
    })
  }

  private async check(scope: SecretScope, allTls: boolean, selector?: string) {
    const {auditSecrets, filteringEnabled, CERT_UID_LABEL} = await import('../mesh/secret-filter.js')
    const {readFilterCheck, tlsSecretPages} = await import('../read/secrets.js')
    const client = await this.client()
    const {refs, serving} = await readFilterCheck(client, scope)
    // Only unlabelled TLS secrets are listed (the server filters), and only the first few thousand are kept.
    const KEEP = 2000
    const tls: import('../kube/types.js').KObject[] = []
    let tlsCount = 0
    if (allTls) {
      const labelSelector = [selector, `!${CERT_UID_LABEL}`].filter(Boolean).join(',')
      for await (const page of tlsSecretPages(client, scope, {labelSelector})) {
        for (const s of page) {
          if (refs.secrets.has(`${s.metadata.namespace}/${s.metadata.name}`)) continue
          tlsCount++
          if (tls.length < KEEP) tls.push(s)
        }
      }
    }
    const rows = auditSecrets(refs.refs, refs.secrets, tls)
    const problems = rows.length - tls.length + tlsCount
    const filtering = filteringEnabled(serving)
    const notRead = refs.refs.filter((r) => !refs.secrets.has(`${r.namespace}/${r.name}`))
    for (const k of refs.skipped) this.printer.warn(`cannot list ${k} objects (not served or forbidden): their secrets were not checked`)
    if (notRead.length)
      this.printer.warn(
        `cannot read ${notRead.length} referenced secret(s) (forbidden): ${notRead
          .slice(0, 3)
          .map((r) => `${r.namespace}/${r.name}`)
          .join(', ')}`,
      )
    const report = {
      filtering: serving ? (filtering ? 'enabled' : 'disabled') : 'unknown (no KnativeServing)',
      referenced: refs.refs.length,
      invisible: problems,
      secrets: rows.map((r) => ({namespace: r.namespace, name: r.name, problem: r.problem, referencedBy: r.by})),
    }
    const shown = rows.slice(0, 50)
    const more = rows.length - shown.length + (tlsCount - tls.length)
    const where = scope.namespaces ? scope.namespaces.join(', ') : 'all namespaces'
    const scopeFlags = scope.namespaces
      ? scope.namespaces.length === 1
        ? ` -n ${scope.namespaces[0]}`
        : ` --namespaces ${scope.namespaces.join(',')}`
      : allTls
        ? ' -A'
        : ''
    const missing = rows.filter((r) => r.problem === 'missing').length
    const fixes = [
      ...(problems > missing ? [`${this.config.bin} filter-secrets${allTls ? ' --all-tls' : ''}${scopeFlags}${selector ? ` -l ${selector}` : ''}`] : []),
      ...(missing ? ['create the missing secret(s) or correct the references'] : []),
    ]
    const footer = problems
      ? `${problems} secret(s) would be invisible to net-istio with secret filtering on${more > 0 ? ` (${more} more not shown)` : ''}; filtering is ${report.filtering}. Fix: ${fixes.join('; ')}`
      : `all ${refs.refs.length} referenced secret(s)${allTls ? ' and every TLS secret' : ''} in ${where} carry ${CERT_UID_LABEL}; filtering is ${report.filtering}`
    return {
      data: report,
      table: {head: ['namespace', 'secret', 'problem', 'referenced by'], rows: shown.map((r) => [r.namespace, r.name, r.problem, r.by.join(', ')])},
      footer,
      error: problems ? new CheckFailedError(`${problems} secret(s) would be invisible to net-istio with secret filtering on`) : undefined,
    }
  }

  private async label(scope: SecretScope, o: {allTls: boolean; selector?: string; uid?: string; concurrency: number}) {
    const {planSecretLabels} = await import('../mesh/secret-filter.js')
    const {readSecretRefs, tlsSecretPages} = await import('../read/secrets.js')
    const {runBulk} = await import('../change/engine.js')
    const {warning, info} = await import('../change/plan.js')
    const {confirm} = await import('../ui/prompt.js')
    const f = this.baseFlagValues
    const client = await this.client()

    const spec = {
      // Namespaces given: patch secrets in each is checked before the first label, --yes or not.
      needs: o.allTls && scope.namespaces ? scope.namespaces.map((namespace) => ({verb: 'patch', group: '', resource: 'secrets', namespace})) : undefined,
      async *pages(c: typeof client) {
        const refs = await readSecretRefs(c, scope)
        const notes = refs.skipped.map((k) => info(`${k} is not served or cannot be listed: its secrets were not looked up`))
        const existing = []
        for (const r of refs.refs) {
          const s = refs.secrets.get(`${r.namespace}/${r.name}`)
          if (s) existing.push(s)
          else notes.push(warning(`Secret ${r.namespace}/${r.name} (${r.by.join(', ')}) ${s === null ? 'does not exist' : 'cannot be read (forbidden)'}`))
        }
        const first = planSecretLabels(existing, {uid: o.uid})
        yield {items: first.items, notes}
        if (!o.allTls) return
        for await (const page of tlsSecretPages(c, scope, {labelSelector: o.selector})) {
          yield planSecretLabels(
            page.filter((s) => !refs.secrets.has(`${s.metadata.namespace}/${s.metadata.name}`)),
            {uid: o.uid},
          )
        }
      },
    }

    // Ctrl-C: no new patches; the ones in flight finish; the summary says what is left.
    // The bar is stopped first, so nothing is drawn over the message or the final table.
    const abort = new AbortController()
    const bar = process.stderr.isTTY && !this.machineOutput ? await this.progressBar() : undefined
    let started = false
    const stopBar = () => {
      if (started) bar?.stop()
      started = false
    }
    const {onInterrupt} = await import('../change/bulk.js')
    const offInterrupt = onInterrupt(() => {
      stopBar()
      process.stderr.write('interrupted: finishing the patches in flight (Ctrl-C again to quit now)\n')
      abort.abort()
    })
    const recorder = await this.journal({bulk: true})
    try {
      const result = await runBulk(client, spec, {
        recorder,
        yes: f.yes,
        dryRun: f['dry-run'],
        output: this.machineOutput ?? f.output,
        color: this.color,
        interactive: this.interactive,
        printer: this.printer,
        confirm,
        question: undefined,
        concurrency: o.concurrency,
        summarizeOver: 25,
        signal: abort.signal,
        onApplied: (done, total, exact) => {
          if (!bar || abort.signal.aborted) return
          // Still listing: the total is what was found so far ("1534/2000+ found so far").
          const more = exact ? '' : '+ found so far'
          if (!started) {
            bar.start(total, 0, {more})
            started = true
          }
          bar.setTotal(total)
          bar.update(done, {more})
        },
      })
      stopBar()
      return this.report(result, f['dry-run'])
    } finally {
      recorder?.end()
      stopBar()
      offInterrupt()
    }
  }

  private async progressBar() {
    const {SingleBar, Presets} = await import('cli-progress')
    return new SingleBar(
      {format: 'labelling secrets [{bar}] {value}/{total}{more} {percentage}% {eta}s left', stream: process.stderr, hideCursor: true, clearOnComplete: true},
      Presets.shades_classic,
    )
  }

  private report(result: import('../change/engine.js').BulkResult, dryRun: string): Result {
    const verb = dryRun === 'none' ? 'labelled' : dryRun === 'server' ? 'labelled (server dry run)' : 'to label'
    const namespaces = [...result.byNamespace].sort((a, b) => a[0].localeCompare(b[0]))
    const failures = [...result.failures].map(([reason, v]) => ({reason, count: v.count, examples: v.names}))
    const data = {
      labelled: result.changed,
      alreadyLabelled: result.unchanged,
      failed: result.failed,
      interrupted: result.interrupted,
      ...(result.stopped ? {stopped: result.stopped} : {}),
      namespaces: Object.fromEntries(namespaces.map(([ns, c]) => [ns, {labelled: c.changed, alreadyLabelled: c.unchanged, failed: c.failed}])),
      failures,
    }
    const MAX = 30
    const rows: Cell[][] = namespaces.slice(0, MAX).map(([ns, c]) => [ns, c.changed, c.unchanged, c.failed])
    if (namespaces.length > MAX) rows.push([`… ${namespaces.length - MAX} more`, '', '', ''])
    rows.push(['total', result.changed, result.unchanged, result.failed])
    return {
      data,
      table: result.noop ? undefined : {head: ['namespace', verb, 'already labelled', 'failed'], rows},
      notes: result.noop
        ? []
        : failures.map((fl) => `failed ${fl.count}×: ${fl.reason} (${fl.examples.join(', ')}${fl.count > fl.examples.length ? ', …' : ''})`),
      error: this.bulkError(result, verb),
    }
  }

  /** The error a bulk run ends with: interrupted (130), partially applied (8), failed (4); none when all went well. */
  private bulkError(result: import('../change/engine.js').BulkResult, verb: string): KnmeshError | undefined {
    if (result.interrupted) {
      return new KnmeshError(`interrupted after ${result.changed} secret(s) ${verb}: run the same command again to label the rest`, 130)
    }
    if (result.stopped || (result.failed && result.changed)) {
      // Exit 8: each label is one merge patch, so no secret is half-written; the same command labels the rest.
      const reason = [...result.failures.keys()][0]
      const failed = result.failed ? `, ${result.failed} failed${reason === result.stopped ? '' : ` (${reason})`}` : ''
      const stopped = result.stopped ? `; stopped before the end: ${result.stopped}` : ''
      return new PartialError(
        `partially applied: ${result.changed} secret(s) ${verb}${failed}${stopped}. No secret is half-written: run the same command again to label the rest`,
      )
    }
    if (result.failed) return new KnmeshError(`${result.failed} secret(s) could not be labelled; the rest is done: fix the cause above and run again`)
    return undefined
  }
}
