import {randomBytes} from 'node:crypto'
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import {homedir} from 'node:os'
import {StringDecoder} from 'node:string_decoder'
import {join} from 'node:path'
import {KnmeshError, MissingError, UsageError} from '../errors.js'
import type {KObject} from '../kube/types.js'
import {journalChange, type JournalChange, type JournalEntry, type JournalSummary} from './entry.js'

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

/** The lines of a file, read 64 kB at a time: a change set of 100,000 changes is never held whole as text. */
function* fileLines(file: string): Generator<string> {
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(1 << 16)
    const text = new StringDecoder('utf8')
    let rest = ''
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) {
      const parts = (rest + text.write(buf.subarray(0, n))).split('\n')
      rest = parts.pop()!
      yield* parts
    }
    rest += text.end()
    if (rest) yield rest
  } finally {
    closeSync(fd)
  }
}

/** The first line of a bulk change set (see bulkJournalRecorder) ends so; a whole-file entry's first line is "{". */
const BULK_HEAD_END = '"changes":['

/**
 * One journal file, read line by line. A bulk change set (appended as it goes) is one JSON document once
 * complete; a run killed midway left its header and the changes written so far (status pending; a last line
 * cut short is dropped). `keep` maps each change as it is read (history keeps no images). null: not ours.
 */
function readEntryFile<C>(file: string, keep: (c: JournalChange) => C): (Omit<JournalEntry, 'changes'> & {changes: C[]}) | null {
  const lines = fileLines(file)
  const first = lines.next()
  if (first.done) return null
  if (!first.value.endsWith(BULK_HEAD_END)) {
    lines.return(undefined)
    const e = JSON.parse(readFileSync(file, 'utf8')) as JournalEntry
    return e?.version === 1 && Array.isArray(e.changes) ? {...e, changes: e.changes.map(keep)} : null
  }
  const head = JSON.parse(first.value + ']}') as JournalEntry
  if (head?.version !== 1) return null
  const changes: C[] = []
  let status: JournalEntry['status'] = 'pending'
  for (const line of lines) {
    if (line.startsWith(']')) {
      try {
        status = (JSON.parse('{' + line.slice(2)) as Pick<JournalEntry, 'status'>).status
      } catch {
        // cut short: still pending
      }
      break
    }
    let c: JournalChange
    try {
      c = JSON.parse(line.startsWith(',') ? line.slice(1) : line) as JournalChange
    } catch {
      break // the last line of a run killed while writing it
    }
    changes.push(keep(c))
  }
  return {...head, status, changes}
}

/** Every entry's file name, oldest first (an absent folder: none). */
function entryFiles(dir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new KnmeshError(`cannot read the change journal ${dir}: ${(error as Error).message}`)
  }
  return names.filter((f) => f.endsWith('.json') && ID.test(f.slice(0, -'.json'.length))).sort()
}

function readEach<C>(dir: string, keep: (c: JournalChange) => C): (Omit<JournalEntry, 'changes'> & {changes: C[]})[] {
  const out = []
  for (const n of entryFiles(dir)) {
    try {
      const e = readEntryFile(join(dir, n), keep)
      if (e) out.push(e)
    } catch {
      // a file being replaced, or not ours: skip it
    }
  }
  return out
}

/** Every entry, oldest first, with its object images. Unreadable or foreign files are skipped. An absent folder is an empty journal. */
export function readEntries(dir = journalDir()): JournalEntry[] {
  return readEach(dir, (c) => c)
}

/**
 * Every entry, oldest first, without the object images (history, and finding the change set to undo): each file
 * is read line by line and only the action, kind, name and result of each change are kept.
 */
export function readSummaries(dir = journalDir()): JournalSummary[] {
  return readEach(dir, (c) => ({action: c.action, kind: c.kind, ...(c.namespace ? {namespace: c.namespace} : {}), name: c.name, result: c.result}))
}

/** The whole change set `id` (from readSummaries/findEntry). Throws MissingError (exit 6) when it is gone or unreadable. */
export function readEntry(id: string, dir = journalDir()): JournalEntry {
  let e: JournalEntry | null = null
  try {
    e = ID.test(id) ? readEntryFile(join(dir, `${id}.json`), (c) => c) : null
  } catch {
    // removed or unreadable since it was listed
  }
  if (!e) throw new MissingError(`no change set "${id}" in the change journal ${dir} (knmesh history lists them)`)
  return e
}

/**
 * The change set `id` (or the one a unique prefix of at least 4 characters names); without an id, the latest for
 * `server`. Throws MissingError (exit 6) when there is none, UsageError (exit 2) for an ambiguous prefix.
 */
