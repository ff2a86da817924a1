import {Args, Flags} from '@oclif/core'
import {KnmeshCommand} from '../base-command.js'
import {ExitCode, KnmeshError, UsageError} from '../errors.js'

export default class Undo extends KnmeshCommand {
  static summary = 'Undo a change set from the change journal (default: the latest for this cluster)'
  static description = `Restores the objects a change set changed, through the same change engine as every verb (diff, confirmation, --dry-run, --yes): objects it created are deleted, objects it deleted are created again from their before-image (without server fields), and objects it updated get back the fields the verb changed (a JSON merge patch from the written object to the before-image), keeping fields others set since.

ID is a change set id from "knmesh history" (or a unique prefix of at least 4 characters); without it, the latest change set made against this cluster (the context's API server). An object changed since the change set wrote it (another resourceVersion, deleted, re-created) is refused with exit code 5, naming every such object; --force undoes it anyway. An undo is itself a change set: undoing it applies the original change again. Undoing a change set twice reports that it is already undone.

For a Secret only its labels and annotations are journaled, so undo restores only those (and cannot re-create a deleted Secret).`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> 20250614-101530-123-3f2a --dry-run=client',
    '<%= config.bin %> <%= command.id %> 20250614-101530 --yes',
    '<%= config.bin %> <%= command.id %> --force --yes',
  ]

  static args = {
    id: Args.string({description: 'change set id (see "knmesh history"); default: the latest for this cluster', required: false}),
  }

  static flags = {
    force: Flags.boolean({description: 'undo objects changed since the change set too (fields set since are kept)', default: false}),
  }

  async run() {
    const {flags, args} = await this.parseFlags(Undo)
    if (args.id !== undefined && !/^[0-9a-f-]{4,}$/.test(args.id)) throw new UsageError(`invalid change set id "${args.id}": knmesh history lists the ids`)
    const {findEntry, readEntry, readSummaries} = await import('../journal/store.js')
    const client = await this.client()
    // The change sets are listed without their images; only the one undone is read whole.
    const entry = readEntry(findEntry(readSummaries(), args.id, client.server.href).id)
    if (entry.server !== client.server.href) {
      // The same context name can reach another server (another kubeconfig, a re-created cluster): say so, not "pass --context".
      const how =
        entry.context && entry.context !== client.contextName ? `pass --context ${entry.context}` : `use the kubeconfig whose context reaches ${entry.server}`
      throw new UsageError(`change set ${entry.id} was made against ${entry.server} (context "${entry.context}"), not ${client.server.href}: ${how}`)
    }
    const {commandLine} = await import('../journal/entry.js')
    this.printer.info(`undo change set ${entry.id}: ${commandLine(entry)} (${entry.time}, context "${entry.context}")`)
    const {planUndo, conflictMessage} = await import('../change/undo.js')
    const {readUndo} = await import('../read/undo.js')
    this.journalUndoes = entry.id
    return this.change(
      {
        read: (c) => readUndo(c, entry),
        plan: (live) => {
          const u = planUndo(entry, live, {force: flags.force})
          if (u.conflicts.length && !flags.force) throw new KnmeshError(conflictMessage(entry, u.conflicts), ExitCode.CONFLICT)
          return u.plan
        },
      },
      {question: `Undo change set ${entry.id}?`},
    )
  }
}
