import {Flags} from '@oclif/core'
import {KnmeshCommand} from '../base-command.js'
import {KnmeshError} from '../errors.js'

export default class History extends KnmeshCommand {
  static summary = 'List the change sets in the change journal (what "knmesh undo" can restore)'
  static description = `Every verb that changes the cluster records its change set, before writing, in the change journal: $XDG_STATE_HOME/knmesh/ (default ~/.local/state/knmesh/; folder mode 0700, one file per change set, mode 0600). A change set holds the verb and its arguments (credentials masked), the context and API server, the time, each object's before-image and the resourceVersion the write gave it. A Secret's data is never journaled: only its labels and annotations. A bulk run (filter-secrets) appends its change set to its file as it goes, one line per change written (the finished file is one JSON document like the others), so a run over tens of thousands of secrets neither holds nor rewrites its journal.

Lists the change sets made against the current context's API server (--all-clusters: every cluster's, with a server column; with no usable kubeconfig, every cluster's too), oldest first: id, time, verb and arguments, context, what was applied and the state (applied, partial, failed, pending; "undone by ID" once an undo of it applied). -o json|yaml prints the same as data (without the object images).`

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --all-clusters', '<%= config.bin %> <%= command.id %> -o json']

  static flags = {
    'all-clusters': Flags.boolean({description: "list every cluster's change sets (default: the current context's API server only)", default: false}),
  }

  async run() {
    const {flags} = await this.parseFlags(History)
    const {readSummaries, journalDir} = await import('../journal/store.js')
    const {commandLine, countActions} = await import('../journal/entry.js')
    const all = readSummaries()
    // The journal is one per user, shared by every cluster: by default only this cluster's change sets (undo's scope).
    let server: string | undefined
    if (!flags['all-clusters']) {
      try {
        server = (await this.client()).server.href
      } catch (error) {
        if (!(error instanceof KnmeshError)) throw error
        this.printer.warn(`${error.message}: listing every cluster's change sets`)
      }
    }
    const entries = server ? all.filter((e) => e.server === server) : all
    const undoneBy = new Map<string, string>()
    for (const e of entries) if (e.undoes && (e.status === 'applied' || e.status === 'partial')) undoneBy.set(e.undoes, e.id)
    const sets = entries.map((e) => ({
      id: e.id,
      time: e.time,
      verb: e.verb,
      args: e.args,
      context: e.context,
      server: e.server,
      status: e.status,
      ...(e.undoes ? {undoes: e.undoes} : {}),
      ...(undoneBy.has(e.id) ? {undoneBy: undoneBy.get(e.id)} : {}),
      changes: e.changes,
    }))
    return {
      data: {journal: journalDir(), changeSets: sets},
      table: {
        head: ['id', 'time', 'command', 'context', ...(server ? [] : ['server']), 'changes', 'state'],
        rows: entries.map((e) => [
          e.id,
          e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
          commandLine(e),
          e.context,
          ...(server ? [] : [e.server]),
          countActions(e.changes),
          undoneBy.has(e.id) ? `undone by ${undoneBy.get(e.id)}` : e.status,
        ]),
      },
      footer:
        (entries.length ? `${entries.length} change set(s) in ${journalDir()}` : `no change set in ${journalDir()}`) +
        (server
          ? ` made against ${server}${all.length > entries.length ? ` (${all.length - entries.length} of other clusters: --all-clusters lists them)` : ''}`
          : ''),
    }
  }
}
