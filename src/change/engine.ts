import jsonPatch from 'fast-json-patch'
import {boundHeap, pool} from './bulk.js'
import {ConflictError, DeclinedError, ExitCode, ForbiddenError, KnmeshError, NotAppliedError, PartialError} from '../errors.js'
import type {ChangeRecorder} from '../journal/store.js'
import type {KubeClient, JsonPatchOp} from '../kube/client.js'
import {kindOf} from '../kube/kinds.js'
import {key, type DryRun, type KObject} from '../kube/types.js'
import {redact, stripServerFields} from '../kube/objects.js'
import {renderChange, summaryPhrase, toYaml} from '../ui/diff.js'
import type {Printer} from '../ui/printer.js'
import {accessOf, describeDenied, deniedAccess, requireAccess, type Access, type AccessCache} from './access.js'
import {actionOf, changesOf, type Action, type Plan, type PlanItem} from './plan.js'

export interface ChangeSpec<S> {
  /** Reads the live objects the verb needs. */
  read(client: KubeClient): Promise<S>
  /** Pure: the desired objects for that state. */
  plan(state: S): Plan
}

export interface EngineOptions {
  yes: boolean
  dryRun: DryRun
  output?: 'yaml' | 'json' | 'table' | 'wide'
  color: boolean
  /** Whether a person can be asked (stdin and stdout are terminals). */
  interactive: boolean
  printer: Printer
  confirm(message: string): Promise<boolean>
  /** What the verb does, for the prompt: "Apply these changes?" by default. */
  question?: string
  maxRetries?: number
  /** Above this many changes the diff is a summary, not one diff per object. */
  summarizeOver?: number
  /** Writes sent at once (1: in plan order). */
  concurrency?: number
  /**
   * Called after each applied change (progress bars). `exact` is false while a streamed run
   * (runBulk with --yes) is still listing: `total` is then the changes found so far, not the end.
   */
  onApplied?(done: number, total: number, exact?: boolean): void
  /** Print new objects in full (--show-objects, -o yaml); by default a create is one line in the details. */
  showObjects?: boolean
  /** Columns of the terminal (undefined: no limit): summary lines are cut to fit. */
  width?: number
  /** Rows of the terminal (undefined: not a terminal): the summary fits them; longer details are paged. */
  height?: number
  /**
   * Shows the details through a pager and resolves once it quits; false when the pager
   * could not start (the details are then printed). Absent: no pager (not a TTY, CI, --no-pager).
   */
  page?(text: string): Promise<boolean>
  /** The change journal (src/journal): told the changes before they are written, then each write's result. */
  recorder?: ChangeRecorder
}

export interface AppliedChange {
  action: Exclude<Action, 'unchanged'>
  kind: string
  namespace?: string
  name: string
  result: 'applied' | 'dry-run' | 'failed'
  error?: string
}

export interface EngineResult {
  /** The final plan (after any re-plan). */
  plan: Plan
  changes: AppliedChange[]
  applied: boolean
  noop: boolean
}

/**
 * The change engine: read → plan → diff → permissions → confirm → apply with optimistic
 * concurrency, re-reading and re-planning on 409 Conflict.
 * Throws NotAppliedError/DeclinedError (exit 3) when not confirmed; ForbiddenError (exit 4) naming every
 * missing permission of a plan of several objects (SelfSubjectAccessReview, src/change/access.ts; not with
 * --dry-run=client), before anything is written; PartialError (exit 8) when the API server fails after some
 * writes were made (the message names the applied and the not applied changes); KnmeshError with exit 5 when
 * conflicts outlast maxRetries; a KubeError (exit 4) when the first write fails.
 */
