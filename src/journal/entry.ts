import {stripServerFields} from '../kube/objects.js'
import type {KObject} from '../kube/types.js'

/** What the change journal holds for one object of a change set. Pure types and helpers: no I/O. */
export interface JournalChange {
  action: 'create' | 'update' | 'delete'
  apiVersion: string
  kind: string
  namespace?: string
  name: string
  /** The object before the change (null for a create): server fields stripped; a Secret's labels/annotations only. */
  before: KObject | null
  /** The object the change wrote (null for a delete), shaped like `before`. */
  after: KObject | null
  /** The resourceVersion the server answered the write with (absent for a delete, or when not written). */
  written?: string
  /** pending: recorded before the write; applied: the server took it; failed: refused (see error). */
  result: 'pending' | 'applied' | 'failed'
  error?: string
}

/** One change set: a verb's run that applied at least one change. */
export interface JournalEntry {
  version: 1
  /** Sortable and unique: 20250614-101530-123-3f2a (UTC time, milliseconds, random). */
  id: string
  /** ISO 8601 time the change set was recorded (before the writes). */
  time: string
  verb: string
  /** The command-line arguments (credentials such as --token replaced by ***). */
  args: string[]
  /** kubeconfig context name ('' when none). */
  context: string
  /** The API server's URL: the cluster "undo" picks the latest change set for. */
  server: string
  /** For an undo: the change set it undoes. */
  undoes?: string
  /** pending: being applied (or the process died); applied: every change written; partial: some written, then a failure. */
  status: 'pending' | 'applied' | 'partial' | 'failed'
  changes: JournalChange[]
}

/** A change set without its object images: what history lists and undo looks up by id. */
export type JournalSummary = Omit<JournalEntry, 'changes'> & {changes: Pick<JournalChange, 'action' | 'kind' | 'namespace' | 'name' | 'result'>[]}

/** Flags whose value is a credential: never written to the journal. */
const SECRET_FLAGS = new Set(['--token', '--client-key'])

/** argv with credential values replaced by *** ("--token x", "--token=x"). */
export function scrubArgs(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const eq = a.indexOf('=')
    if (eq > 0 && SECRET_FLAGS.has(a.slice(0, eq))) out.push(`${a.slice(0, eq)}=***`)
    else if (SECRET_FLAGS.has(a) && i + 1 < argv.length) {
      out.push(a, '***')
      i++
    } else out.push(a)
  }
  return out
}

export function isSecret(obj: {apiVersion?: string; kind?: string}): boolean {
  return obj.kind === 'Secret' && obj.apiVersion === 'v1'
}

/**
 * The image of an object the journal keeps: server fields and status stripped (and the
 * last-applied-configuration annotation, which can hold a Secret's data); for a Secret only
 * apiVersion, kind, name, namespace, labels and annotations: its data is never journaled.
 */
export function journalImage(obj: KObject | null): KObject | null {
  if (!obj) return null
  // A Secret's image is built from its metadata alone: its data is never copied, not even in memory.
  const o = isSecret(obj) ? stripServerFields({apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata}) : stripServerFields(obj)
  if (!isSecret(o)) return o
  const m = o.metadata
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: m.name,
      ...(m.namespace ? {namespace: m.namespace} : {}),
      ...(m.labels ? {labels: m.labels} : {}),
      ...(m.annotations ? {annotations: m.annotations} : {}),
    },
  }
}

/** A change as the journal records it, before its write (result pending). */
export function journalChange(action: JournalChange['action'], live: KObject | null, desired: KObject | null): JournalChange {
  const obj = (desired ?? live)!
  return {
    action,
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    ...(obj.metadata.namespace ? {namespace: obj.metadata.namespace} : {}),
    name: obj.metadata.name,
    before: action === 'create' ? null : journalImage(live),
    after: action === 'delete' ? null : journalImage(desired),
    result: 'pending',
  }
}

/** "ServiceMeshMemberRoll istio-system/default". */
export function describeChange(c: {kind: string; namespace?: string; name: string}): string {
  return `${c.kind} ${c.namespace ? c.namespace + '/' : ''}${c.name}`
}

/** "1 create, 2 update" for the history table. */
export function countActions(changes: Pick<JournalChange, 'action' | 'result'>[]): string {
  const n = {create: 0, update: 0, delete: 0}
  for (const c of changes) if (c.result === 'applied') n[c.action]++
  const parts = (['create', 'update', 'delete'] as const).filter((a) => n[a]).map((a) => `${n[a]} ${a}`)
  return parts.join(', ') || 'none applied'
}

/** The command line of a change set, for people: "add-namespace a --yes"; an undo names the change set it undid ("undo ID --yes"). */
export function commandLine(e: Pick<JournalEntry, 'verb' | 'args' | 'undoes'>): string {
  const args = e.undoes && !e.args.some((a) => e.undoes!.startsWith(a) && a.length >= 4) ? [e.undoes, ...e.args] : e.args
  return [e.verb, ...args].join(' ')
}
