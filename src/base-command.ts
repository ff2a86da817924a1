import {Command, Flags, Interfaces} from '@oclif/core'
import {debugEnabled} from './debug.js'
import {DeclinedError, ExitCode, InterruptedError, KnmeshError, UsageError} from './errors.js'
import type {AppliedChange, ChangeSpec} from './change/engine.js'
import type {Printer} from './ui/printer.js'
import type {Note} from './change/plan.js'
import type {KObject} from './kube/types.js'
import {DEFAULT_MESH_NAMESPACE} from './mesh/constants.js'
import type {GenerationDecision, GenerationFacts, MeshGeneration} from './mesh/generation.js'
import {splitList, validateLabelName} from './mesh/names.js'

/** A table cell: human text (named like info()), a number, or empty. */
export type Cell = string | number | undefined

/**
 * What every verb's run() returns; the base command renders it (render()):
 * - `--json`: `data` as JSON on stdout;
 * - `-o json|yaml`: `machine(format)` when given, else `data` as JSON/YAML on stdout; `machine: 'done'` when the
 *   verb (or the change engine, which prints the desired objects) wrote its machine output already;
 * - otherwise `table` (skipped without rows), then `footer`, then `notes`, one line each, on stdout.
 * Then `warnings` on stderr, in every format; then `error` is thrown (e.g. CheckFailedError, exit 1: a failed check
 * still prints its report).
 */
export interface Result<D = unknown> {
  data: D
  table?: {head: string[]; rows: Cell[][]}
  footer?: string
  notes?: string[]
  warnings?: string[]
  machine?: 'done' | ((format: 'json' | 'yaml') => Promise<string> | string)
  error?: KnmeshError
}

export interface ChangeReport {
  applied: boolean
  noop: boolean
  changes: AppliedChange[]
  /** The desired objects (server fields stripped, Secret values redacted). */
  objects: KObject[]
  notes: Note[]
}
import type {KubeClient} from './kube/client.js'
import type {ConnectOptions} from './kube/config.js'
import type {DryRun} from './kube/types.js'

/** The oc subcommands of knmesh's hints that kubectl has under the same name (named() rewrites them for kubectl users). */
const KUBECTL_TOO = /(?<![\w-])oc (wait|rollout|patch|delete|get|label|annotate|apply|create|describe|logs|edit|scale)\b/g

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof KnmeshCommand)['baseFlags'] & T['flags']>

/** A namespace name flag: checked (validateLabelName, UsageError exit 2) while the flags are parsed, before any request. */
const namespaceName = (what: string) => Flags.custom<string>({parse: async (input) => validateLabelName(input, what)})

/** -n/--namespace, for verbs that work in one namespace (validated when parsed). */
export const namespaceFlag = {
  namespace: namespaceName('namespace')({char: 'n', description: "namespace (default: the context's namespace)", helpValue: 'NS'}),
}

/** --mesh-namespace, validated when parsed; client() then checks that it holds a control plane (exit 6). */
export const meshNamespaceFlag = {
  'mesh-namespace': namespaceName('mesh namespace')({
    description: 'namespace of the Service Mesh control plane',
    default: DEFAULT_MESH_NAMESPACE,
    helpValue: 'NS',
  }),
  'mesh-version': Flags.option({
    options: ['2', '3'] as const,
    description:
      'the Service Mesh generation to act on: 2 (ServiceMeshControlPlane) or 3 (Sail operator Istio); default: the one found in the mesh namespace (required when both are there)',
  })(),
}

/** --namespaces NS,NS: at least one, each validated when parsed (UsageError, exit 2). */
export const namespacesFlag = Flags.custom<string[]>({
  description: 'several namespaces (comma-separated)',
  helpValue: 'NS,NS',
  parse: async (input) => {
    const names = splitList(input).map((n) => validateLabelName(n))
    if (names.length === 0) throw new UsageError('--namespaces needs at least one namespace')
    return names
  },
})

