import AddNamespace from './add-namespace.js'
import CostLabels from './cost-labels.js'
import GpuLimit from './gpu-limit.js'
import RemoveNamespace from './remove-namespace.js'

/** Explicit command discovery: oclif loads this one file instead of scanning a folder. */
export const COMMANDS = {
  'add-namespace': AddNamespace,
  'cost-labels': CostLabels,
  'gpu-limit': GpuLimit,
  'remove-namespace': RemoveNamespace,
}
