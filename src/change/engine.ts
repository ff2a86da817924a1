import jsonPatch from 'fast-json-patch'
import {ConflictError, ExitCode, KnmeshError, NotAppliedError} from '../errors.js'
import type {KubeClient, JsonPatchOp} from '../kube/client.js'
import {kindOf} from '../kube/kinds.js'
import {key, type DryRun, type KObject} from '../kube/types.js'
import {redact, renderChange, toYaml} from '../ui/diff.js'
import {changesOf, stripServerFields, type Action, type Plan, type PlanItem} from './plan.js'

export interface ChangeSpec<S> {
  /** Reads the live objects the verb needs. */
  read(client: KubeClient): Promise<S>
  /** Pure: the desired objects for that state. */
  plan(state: S): Plan
}

export interface Printer {
  /** Human-readable progress and diffs. */
  info(text: string): void
  warn(text: string): void
  /** Machine-readable output (-o yaml|json). */
  data(text: string): void
}

export interface EngineOptions {
  yes: boolean
  dryRun: DryRun
  output?: 'yaml' | 'json' | 'table'
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
  /** Called after each applied change (progress bars). */
  onApplied?(done: number, total: number): void
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
 * The change engine: read → plan → diff → confirm → apply with optimistic
 * concurrency, re-reading and re-planning on 409 Conflict.
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
  showChanges(changes, opts)

  if (opts.dryRun === 'client') {
    p.info(`dry run (client): ${changes.length} change(s) shown, nothing applied`)
    return {plan, changes: changes.map((c) => describe(c, 'dry-run')), applied: false, noop: false}
  }
  if (!opts.yes) {
    if (!opts.interactive) {
      throw new NotAppliedError(`${changes.length} change(s) not applied: no terminal to confirm on; run again with --yes to apply`)
    }
    const ok = await opts.confirm(opts.question ?? `Apply ${changes.length} change(s)?`)
    if (!ok) throw new NotAppliedError('aborted: nothing changed')
  }

  const serverDryRun = opts.dryRun === 'server'
  const maxRetries = opts.maxRetries ?? 12
  for (let attempt = 0; ; attempt++) {
    try {
      if (!serverDryRun && changes.length > 1 && changes.length <= (opts.summarizeOver ?? 25)) {
        // Preflight: the server validates and authorizes every write before any is made,
        // so a refusal (403, 422) leaves the cluster as it was.
        await applyAll(client, changes, {...opts, onApplied: undefined}, true)
      }
      const done = await applyAll(client, changes, opts, serverDryRun)
      const failed = done.filter((d) => d.result === 'failed')
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

function showChanges(changes: (PlanItem & {action: Exclude<Action, 'unchanged'>})[], opts: EngineOptions): void {
  const limit = opts.summarizeOver ?? 25
  if (changes.length <= limit) {
    for (const c of changes) opts.printer.info(renderChange(c.action, c.live, c.desired, opts.color).trimEnd())
    return
  }
  // Thousands of changes: counts per action, kind and namespace, and the first few names.
  const groups = new Map<string, string[]>()
  for (const c of changes) {
    const o = (c.desired ?? c.live)!
    const g = `${c.action} ${o.kind}${o.metadata.namespace ? ` in ${o.metadata.namespace}` : ''}`
    const names = groups.get(g) ?? []
    names.push(o.metadata.name)
    groups.set(g, names)
  }
  opts.printer.info(`${changes.length} changes:`)
  for (const [g, names] of groups) {
    const head = names.slice(0, 3).join(', ')
    opts.printer.info(`  ${g}: ${names.length} (${head}${names.length > 3 ? ', …' : ''})`)
  }
}

export function patchOps(live: KObject, desired: KObject): JsonPatchOp[] {
  const a = stripServerFields(live, true)
  const b = stripServerFields(desired, true)
  const ops = jsonPatch.compare(a, b) as JsonPatchOp[]
  // The live resourceVersion makes the patch conditional: 409 if the object changed since it was read.
  return [...ops, {op: 'replace', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion}]
}

export async function applyOne(client: KubeClient, c: PlanItem & {action: Exclude<Action, 'unchanged'>}, serverDryRun: boolean): Promise<void> {
  const obj = (c.desired ?? c.live)!
  const info = kindOf(obj)
  if (c.action === 'create') {
    await client.create(stripServerFields(c.desired!, true), {serverDryRun})
  } else if (c.action === 'update') {
    await client.patch(info, obj.metadata.name, obj.metadata.namespace, patchOps(c.live!, c.desired!), {serverDryRun})
  } else {
    await client.delete(info, obj.metadata.name, obj.metadata.namespace, {serverDryRun, resourceVersion: c.live!.metadata.resourceVersion})
  }
}

async function applyAll(
  client: KubeClient,
  changes: (PlanItem & {action: Exclude<Action, 'unchanged'>})[],
  opts: EngineOptions,
  serverDryRun: boolean,
): Promise<AppliedChange[]> {
  const concurrency = Math.max(1, opts.concurrency ?? 1)
  const results: AppliedChange[] = new Array(changes.length)
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < changes.length) {
      const i = next++
      const c = changes[i]
      try {
        await applyOne(client, c, serverDryRun)
        results[i] = describe(c, serverDryRun ? 'dry-run' : 'applied')
      } catch (error) {
        // In order (concurrency 1) the first failure stops the run; in bulk each failure is recorded.
        if (concurrency === 1) throw error
        results[i] = describe(c, 'failed', (error as Error).message)
      }
      opts.onApplied?.(++done, changes.length)
    }
  }
  await Promise.all(Array.from({length: Math.min(concurrency, changes.length)}, worker))
  return results
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export {key}