export async function runChanges<S>(client: KubeClient, spec: ChangeSpec<S>, opts: EngineOptions): Promise<EngineResult> {
  const p = opts.printer
  let plan = spec.plan(await spec.read(client))
  for (const n of plan.notes) (n.level === 'warning' ? p.warn : p.info)(n.text)
  let changes = changesOf(plan)

  if (opts.output === 'yaml' || opts.output === 'json') printDesired(plan, opts)
  if (changes.length === 0) {
    p.info('nothing to do: the cluster already matches')
    return {plan, changes: [], applied: false, noop: true}
  }
  const summary = new ChangeSummary()
  for (const c of changes) summary.add(c)
  await presentChanges(summary, changes, opts)

  if (opts.dryRun === 'client') {
    p.info(`dry run (client): ${changes.length} change(s) shown, nothing applied`)
    return {plan, changes: changes.map((c) => describe(c, 'dry-run')), applied: false, noop: false}
  }
  // Permissions up front: one SelfSubjectAccessReview per verb/resource/namespace; a refusal names them all.
  if (changes.length > 1) await requireAccess(client, changes)
  if (!opts.yes) {
    if (!opts.interactive) {
      throw new NotAppliedError(`${changes.length} change(s) not applied: no terminal to confirm on; run again with --yes to apply`)
    }
    const ok = await opts.confirm(question(summary, opts))
    if (!ok) throw new DeclinedError('aborted: nothing changed')
  }

  const serverDryRun = opts.dryRun === 'server'
  const maxRetries = opts.maxRetries ?? 12
  for (let attempt = 0; ; attempt++) {
    try {
      if (!serverDryRun && changes.length > 1 && changes.length <= (opts.summarizeOver ?? 25)) {
        // Preflight: the server validates and authorizes every write before any is made,
        // so a refusal (403, 422) leaves the cluster as it was. An object in a Namespace this plan creates
        // cannot be sent before the Namespace exists (not even as a dry run): it is checked when written.
        const creating = new Set(
          changes.filter((c) => c.action === 'create' && c.desired?.kind === 'Namespace' && c.desired.apiVersion === 'v1').map((c) => c.desired!.metadata.name),
        )
        const preflight = changes.filter((c) => !creating.has((c.desired ?? c.live)!.metadata.namespace ?? ''))
        if (preflight.length) await applyAll(client, preflight, {...opts, onApplied: undefined}, true)
      }
      // The journal records the change set (before-images) before the first write.
      const journalBase = serverDryRun ? undefined : opts.recorder?.record(changes, true)
      // Changes written so far, in plan order with concurrency 1 (for the partial-apply message).
      let written = 0
      let done: AppliedChange[]
      try {
        done = await applyAll(client, changes, {...opts, journalBase, onApplied: (d, t, e) => ((written = d), opts.onApplied?.(d, t, e))}, serverDryRun)
      } catch (error) {
        if (serverDryRun || written === 0 || error instanceof ConflictError) throw error
        throw partial(changes.slice(0, written), changes.slice(written), error as Error)
      }
      const failed = done.filter((d) => d.result === 'failed')
      if (failed.length > 0 && !serverDryRun && failed.length < done.length) {
        throw partial(
          changes.filter((_, i) => done[i].result !== 'failed'),
          changes.filter((_, i) => done[i].result === 'failed'),
          new Error(failed[0].error),
        )
      }
      if (failed.length > 0 && !(opts.concurrency && opts.concurrency > 1)) throw new KnmeshError(failed[0].error!)
      return {plan, changes: done, applied: !serverDryRun, noop: false}
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= maxRetries) {
        if (error instanceof ConflictError) {
          throw new KnmeshError(`gave up after ${attempt + 1} conflicting updates: ${error.message}`, ExitCode.CONFLICT)
        }
        throw error
      }
      // Someone else changed an object since we read it: read again, plan again.
      await sleep(Math.min(1000, 25 * 2 ** attempt) * (0.5 + Math.random()))
      plan = spec.plan(await spec.read(client))
      changes = changesOf(plan)
      p.info(`conflict: re-read and re-planned (attempt ${attempt + 2})`)
      if (changes.length === 0) {
        p.info('nothing left to do after re-reading: the cluster already matches')
        return {plan, changes: [], applied: false, noop: true}
      }
    }
  }
}

