import {randomBytes} from 'node:crypto'
import {chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {KnmeshError, MissingError, UsageError} from '../errors.js'
import type {KObject} from '../kube/types.js'
import {journalChange, type JournalChange, type JournalEntry} from './entry.js'

/** The journal's folder: $XDG_STATE_HOME/knmesh, else ~/.local/state/knmesh. */
export function journalDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state')
  return join(base, 'knmesh')
}

/** A new change set id: UTC time to the millisecond and 4 random hex digits ("20250614-101530-123-3f2a"), sortable. */
export function newId(now = new Date()): string {
  const t = now.toISOString() // 2025-06-14T10:15:30.123Z
  return `${t.slice(0, 10).replace(/-/g, '')}-${t.slice(11, 19).replace(/:/g, '')}-${t.slice(20, 23)}-${randomBytes(2).toString('hex')}`
}

const ID = /^\d{8}-\d{6}-\d{3}-[0-9a-f]{4}$/

/**
 * Writes an entry as <dir>/<id>.json, mode 0600, through a temporary file and a rename (a reader never sees half
 * a file); creates the folder with mode 0700 (and narrows an existing one to 0700).
 */
export function writeEntry(entry: JournalEntry, dir = journalDir()): void {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  chmodSync(dir, 0o700)
  const file = join(dir, `${entry.id}.json`)
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(entry, null, 1) + '\n', {mode: 0o600})
  chmodSync(tmp, 0o600)
  renameSync(tmp, file)
}

/** Every entry, oldest first. Unreadable or foreign files are skipped. An absent folder is an empty journal. */
export function readEntries(dir = journalDir()): JournalEntry[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new KnmeshError(`cannot read the change journal ${dir}: ${(error as Error).message}`)
  }
  const out: JournalEntry[] = []
  for (const n of names.filter((f) => ID.test(f.replace(/\.json$/, '')) && f.endsWith('.json')).sort()) {
    try {
      const e = JSON.parse(readFileSync(join(dir, n), 'utf8')) as JournalEntry
      if (e?.version === 1 && Array.isArray(e.changes)) out.push(e)
    } catch {
      // a file being replaced, or not ours: skip it
    }
  }
  return out
}

/**
 * The change set `id` (or the one a unique prefix of at least 4 characters names); without an id, the latest for
 * `server`. Throws MissingError (exit 6) when there is none, UsageError (exit 2) for an ambiguous prefix.
 */
export function findEntry(entries: JournalEntry[], id: string | undefined, server: string, dir = journalDir()): JournalEntry {
  if (id === undefined) {
    // The latest that changed something (a run killed before its first write left only pending changes).
    const mine = entries.filter((e) => e.server === server && e.changes.some((c) => c.result === 'applied'))
    if (mine.length === 0) throw new MissingError(`no change set for ${server} in the change journal ${dir}`)
    return mine[mine.length - 1]
  }
  const exact = entries.find((e) => e.id === id)
  if (exact) return exact
  const matches = id.length >= 4 ? entries.filter((e) => e.id.startsWith(id)) : []
  if (matches.length === 1) return matches[0]
  if (matches.length > 1) throw new UsageError(`change set id "${id}" is ambiguous: ${matches.map((e) => e.id).join(', ')}`)
  throw new MissingError(`no change set "${id}" in the change journal ${dir} (knmesh history lists them)`)
}

/** Change sets up to this size are saved after every write; bigger ones (bulk runs) per page and at the end. */
const SAVE_EACH_WRITE_UP_TO = 100

/** What the engine tells the journal: the changes about to be written, then each write's outcome. */
export interface ChangeRecorder {
  /**
   * Before the writes: records the changes and returns the index of the first one in the change set (for written()).
   * replace: a re-plan after a conflict (the changes not yet applied are dropped first); else appended (a bulk page).
   */
  record(changes: {action: JournalChange['action']; live: KObject | null; desired: KObject | null}[], replace: boolean): number
  /** After a write: the object the server answered with (its resourceVersion), or the error. */
  written(index: number, result: KObject | undefined, error?: string): void
  /** After the run: the final statuses. */
  end(): void
}

/**
 * A recorder writing one journal entry (created on the first record(); nothing is written for a run that
 * writes nothing). A journal that cannot be written is reported once through `warn`; the run goes on (it then
 * cannot be undone).
 */
export function journalRecorder(meta: Omit<JournalEntry, 'version' | 'id' | 'time' | 'status' | 'changes'>, warn: (text: string) => void, dir = journalDir()): ChangeRecorder & {entry?: JournalEntry} {
  let broken = false
  const save = (e: JournalEntry) => {
    if (broken) return
    try {
      writeEntry(e, dir)
    } catch (error) {
      broken = true
      warn(`cannot write the change journal ${dir} (${(error as Error).message.split('\n')[0]}): this change cannot be undone with knmesh undo`)
    }
  }
  const rec: ChangeRecorder & {entry?: JournalEntry} = {
    record(changes, replace) {
      const now = new Date()
      rec.entry ??= {version: 1, id: newId(now), time: now.toISOString(), ...meta, status: 'pending', changes: []}
      const recorded = changes.map((c) => journalChange(c.action, c.live, c.desired))
      const kept = replace ? rec.entry.changes.filter((c) => c.result === 'applied') : rec.entry.changes
      rec.entry.changes = [...kept, ...recorded]
      save(rec.entry)
      return kept.length
    },
    written(index, result, error) {
      const c = rec.entry?.changes[index]
      if (!c) return
      c.result = error === undefined ? 'applied' : 'failed'
      if (error !== undefined) c.error = error
      if (result?.metadata?.resourceVersion && c.action !== 'delete') c.written = result.metadata.resourceVersion
      // Saved after each write (a run killed midway keeps what it wrote), except in bulk, saved per page and at the end.
      if (rec.entry!.changes.length <= SAVE_EACH_WRITE_UP_TO) save(rec.entry!)
    },
    end() {
      const e = rec.entry
      if (!e) return
      const applied = e.changes.filter((c) => c.result === 'applied').length
      // A run that applied nothing (refused, failed at its first write) changed nothing: it is not a change set.
      if (applied === 0) {
        if (!broken) rmSync(join(dir, `${e.id}.json`), {force: true})
        return
      }
      e.status = applied === e.changes.length ? 'applied' : 'partial'
      save(e)
    },
  }
  return rec
}