/** The namespace-scope flags a verb may have: -n, --namespaces, -A/--all-namespaces, --all-members. */
export interface ScopeFlags {
  namespace?: string
  namespaces?: string[]
  'all-namespaces'?: boolean
  'all-members'?: boolean
}

/** kubectl's connection flags as ConnectOptions (undefined when not given). */
export function connectionFlags(f: {[k: string]: unknown}): Omit<ConnectOptions, 'kubeconfig' | 'context' | 'namespace' | 'requestTimeoutMs'> {
  return {
    cluster: f.cluster as string | undefined,
    user: f.user as string | undefined,
    server: f.server as string | undefined,
    token: f.token as string | undefined,
    certificateAuthority: f['certificate-authority'] as string | undefined,
    clientCertificate: f['client-certificate'] as string | undefined,
    clientKey: f['client-key'] as string | undefined,
    insecureSkipTlsVerify: (f['insecure-skip-tls-verify'] as boolean | undefined) || undefined,
    tlsServerName: f['tls-server-name'] as string | undefined,
    as: f.as as string | undefined,
    asGroups: f['as-group'] as string[] | undefined,
    asUid: f['as-uid'] as string | undefined,
  }
}

/** The connection flags given, as argv again (for verbs that run other verbs, e.g. setup). */
export function connectionArgv(f: {[k: string]: unknown}): string[] {
  const out: string[] = []
  for (const name of ['cluster', 'user', 'server', 'token', 'certificate-authority', 'client-certificate', 'client-key', 'tls-server-name', 'as', 'as-uid']) {
    if (typeof f[name] === 'string') out.push(`--${name}`, f[name] as string)
  }
  for (const g of (f['as-group'] as string[] | undefined) ?? []) out.push('--as-group', g)
  if (f['insecure-skip-tls-verify']) out.push('--insecure-skip-tls-verify')
  return out
}

/**
 * Every verb extends this: the kubectl flags, one-line errors with
 * documented exit codes, the change engine, and -o/--json output.
 */