/** Names shown per list in the partial-apply message; more are counted. */
const MAX_NAMED_CHANGES = 10

function names(list: Change[]): string {
  const shown = list.slice(0, MAX_NAMED_CHANGES).map((c) => {
    const o = (c.desired ?? c.live)!
    return `${c.action} ${o.kind}/${o.metadata.namespace ? o.metadata.namespace + '/' : ''}${o.metadata.name}`
  })
  return shown.join(', ') + (list.length > shown.length ? ` and ${list.length - shown.length} more` : '')
}

/**
 * Exit 8: "partially applied: 3 of 8 change(s) applied (create AuthorizationPolicy/a/x, …); not applied: … (cause)".
 * Every write is one atomic request, so nothing is half-written and the same command finishes the rest.
 */
function partial(applied: Change[], notApplied: Change[], cause: Error): PartialError {
  const total = applied.length + notApplied.length
  return new PartialError(
    `partially applied: ${applied.length} of ${total} change(s) applied (${names(applied)}); not applied: ${names(notApplied)}; because: ${cause.message.split('\n')[0]}. Each write is whole: run the same command again to finish`,
  )
}

function describe(c: PlanItem & {action: Exclude<Action, 'unchanged'>}, result: AppliedChange['result'], error?: string): AppliedChange {
  const obj = (c.desired ?? c.live)!
  return {action: c.action, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name, result, ...(error ? {error} : {})}
}

function printDesired(plan: Plan, opts: EngineOptions): void {
  // Secret values are never printed, in JSON either.
  const objs = plan.items.filter((i) => i.desired).map((i) => redact(stripServerFields(i.desired!)))
  if (opts.output === 'yaml') opts.printer.data(objs.map((o) => toYaml(o)).join('---\n'))
  else opts.printer.data(JSON.stringify(objs.length === 1 ? objs[0] : {apiVersion: 'v1', kind: 'List', items: objs}, null, 2))
}

type Change = PlanItem & {action: Exclude<Action, 'unchanged'>}

/**
 * The presentation step: a summary that fits one screen (counts per action, kind and
 * namespace, and the first names), then the details: one diff per update, one line per
 * create (the whole object with showObjects) and per delete. More than summarizeOver
 * changes (or `changes` absent, a streamed plan): the summary only. On a terminal,
 * details that do not fit under the summary go through opts.page.
 */
