import {Args, Flags} from '@oclif/core'
import {KnmeshCommand, namespaceFlag} from '../base-command.js'
import {UsageError} from '../errors.js'
import {validateLabelName} from '../mesh/names.js'

export default class GpuLimit extends KnmeshCommand {
  static summary = 'Set, change or remove the NVIDIA GPU limit of a Knative Service (guide chapter 5)'
  static description = `Sets nvidia.com/gpu: "COUNT" in the resource limits of the Knative Service's first container (the container \`kn service update --limit nvidia.com/gpu=COUNT\` edits), or of --container NAME. Other resources, other containers and every other field are kept. COUNT 0, or --remove, removes the GPU limit (and an explicit nvidia.com/gpu request, which must equal the limit).

Before applying, it reads the nodes: when no schedulable node has COUNT allocatable nvidia.com/gpu, it says so (the new revision's pods would stay Pending) and names the largest. Cordoned and NotReady nodes are not counted, nor nodes of architecture s390x or ppc64le (GPUs are not supported on IBM zSystems and IBM Power).

Changing the limit rolls out a new revision of the service. --list shows the GPU limits of the namespace's Knative Services instead.`

  static examples = [
    {description: 'Dedicate 1 GPU to the service hello (guide 5.1 step 1)', command: '<%= config.bin %> <%= command.id %> hello 1 -n my-app'},
    {description: 'Change it to 3 (guide 5.1 step 2), without asking', command: '<%= config.bin %> <%= command.id %> hello 3 -n my-app --yes'},
    {description: 'Limit a sidecar container instead of the first one', command: '<%= config.bin %> <%= command.id %> hello 1 --container inference'},
    {description: 'Remove the limit (same as COUNT 0)', command: '<%= config.bin %> <%= command.id %> hello --remove'},
    {description: 'Show what would change, as YAML', command: '<%= config.bin %> <%= command.id %> hello 2 --dry-run=client -o yaml'},
    {description: "List the GPU limits of the namespace's services", command: '<%= config.bin %> <%= command.id %> --list -n my-app'},
  ]

  static args = {
    service: Args.string({description: 'the Knative Service'}),
    count: Args.string({description: 'GPUs: a non-negative integer; 0 removes the limit'}),
  }

  static flags = {
    ...namespaceFlag,
    container: Flags.string({description: 'the container to limit (default: the first one)', helpValue: 'NAME'}),
    remove: Flags.boolean({description: 'remove the GPU limit (same as COUNT 0)', default: false}),
    list: Flags.boolean({description: "list the GPU limits of the namespace's Knative Services", default: false, exclusive: ['remove', 'container']}),
  }

  async run() {
    const {flags, args} = await this.parseFlags(GpuLimit)
    if (flags.list) {
      if (args.service || args.count) throw new UsageError('--list takes no SERVICE or COUNT')
      return this.list()
    }
    if (!args.service) throw new UsageError('missing SERVICE: the Knative Service to limit (or --list)')
    const name = validateLabelName(args.service, 'Knative Service')
    const {parseGpuCount, planGpuLimit} = await import('../mesh/gpu.js')
    let count = 0
    if (args.count !== undefined) {
      const parsed = parseGpuCount(args.count)
      if (parsed === null) throw new UsageError(`invalid COUNT "${args.count}": must be a non-negative integer (0 removes the limit)`)
      count = parsed
    }
    if (flags.remove && count > 0) throw new UsageError(`--remove takes no COUNT (got ${count})`)
    if (!flags.remove && args.count === undefined) throw new UsageError('missing COUNT: the number of GPUs (0 or --remove removes the limit)')
    const container = flags.container === undefined ? undefined : validateLabelName(flags.container, 'container')
    const namespace = await this.namespace()
    const {readGpu} = await import('../read/workloads.js')
    return this.change({
      read: (c) => readGpu(c, namespace, name),
      plan: (s) => planGpuLimit(s, {namespace, name, count, container}),
    })
  }

  private async list() {
    const namespace = await this.namespace()
    const {gpuRows} = await import('../mesh/gpu.js')
    const {readGpuList} = await import('../read/workloads.js')
    const {services, nodes} = await readGpuList(await this.client(), namespace)
    const rows = gpuRows(services, nodes)
    const fits = (r: (typeof rows)[number]) => (r.fits === undefined ? (r.gpus > 0 ? 'unknown' : '') : r.fits ? 'yes' : 'no')
    const footer = services.length === 0 ? `no Knative Services in namespace ${namespace}` : undefined
    if (nodes === null) this.printer.warn('cannot list nodes: GPU capacity not checked')
    return {
      data: {namespace, services: rows},
      table: {head: ['service', 'container', 'gpu limit', 'a node fits'], rows: rows.map((r) => [r.service, r.container, r.limit || '-', fits(r)])},
      footer,
    }
  }
}