export abstract class KnmeshCommand extends Command {
  static baseFlags = {
    kubeconfig: Flags.string({description: 'path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)', helpGroup: 'GLOBAL', helpValue: 'FILE'}),
    context: Flags.string({description: 'kubeconfig context to use', helpGroup: 'GLOBAL', helpValue: 'NAME'}),
    yes: Flags.boolean({char: 'y', description: 'apply without asking', helpGroup: 'GLOBAL', default: false}),
    'dry-run': Flags.option({
      options: ['none', 'client', 'server'] as const,
      description: 'client: show the diff only; server: send the writes with dryRun=All',
      helpGroup: 'GLOBAL',
      default: 'none' as const,
    })(),
    output: Flags.option({
      char: 'o',
      options: ['yaml', 'json', 'table', 'wide'] as const,
      description:
        'output format: yaml|json print the desired objects or the result; table fits the terminal, wide prints every cell in full (one line per row)',
      helpGroup: 'GLOBAL',
    })(),
    'show-objects': Flags.boolean({
      description: 'show new objects in full in the plan (by default they are listed by name)',
      helpGroup: 'GLOBAL',
      default: false,
    }),
    'no-pager': Flags.boolean({description: 'do not page long plans (pager: $KNMESH_PAGER, $PAGER, else less -R)', helpGroup: 'GLOBAL', default: false}),
    'request-timeout': Flags.integer({description: 'seconds to wait for each API request (0: no limit)', default: 30, helpGroup: 'GLOBAL', min: 0}),
    // kubectl's connection flags (genericclioptions.ConfigFlags), same names and meaning.
    cluster: Flags.string({description: "kubeconfig cluster to use (instead of the context's)", helpGroup: 'CONNECTION', helpValue: 'NAME'}),
    user: Flags.string({description: "kubeconfig user to use (instead of the context's)", helpGroup: 'CONNECTION', helpValue: 'NAME'}),
    server: Flags.string({char: 's', description: 'address and port of the Kubernetes API server', helpGroup: 'CONNECTION', helpValue: 'URL'}),
    token: Flags.string({description: 'bearer token for authentication to the API server', helpGroup: 'CONNECTION', helpValue: 'TOKEN'}),
    'certificate-authority': Flags.string({description: 'path to a cert file for the certificate authority', helpGroup: 'CONNECTION', helpValue: 'FILE'}),
    'client-certificate': Flags.string({description: 'path to a client certificate file for TLS', helpGroup: 'CONNECTION', helpValue: 'FILE'}),
    'client-key': Flags.string({description: 'path to a client key file for TLS', helpGroup: 'CONNECTION', helpValue: 'FILE'}),
    'insecure-skip-tls-verify': Flags.boolean({
      description: 'do not check the server certificate (connections are then insecure)',
      helpGroup: 'CONNECTION',
      default: false,
    }),
    'tls-server-name': Flags.string({
      description: "server name to use for certificate validation (default: the server's host name)",
      helpGroup: 'CONNECTION',
      helpValue: 'NAME',
    }),
    as: Flags.string({description: 'username to impersonate for the operation (user or service account)', helpGroup: 'CONNECTION', helpValue: 'USER'}),
    'as-group': Flags.string({
      description: 'group to impersonate for the operation (repeat for several groups)',
      helpGroup: 'CONNECTION',
      helpValue: 'GROUP',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'as-uid': Flags.string({description: 'UID to impersonate for the operation', helpGroup: 'CONNECTION', helpValue: 'UID'}),
  }

  static enableJsonFlag = true

  protected kube?: KubeClient

  /** Read-only verbs whose GETs are shared for the whole run (KubeClient.readOnce): status. */
  static sharedReads = false
  /** Read-only verbs (precheck, status, analyze, probe) report on generation 2 when both are present instead of refusing. */
  static readsOnly = false
  /** Verbs that act on both generations at once (migrate-mesh): the base command decides none for them. */
  static spansGenerations = false

  /** The generation decided for this run (verbs with --mesh-namespace), set by client(). */
  private meshDecision?: GenerationDecision & {facts: GenerationFacts}

  protected get baseFlagValues(): {
    kubeconfig?: string
    context?: string
    yes: boolean
    'dry-run': DryRun
    output?: 'yaml' | 'json' | 'table' | 'wide'
    'show-objects': boolean
    'no-pager': boolean
    'request-timeout': number
    namespace?: string
    cluster?: string
    user?: string
    server?: string
    token?: string
    'certificate-authority'?: string
    'client-certificate'?: string
    'client-key'?: string
    'insecure-skip-tls-verify'?: boolean
    'tls-server-name'?: string
    as?: string
    'as-group'?: string[]
    'as-uid'?: string
    json?: boolean
  } {
    return (this as unknown as {parsedFlags: never}).parsedFlags
  }

  private parsedFlags?: Record<string, unknown>

  /** Parses and remembers flags so the base class can read the shared ones. */
  protected async parseFlags<T extends typeof Command>(cmd: T): Promise<{flags: BaseFlags<T>; args: Interfaces.InferredArgs<T['args']>; argv: string[]}> {
    const parsed = await this.parse(cmd as never)
    this.parsedFlags = parsed.flags as Record<string, unknown>
    if (this.parsedFlags.output === 'wide') (await import('./ui/terminal.js')).setWide(true)
    return parsed as never
  }

  /** Machine output wanted: -o json / --json / -o yaml. Human text then goes to stderr. */
  protected get machineOutput(): 'yaml' | 'json' | undefined {
    const f = this.baseFlagValues
    if (f?.json) return 'json'
    return f?.output === 'yaml' || f?.output === 'json' ? f.output : undefined
  }

  /** Renders a verb's Result (see Result): the one place output formats are chosen. Throws `result.error`. */
  protected async render(result: Result): Promise<void> {
    const out = this.machineOutput
    if (this.baseFlagValues?.json) {
      this.printer.data(JSON.stringify(result.data, null, 2))
    } else if (out) {
      if (typeof result.machine === 'function') this.printer.data(await result.machine(out))
      else if (result.machine !== 'done')
        this.printer.data(out === 'json' ? JSON.stringify(result.data, null, 2) : (await import('yaml')).stringify(result.data))
    } else {
      if (result.table?.rows.length) await this.printer.table(result.table.head, result.table.rows)
      if (result.footer) this.printer.info(result.footer)
      for (const line of result.notes ?? []) this.printer.info(line)
    }
    for (const w of result.warnings ?? []) this.printer.warn(w)
    if (result.error) throw result.error
  }

  /** A verb returns its Result; oclif's run contract (any) is narrowed so that every verb does. */
  abstract override run(): Promise<Result>

  /**
   * oclif's Command._run, owned here so output is rendered in one place: run() → render() (table, -o json|yaml,
   * --json), errors → catch() (one line, or JSON with -o json/--json), then finally(). Returns `data`.
   */
  protected override async _run<T>(): Promise<T> {
    let err: Error | undefined
    let result: Result | undefined
    try {
      await this.init()
      result = await this.run()
      await this.render(result)
    } catch (error) {
      err = error as Error
      await this.catch(err)
    } finally {
      await this.finally(err)
    }
    return result?.data as T
  }

  protected get printer(): Printer {
    const toErr = Boolean(this.machineOutput)
    const w = (s: string) => (toErr ? process.stderr : process.stdout).write(this.named(s) + '\n')
    return {
      info: w,
      warn: (s) => process.stderr.write(`warning: ${this.named(s)}\n`),
      data: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
      // Cells are named before the table is fitted: naming after wrapping would widen lines past the terminal.
      // ui/table (cli-table3, string-width) is loaded by the verbs that print a table, not at every start.
      table: async (head, rows, opts) => {
        const {table} = await import('./ui/table.js')
        const text = table(
          head,
          rows.map((r) => r.map((c) => (typeof c === 'string' ? this.named(c) : c))),
          opts,
        )
        ;(toErr ? process.stderr : process.stdout).write(text + '\n')
      },
    }
  }

  protected get interactive(): boolean {
    return Boolean(process.stdin.isTTY && process.stdout.isTTY)
  }

  protected get color(): boolean {
    return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !this.machineOutput
  }

  protected async client(): Promise<KubeClient> {
    if (!this.kube) {
      const f = this.baseFlagValues
      const {KubeClient} = await import('./kube/client.js')
      this.kube = await KubeClient.connect({
        kubeconfig: f.kubeconfig,
        context: f.context,
        namespace: f.namespace,
        requestTimeoutMs: f['request-timeout'] * 1000,
        ...connectionFlags(f),
      })
      // A read-only verb that reads through several readers shares its GETs from the first one on (the mesh
      // checks below included): see KubeClient.readOnce.
      if ((this.constructor as typeof KnmeshCommand).sharedReads) this.kube.readOnce()
      await this.checkMeshNamespace(this.kube)
      await this.decideMeshGeneration(this.kube)
    }
    return this.kube
  }

  /**
   * Verbs with --mesh-namespace: decides the Service Mesh generation once (src/read/generation.ts), prints
   * it as one info line (every such verb acts on both generations). Throws UsageError (exit 2)
   * when both generations serve the mesh namespace and a writing verb got no --mesh-version.
   */
  private async decideMeshGeneration(client: KubeClient): Promise<void> {
    const mesh = this.parsedFlags?.['mesh-namespace']
    const ctor = this.constructor as typeof KnmeshCommand
    if (typeof mesh !== 'string' || ctor.spansGenerations) return
    const flag = this.parsedFlags?.['mesh-version'] as '2' | '3' | undefined
    const {readGeneration} = await import('./read/generation.js')
    const d = await readGeneration(client, mesh, flag ? (Number(flag) as MeshGeneration) : undefined, {write: !ctor.readsOnly})
    this.meshDecision = d
    // Said when it is not the 2.x every verb assumed before Service Mesh 3: on mesh 3, or when both serve the
    // namespace. status says it on every generation (its "generation" row).
    if (d.generation === 3 || d.both) this.printer.info(d.line)
  }

  /** The Service Mesh generation this run acts on (verbs with --mesh-namespace); 2 when none was found. */
  protected async meshGeneration(): Promise<GenerationDecision & {generation: MeshGeneration; facts: GenerationFacts}> {
    await this.client()
    const d = this.meshDecision
    if (!d) throw new Error(`${this.id} has no --mesh-namespace flag`)
    return {...d, generation: d.generation ?? 2}
  }

  /**
   * Every verb with --mesh-namespace checks it first, before any other read or diff: a typo is one
   * MissingError (exit 6) naming the namespace that holds a ServiceMeshControlPlane (src/mesh/exists.ts).
   */
  private async checkMeshNamespace(client: KubeClient): Promise<void> {
    const mesh = this.parsedFlags?.['mesh-namespace']
    if (typeof mesh !== 'string') return
    const {requireMeshNamespace} = await import('./read/exists.js')
    await requireMeshNamespace(client, mesh, this.config.bin)
  }

  /**
   * The one namespace scope of -n / --namespaces / -A / --all-members (whichever the verb has; oclif's `exclusive`
   * keeps them apart): --all-members: the member roll's namespaces besides knative-serving and knative-eventing
   * (maybe none; KnmeshError exit 4 when `mesh` has no ServiceMeshMemberRoll); on Service Mesh 3 the namespaces
   * labeled for the Istio's injection (istio-injection=enabled or istio.io/rev=REV), besides those two; --namespaces or -n: those, each
   * checked to exist (MissingError exit 6) unless `require: false`; -A: null (every namespace); none of them: the
   * context's namespace (`fallback: 'context'`, checked to exist) or null (`fallback: 'cluster'`).
   * `memberRoll`: the ServiceMeshMemberRoll --all-members read, for a reader that needs it again (read once).
   */
  protected async namespaceScope(
    f: ScopeFlags,
    opts: {mesh?: string; fallback: 'context' | 'cluster'; require?: boolean},
  ): Promise<{namespaces: string[] | null; memberRoll?: KObject}> {
    if (f['all-members']) {
      const mesh = opts.mesh ?? DEFAULT_MESH_NAMESPACE
      // Service Mesh 3 has no member roll: the namespaces labeled for its injection are the members.
      if (this.meshDecision === undefined && typeof this.parsedFlags?.['mesh-namespace'] === 'string') await this.client()
      if (this.meshDecision?.generation === 3) {
        const istio = this.meshDecision.istio
        if (!istio) throw new KnmeshError(`there is no Istio (sailoperator.io/v1) with spec.namespace ${mesh}: use -n, or pass --mesh-namespace`)
        const {readMemberNamespaces3} = await import('./read/members.js')
        return {namespaces: await readMemberNamespaces3(await this.client(), istio)}
      }
      const {readMemberRoll} = await import('./read/members.js')
      const {memberNamespacesOf} = await import('./mesh/members.js')
      const memberRoll = await readMemberRoll(await this.client(), mesh)
      if (memberRoll === null) throw new KnmeshError(`there is no ServiceMeshMemberRoll "default" in ${mesh}: use -n, or add namespaces with add-namespace`)
      return {namespaces: memberNamespacesOf(memberRoll) ?? [], memberRoll}
    }
    const listed = f.namespaces ?? (f.namespace ? [f.namespace] : undefined)
    if (listed) {
      if (opts.require !== false) await this.requireNamespaces(listed)
      return {namespaces: listed}
    }
    if (f['all-namespaces'] || opts.fallback === 'cluster') return {namespaces: null}
    return {namespaces: [await this.namespace()]}
  }

  /** The namespace of -n, else the context's. Throws MissingError (exit 6) when it does not exist. */
  protected async namespace(): Promise<string> {
    const client = await this.client()
    await this.requireNamespaces([client.namespace])
    return client.namespace
  }

  /** Namespaces named on the command line exist, before any plan or diff: else MissingError (exit 6). */
  protected async requireNamespaces(names: string[]): Promise<void> {
    const {requireNamespaces} = await import('./read/exists.js')
    await requireNamespaces(await this.client(), names)
  }

  /**
   * Runs a writing verb through the change engine. Returns a summary that is
   * safe to print (--json): what changed and the desired objects, server
   * fields stripped and Secret values redacted — never the live objects.
   */
  protected async change<S>(
    spec: ChangeSpec<S>,
    extra: {question?: string; concurrency?: number; summarizeOver?: number; onApplied?: (d: number, t: number) => void} = {},
  ): Promise<Result<ChangeReport>> {
    const {runChanges} = await import('./change/engine.js')
    const {confirm} = await import('./ui/prompt.js')
    const {terminalWidth, terminalHeight, pagerCommand} = await import('./ui/terminal.js')
    const f = this.baseFlagValues
    // Human text on stdout: fit the terminal and page long details; with -o yaml|json it goes to stderr, unpaged.
    const pager = this.machineOutput ? undefined : pagerCommand({noPager: f['no-pager']})
    const recorder = await this.journal()
    const result = await runChanges(await this.client(), spec, {
      yes: f.yes,
      dryRun: f['dry-run'],
      // --json prints the summary below (oclif); -o yaml|json print the desired objects.
      output: f.json ? undefined : (this.machineOutput ?? f.output),
      color: this.color,
      interactive: this.interactive,
      printer: this.printer,
      confirm,
      showObjects: f['show-objects'],
      width: this.machineOutput ? undefined : terminalWidth(),
      height: this.machineOutput ? undefined : terminalHeight(),
      page: pager ? async (text) => (await import('./ui/pager.js')).page(text, pager) : undefined,
      recorder,
      ...extra,
    }).finally(() => recorder?.end())
    if (result.changes.length > 0 && !this.machineOutput) {
      await this.printer.table(
        ['action', 'kind', 'namespace', 'name', 'result'],
        result.changes.map((c) => [c.action, c.kind, c.namespace ?? '', c.name, c.result]),
      )
    }
    const {redact, stripServerFields} = await import('./kube/objects.js')
    const data: ChangeReport = {
      applied: result.applied,
      noop: result.noop,
      changes: result.changes,
      objects: result.plan.items.filter((i) => i.desired).map((i) => redact(stripServerFields(i.desired!))),
      notes: result.plan.notes,
    }
    // -o yaml|json: the engine printed the desired objects; --json prints this summary.
    return {data, machine: 'done'}
  }

  /** For the undo verb: the change set its own change set undoes (recorded in the journal). */
  protected journalUndoes?: string

  /**
   * The change journal's recorder for this run (src/journal/store.ts): every change set a verb applies is
   * recorded (before-images, then the resourceVersions written) so that "knmesh undo" can restore it.
   * None for a dry run. The caller calls end() once the engine is done. `bulk` (runBulk): the change set is
   * appended to its file as it goes, one line per change written, so memory does not grow with the run.
   */
  protected async journal(opts: {bulk?: boolean} = {}): Promise<import('./journal/store.js').ChangeRecorder | undefined> {
    if (this.baseFlagValues['dry-run'] !== 'none') return undefined
    const client = await this.client()
    const {journalRecorder, bulkJournalRecorder} = await import('./journal/store.js')
    const {scrubArgs} = await import('./journal/entry.js')
    return (opts.bulk ? bulkJournalRecorder : journalRecorder)(
      {
        verb: this.id ?? '',
        args: scrubArgs(this.argv),
        context: client.contextName,
        server: client.server.href,
        ...(this.journalUndoes ? {undoes: this.journalUndoes} : {}),
      },
      (text) => this.printer.warn(text),
    )
  }

  /**
   * Every hint names a verb as the user calls it: a bare "knmesh VERB" written by a planner, note
   * or error becomes "oc knmesh VERB" / "kubectl knmesh VERB" (this.config.bin); invoked as kubectl, the
   * hints' oc commands that kubectl has too ("oc rollout restart …", "oc get …") name kubectl
   * (OpenShift-only ones such as "oc login" stay). Human text only: -o yaml|json data and objects are never
   * rewritten.
   */
  protected named(text: string): string {
    const ids = this.config?.commandIDs
    const asKubectl = this.config?.bin?.startsWith('kubectl') ? text.replace(KUBECTL_TOO, 'kubectl $1') : text
    if (!ids?.length || !asKubectl.includes('knmesh ')) return asKubectl
    const verbs = [...ids].sort((a, b) => b.length - a.length).join('|')
    return asKubectl.replace(new RegExp(`(?<![\\w./-]|oc |kubectl )knmesh (?=(?:${verbs})\\b)`, 'g'), `${this.config.bin} `)
  }

  /**
   * One line on stderr, a documented exit code; the stack only with DEBUG=knmesh*. With -o json or --json the line
   * is JSON, `{"error":{"message":"…","exitCode":N}}` (stdout keeps only the data, as kubectl keeps it).
   */
  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    if (debugEnabled && err.stack) process.stderr.write(err.stack + '\n')
    const fail = (message: string, exitCode: number, prefix = 'error: ') => {
      process.stderr.write(this.wantsJson() ? JSON.stringify({error: {message, exitCode}}) + '\n' : `${prefix}${message}\n`)
      process.exitCode = exitCode
    }
    if (err instanceof KnmeshError) {
      // "no" at the prompt and Ctrl-C are what the person asked for, not errors.
      const quiet = err instanceof DeclinedError || err instanceof InterruptedError
      // A flag's own parser (Flags.custom) threw it: oclif wrapped the message in "Parsing --flag … See more help".
      const message = /^Parsing --[\w-]+ \n\t([^]*)\nSee more help with --help$/.exec(err.message)?.[1] ?? err.message
      fail(this.named(message), err.exitCode, quiet ? '' : 'error: ')
      return
    }
    const oclifExit = err.oclif?.exit
    if (oclifExit === 0) return
    if (err.name === 'ExitError' || (oclifExit !== undefined && err.name === 'EEXIT')) {
      process.exitCode = oclifExit
      return
    }
    if (oclifExit !== undefined) {
      // Parse errors: flags and arguments. Keep the first line and point at --help.
      const lines = err.message
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('See more help'))
      // oclif's wrappers carry no information of their own: "Parsing --days" + the reason, "The following error occurred:" + it.
      const parsing = /^Parsing (--[\w-]+)$/.exec(lines[0] ?? '')
      const first =
        parsing && lines[1]
          ? `${parsing[1]}: ${lines[1]}`
          : lines[0] === 'The following error occurred:' && lines[1]
            ? lines[1]
            : lines[0]?.endsWith(':') && lines[1]
              ? `${lines[0]} ${lines[1].replace(/\s{2,}/g, ' — ')}`
              : (lines[0] ?? err.message)
      fail(`${first} (see ${this.config.bin} ${this.id} --help)`, ExitCode.USAGE)
      return
    }
    fail(err.message.split('\n')[0], 1)
  }

  /** -o json or --json was asked for: from the parsed flags, else (a parse error) from the command line. */
  private wantsJson(): boolean {
    if (this.parsedFlags) return this.machineOutput === 'json'
    const argv = this.argv.slice(0, Math.max(0, this.argv.indexOf('--')) || undefined)
    return argv.some(
      (a, i) => a === '--json' || a === '-ojson' || a === '-o=json' || a === '--output=json' || ((a === '-o' || a === '--output') && argv[i + 1] === 'json'),
    )
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    this.kube?.close()
    return super.finally(err)
  }
}
