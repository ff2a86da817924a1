import AddNamespace from './add-namespace.js'
import RemoveNamespace from './remove-namespace.js'

/** Explicit command discovery: oclif loads this one file instead of scanning a folder. */
export const COMMANDS = {
  'add-namespace': AddNamespace,
  'remove-namespace': RemoveNamespace,
}