export async function presentChanges(summary: ChangeSummary, changes: Change[] | undefined, opts: EngineOptions): Promise<void> {
  const p = opts.printer
  const limit = opts.summarizeOver ?? 25
  // Leave room for the question and the line the terminal scrolls by.
  const summaryLines = summary.lines({width: opts.width, maxGroups: opts.height ? Math.max(3, opts.height - 4) : changes ? undefined : 20, color: opts.color})
  for (const l of summaryLines) p.info(l)
  if (!changes || summary.total > limit) {
    p.info(`(${summary.total} changes are summarized, not shown one by one${changes ? '; -o yaml prints the objects' : ''})`)
    return
  }
  const hidden = opts.showObjects ? 0 : changes.filter((c) => c.action === 'create').length
  const details = changes.map((c) =>
    renderChange(c.action, c.live, c.desired, opts.color, {body: c.action !== 'create' || Boolean(opts.showObjects)}).trimEnd(),
  )
  if (hidden)
    details.push(`(${hidden} new object${hidden > 1 ? 's' : ''} listed, not shown: --show-objects or -o yaml prints ${hidden > 1 ? 'them' : 'it'} in full)`)
  const text = details.join('\n')
  // Rows on the screen: a line wider than the terminal takes several.
  const rows = text.split('\n').reduce((n, l) => n + (opts.width ? Math.max(1, Math.ceil(l.replace(/\u001B\[[0-9;]*m/g, '').length / opts.width)) : 1), 0)
  if (opts.page && opts.height && summaryLines.length + rows + 2 > opts.height && (await opts.page(text))) return
  p.info(text)
}

/**
 * The confirmation: the summary on one line, then "Apply N change(s)?" (or the verb's own
 * question), fitted to the terminal's width (80 when unknown, as the prompt assumes) with
 * the prompt's "? " and " (y/N)" around it, so the question is never cut.
 */
function question(summary: ChangeSummary, opts: EngineOptions): string {
  const ask = opts.question ?? `Apply ${summary.total} change(s)?`
  return `${summary.oneLine((opts.width ?? 80) - ask.length - '? : (y/N)'.length - 2)}: ${ask}`
}

/** Thousands of changes: counts per action, kind and namespace, and the first few names (memory per group, not per object). */
export class ChangeSummary {
  total = 0
  private readonly groups = new Map<string, {action: string; count: number; names: string[]}>()
  /** Per action and kind: how many and in which namespaces, for the one-line summary. */
  private readonly kinds = new Map<string, {action: string; kind: string; count: number; namespaces: Set<string>}>()

  add(c: Change): void {
    const o = (c.desired ?? c.live)!
    const g = `${c.action} ${o.kind}${o.metadata.namespace ? ` in ${o.metadata.namespace}` : ''}`
    const entry = this.groups.get(g) ?? {action: c.action, count: 0, names: []}
    entry.count++
    if (entry.names.length < 4) entry.names.push(o.metadata.name)
    this.groups.set(g, entry)
    const k = `${c.action} ${o.kind}`
    const kind = this.kinds.get(k) ?? {action: c.action, kind: o.kind, count: 0, namespaces: new Set<string>()}
    kind.count++
    if (o.metadata.namespace) kind.namespaces.add(o.metadata.namespace)
    this.kinds.set(k, kind)
    this.total++
  }

  /**
   * "N changes:" and one line per action, kind and namespace: "  update Secret in ns: 600 (a, b, c, …)".
   * At most maxGroups group lines (then "… and N more group(s)"); each cut to `width` columns.
   */
  lines(opts: {width?: number; maxGroups?: number; color?: boolean} = {}): string[] {
    const max = opts.maxGroups ?? Number.POSITIVE_INFINITY
    const out = [`${this.total} change${this.total === 1 ? '' : 's'}:`]
    const groups = [...this.groups]
    const shown = groups.length > max ? Math.max(1, max - 1) : groups.length
    for (const [g, {action, count, names}] of groups.slice(0, shown)) {
      const head = names.slice(0, 3).join(', ')
      let line = `  ${g}: ${count} (${head}${count > 3 ? ', …' : ''})`
      if (opts.width && line.length > opts.width) line = line.slice(0, Math.max(1, opts.width - 2)) + '…)'
      out.push(opts.color ? line.replace(action, paint(action)) : line)
    }
    if (groups.length > shown) out.push(`  … and ${groups.length - shown} more group(s)`)
    return out
  }

  /**
   * "create 10 AuthorizationPolicies in 3 namespaces, update 1 ServiceMeshMemberRoll in istio-system",
   * shortened until it fits `width`: a single namespace dropped, then every namespace, then the
   * last kinds folded into "+N more"; at worst "N changes".
   */
  oneLine(width = Number.POSITIVE_INFINITY): string {
    const kinds = [...this.kinds.values()]
    const phrases = (level: number) =>
      kinds.map((k) => summaryPhrase(k.action, k.kind, k.count, level === 0 || (level === 1 && k.namespaces.size > 1) ? [...k.namespaces] : []))
    for (const level of [0, 1, 2]) {
      const line = phrases(level).join(', ')
      if (line.length <= width) return line
    }
    const short = phrases(2)
    for (let n = kinds.length - 1; n >= 1; n--) {
      const rest = kinds.slice(n).reduce((a, k) => a + k.count, 0)
      const line = `${short.slice(0, n).join(', ')}, +${rest} more`
      if (line.length <= width) return line
    }
    return `${this.total} change${this.total === 1 ? '' : 's'}`
  }

  /** Kept for callers that print straight to a printer. */
  print(printer: Printer, maxGroups = Number.POSITIVE_INFINITY): void {
    for (const l of this.lines({maxGroups})) printer.info(l)
  }
}

function paint(action: string): string {
  const code = action === 'create' ? 32 : action === 'update' ? 33 : 31
  return `\u001B[${code}m${action}\u001B[0m`
}

export function patchOps(live: KObject, desired: KObject): JsonPatchOp[] {
  const a = stripServerFields(live, true)
  const b = stripServerFields(desired, true)
  const ops = jsonPatch.compare(a, b) as JsonPatchOp[]
  // The live resourceVersion makes the patch conditional: 409 if the object changed since it was read.
  return [...ops, {op: 'replace', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion}]
}

/** Sends one change; returns what the server answered (metadata only; undefined for a delete). */
export async function applyOne(client: KubeClient, c: PlanItem & {action: Exclude<Action, 'unchanged'>}, serverDryRun: boolean): Promise<KObject | undefined> {
  const obj = (c.desired ?? c.live)!
  const info = kindOf(obj)
  // The written object comes back as metadata only: a Secret's data is never downloaded.
  const o = {serverDryRun, metadataOnly: true}
  if (c.action === 'create') {
    return client.create(stripServerFields(c.desired!, true), o)
  } else if (c.action === 'update' && c.mergePatch) {
    return client.mergePatch(info, obj.metadata.name, obj.metadata.namespace, c.mergePatch, o)
  } else if (c.action === 'update') {
    return client.patch(info, obj.metadata.name, obj.metadata.namespace, patchOps(c.live!, c.desired!), o)
  } else {
    await client.delete(info, obj.metadata.name, obj.metadata.namespace, {serverDryRun, resourceVersion: c.live!.metadata.resourceVersion})
  }
}

async function applyAll(
  client: KubeClient,
  changes: (PlanItem & {action: Exclude<Action, 'unchanged'>})[],
  opts: EngineOptions & {signal?: AbortSignal; recordFailures?: boolean; journalBase?: number},
  serverDryRun: boolean,
): Promise<AppliedChange[]> {
  const concurrency = Math.max(1, opts.concurrency ?? 1)
  const results: AppliedChange[] = new Array(changes.length)
  let done = 0
  // An aborted run starts no new write; the ones in flight finish (each is atomic).
  await pool(
    changes,
    concurrency,
    async (c, i) => {
      try {
        const answer = await applyOne(client, c, serverDryRun)
        results[i] = describe(c, serverDryRun ? 'dry-run' : 'applied')
        if (opts.journalBase !== undefined) opts.recorder?.written(opts.journalBase + i, answer)
      } catch (error) {
        if (opts.journalBase !== undefined) opts.recorder?.written(opts.journalBase + i, undefined, (error as Error).message)
        // In order (concurrency 1) the first failure stops the run; in bulk each failure is recorded.
        if (concurrency === 1 && !opts.recordFailures) throw error
        results[i] = describe(c, 'failed', (error as Error).message)
      }
      opts.onApplied?.(++done, changes.length, true)
    },
    opts.signal,
  )
  return results
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export {key}

/**
 * A plan too big to hold at once (tens of thousands of objects): the planner
 * yields it one page at a time, each page planned from that page's objects.
 */
export interface BulkSpec {
  /** Called once per pass (a summary pass before a confirmation, then the apply pass). */
  pages(client: KubeClient): AsyncIterable<Plan>
  /**
   * Permissions every write may need, known before listing (e.g. patch secrets in each namespace given):
   * checked before the first write with --yes too, so a refusal on a later page applies nothing either.
   */
  needs?: Access[]
}

export interface BulkCounts {
  /** Applied (or sent with dryRun=All; or, with --dry-run=client, that would be applied). */
  changed: number
  unchanged: number
  failed: number
}

export interface BulkResult extends BulkCounts {
  /** Counts per namespace ('' for cluster-scoped objects). */
  byNamespace: Map<string, BulkCounts>
  /** Failure reason → how many and the first few objects. */
  failures: Map<string, {count: number; names: string[]}>
  applied: boolean
  noop: boolean
  /** Stopped early by the signal: the rest is left for the next run. */
  interrupted: boolean
  /**
   * Why the apply pass stopped before the listing ended (a read of the next page failed, e.g. the API server
   * went away): the rest is left for the next run. Thrown instead when nothing had been applied.
   */
  stopped?: string
}

/**
 * runChanges for a streamed plan: a summary (counts per namespace and the
 * first few names) instead of one diff per object, then the changes applied
 * page by page with bounded concurrency, each failure recorded (not fatal).
 * Memory holds two pages (the one being applied and the next being read) and
 * per-namespace counts, never the whole plan, and the heap is kept flat (boundHeap). Each change is one atomic write,
 * so an interrupted run leaves no half-written object and the next run
 * finishes the rest. Permissions are checked once each (SelfSubjectAccessReview): all of them before the
 * question, else spec.needs before the first write and each page's before that page; a refusal throws
 * ForbiddenError (exit 4) when nothing was written yet. A listing that fails after some writes ends the run
 * with `stopped` set (the caller reports exit 8) instead of throwing.
 */
export async function runBulk(client: KubeClient, spec: BulkSpec, opts: EngineOptions & {signal?: AbortSignal}): Promise<BulkResult> {
  boundHeap()
  const p = opts.printer
  const seenNotes = new Set<string>()
  const notes = (plan: Plan) => {
    for (const n of plan.notes) {
      if (seenNotes.has(n.text)) continue
      seenNotes.add(n.text)
      ;(n.level === 'warning' ? p.warn : p.info)(n.text)
    }
  }
  const result: BulkResult = {changed: 0, unchanged: 0, failed: 0, byNamespace: new Map(), failures: new Map(), applied: false, noop: false, interrupted: false}
  const count = (ns: string | undefined, field: keyof BulkCounts, n = 1) => {
    if (n === 0) return
    const c = result.byNamespace.get(ns ?? '') ?? {changed: 0, unchanged: 0, failed: 0}
    c[field] += n
    result.byNamespace.set(ns ?? '', c)
    result[field] += n
  }
  const limit = opts.summarizeOver ?? 25
  // One SelfSubjectAccessReview per permission for the whole run (one change stands for each).
  const access: AccessCache = new Map()

  // Summary pass: needed to confirm, or for --dry-run=client. Keeps counts and the first few changes only.
  let total: number | undefined
  if (!opts.yes || opts.dryRun === 'client') {
    const summary = new ChangeSummary()
    const firstFew: Change[] = []
    const needed = new Map<string, Change>()
    for await (const plan of spec.pages(client)) {
      notes(plan)
      for (const item of plan.items) {
        const action = actionOf(item)
        const obj = (item.desired ?? item.live)!
        if (action === 'unchanged') {
          count(obj.metadata.namespace, 'unchanged')
          continue
        }
        const c = {...item, action}
        const a = accessOf(c)
        needed.set(`${a.verb} ${a.group} ${a.resource} ${a.namespace}`, c)
        summary.add(c)
        if (firstFew.length <= limit) firstFew.push(c)
        if (opts.dryRun === 'client') count(obj.metadata.namespace, 'changed')
      }
    }
    total = summary.total
    if (total === 0) {
      p.info('nothing to do: the cluster already matches')
      return {...result, noop: true}
    }
    await presentChanges(summary, total <= limit ? firstFew : undefined, opts)
    if (opts.dryRun === 'client') {
      p.info(`dry run (client): ${total} change(s) shown, nothing applied`)
      return result
    }
    // Permissions up front, for every page at once: a refusal names them all, nothing applied.
    await requireAccess(client, needed.values(), access)
    if (!opts.yes) {
      if (!opts.interactive) throw new NotAppliedError(`${total} change(s) not applied: no terminal to confirm on; run again with --yes to apply`)
      if (!(await opts.confirm(question(summary, opts)))) throw new DeclinedError('aborted: nothing changed')
    }
    result.unchanged = 0
    result.byNamespace.clear()
  }

  // Permissions known before listing (the summary pass checked what it found).
  if (spec.needs?.length && total === undefined) {
    const denied = await deniedAccess(client, spec.needs, access)
    if (denied.length) throw new ForbiddenError(`forbidden: ${describeDenied(denied)}; nothing was applied (check with kubectl auth can-i)`, 403, 'Forbidden')
  }

  // Apply pass: read the next page while this one is written.
  const serverDryRun = opts.dryRun === 'server'
  const pages = spec.pages(client)[Symbol.asyncIterator]()
  let next = pages.next()
  let done = 0
  let found = 0
  // Without a summary pass the total is known only once the listing ends (the last page read).
  let listed = total !== undefined
  while (!opts.signal?.aborted) {
    let step: IteratorResult<Plan>
    try {
      step = await next
    } catch (error) {
      // The listing failed after some writes: say what was done; the next run finishes the rest.
      if (result.changed === 0 && result.failed === 0) throw error
      result.stopped = (error as Error).message.split('\n')[0]
      break
    }
    if (step.done) break
    next = pages.next()
    next.then(
      (s) => (listed ||= Boolean(s.done)),
      () => {},
    ) // errors surface when awaited
    const plan = step.value
    notes(plan)
    // Each item compared once: the changes, and the unchanged counted.
    const changes: Change[] = []
    for (const item of plan.items) {
      const action = actionOf(item)
      if (action === 'unchanged') count((item.desired ?? item.live)!.metadata.namespace, 'unchanged')
      else changes.push({...item, action})
    }
    if (changes.length === 0) continue
    // Permissions of this page's writes (asked once per run each; all known already after a summary pass).
    try {
      await requireAccess(client, changes, access)
    } catch (error) {
      if (!(error instanceof ForbiddenError) || result.changed === 0) throw error
      result.stopped = error.message.replace(/; nothing was applied.*$/, '')
      break
    }
    found += changes.length
    const journalBase = serverDryRun ? undefined : opts.recorder?.record(changes, false)
    const applied = await applyAll(
      client,
      changes,
      {
        ...opts,
        journalBase,
        concurrency: opts.concurrency ?? 16,
        recordFailures: true,
        onApplied: () => opts.onApplied?.(++done, Math.max(total ?? 0, found), listed),
        signal: opts.signal,
      },
      serverDryRun,
    )
    for (const a of applied) {
      if (!a) continue // not started: interrupted
      if (a.result === 'failed') {
        count(a.namespace, 'failed')
        const reason = a.error ?? 'unknown error'
        const f = result.failures.get(reason) ?? {count: 0, names: []}
        f.count++
        if (f.names.length < 3) f.names.push(`${a.namespace ? a.namespace + '/' : ''}${a.name}`)
        result.failures.set(reason, f)
      } else {
        count(a.namespace, 'changed')
      }
    }
  }
  result.interrupted = Boolean(opts.signal?.aborted)
  if (result.interrupted || result.stopped) await pages.return?.(undefined).catch(() => undefined)
  result.applied = !serverDryRun && result.changed > 0
  result.noop = result.changed === 0 && result.failed === 0 && !result.interrupted && !result.stopped
  if (result.noop && total === undefined) p.info('nothing to do: the cluster already matches')
  return result
}