export function findEntry<E extends {id: string; server: string; changes: {result: JournalChange['result']}[]}>(
  entries: E[],
  id: string | undefined,
  server: string,
  dir = journalDir(),
): E {
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
export function journalRecorder(
  meta: Omit<JournalEntry, 'version' | 'id' | 'time' | 'status' | 'changes'>,
  warn: (text: string) => void,
  dir = journalDir(),
): ChangeRecorder & {entry?: JournalEntry} {
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

/**
 * The recorder of a bulk run (runBulk: thousands of changes, page by page), whose memory does not grow with the
 * run: the change set is one file, <id>.json (mode 0600), appended as it goes and never rewritten. Its first line
 * is the header (`{"version":1,…,"changes":[`), created on the first record(); then one line per change written,
 * appended once the server answered (result applied or failed, the resourceVersion written; written out per 64 kB,
 * per page and when the process exits), so only the page in flight is held; the page's lines reach the disk (fsync)
 * before the next page's writes and at the end, whose
 * last line (`],"status":"applied"}`, or partial when some changes failed or were not started) makes the file one
 * JSON document, the same shape as a whole-file entry. A run killed midway leaves the header and the changes it
 * wrote: readEntries reads them (status pending), undo undoes them. A run that applied nothing leaves no file.
 * A journal that cannot be written is reported once through `warn`; the run goes on (it then cannot be undone).
 */
export function bulkJournalRecorder(
  meta: Omit<JournalEntry, 'version' | 'id' | 'time' | 'status' | 'changes'>,
  warn: (text: string) => void,
  dir = journalDir(),
): ChangeRecorder {
  let fd: number | undefined
  let file: string | undefined
  let broken = false
  /** The changes of the page being written, from index `base` on. */
  let page: Parameters<ChangeRecorder['record']>[0] = []
  let base = 0
  let planned = 0
  let lines = 0
  let applied = 0
  /** Lines not yet written: one write per 64 kB or per page; also written if the process exits meanwhile. */
  let pending = ''
  const flush = () => {
    if (!pending) return
    const text = pending
    pending = ''
    io(() => fd !== undefined && writeSync(fd, text))
  }
  const close = () => {
    if (fd !== undefined) closeSync(fd)
    fd = undefined
  }
  const io = (what: () => void) => {
    if (broken) return
    try {
      what()
    } catch (error) {
      broken = true
      try {
        close()
      } catch {
        // already reported below
      }
      warn(`cannot write the change journal ${dir} (${(error as Error).message.split('\n')[0]}): this change cannot be undone with knmesh undo`)
    }
  }
  return {
    record(changes, replace) {
      if (replace) throw new KnmeshError('internal error: a bulk change set is appended page by page, never re-planned')
      if (file === undefined) {
        const now = new Date()
        const head = {version: 1, id: newId(now), time: now.toISOString(), ...meta, changes: []}
        file = join(dir, `${head.id}.json`)
        io(() => {
          mkdirSync(dir, {recursive: true, mode: 0o700})
          chmodSync(dir, 0o700)
          fd = openSync(file!, 'wx', 0o600)
          fchmodSync(fd, 0o600)
          writeSync(fd, JSON.stringify(head).slice(0, -2) + '\n')
        })
        // Ctrl-C twice (process.exit): what was written is in the file.
        process.on('exit', flush)
      }
      // The previous page's lines reach the disk before this page's writes.
      flush()
      io(() => fd !== undefined && fsyncSync(fd))
      base = planned
      page = changes
      planned += changes.length
      return base
    },
    written(index, result, error) {
      const c = page[index - base]
      if (!c) return
      const j = journalChange(c.action, c.live, c.desired)
      j.result = error === undefined ? 'applied' : 'failed'
      if (error !== undefined) j.error = error
      if (result?.metadata?.resourceVersion && j.action !== 'delete') j.written = result.metadata.resourceVersion
      if (j.result === 'applied') applied++
      pending += `${lines ? ',' : ''}${JSON.stringify(j)}\n`
      lines++
      if (pending.length >= 1 << 16) flush()
    },
    end() {
      if (file === undefined) return
      process.off('exit', flush)
      flush()
      page = []
      if (applied === 0) {
        // Nothing applied (refused, failed at its first write): not a change set.
        io(close)
        if (!broken) rmSync(file, {force: true})
        return
      }
      io(() => {
        if (fd === undefined) return
        writeSync(fd, `],"status":"${applied === planned ? 'applied' : 'partial'}"}\n`)
        fsyncSync(fd)
        close()
      })
    },
  }
}
