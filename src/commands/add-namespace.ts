import {Args, Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {splitList, validateLabelName} from '../mesh/names.js'

export default class AddNamespace extends KnmeshCommand {
  static summary = 'Add namespaces to the Service Mesh member roll (knative-serving and knative-eventing always included)'
  static description = `Adds each NAMESPACE to the ServiceMeshMemberRoll "default" in the mesh namespace, creating the member roll when it is absent, and makes sure knative-serving and knative-eventing are members, as the guide requires (1.4.2 steps 2-3, 2.3 step 1). Existing members and every other field are kept.

With --kourier (guide 1.6), also creates in each added namespace the NetworkPolicy allow-from-serving-system-namespace that lets Knative system pods reach the services.`

  static examples = [
    '<%= config.bin %> <%= command.id %> team-bravo-1',
    '<%= config.bin %> <%= command.id %> team-alpha-1 team-alpha-2 --yes',
    '<%= config.bin %> <%= command.id %> my-app --kourier --dry-run=client',
    '<%= config.bin %> <%= command.id %> my-app --mesh-namespace my-mesh -o yaml --dry-run=client',
  ]

  static strict = false
  static args = {
    namespace: Args.string({description: 'namespaces to add (several allowed)', required: true}),
  }

  static flags = {
    ...meshNamespaceFlag,
    strict: Flags.boolean({description: 'fail when a namespace does not exist (default: warn)', default: false}),
    kourier: Flags.boolean({description: 'also create the NetworkPolicy allow-from-serving-system-namespace (guide 1.6)', default: false}),
  }

  async run() {
    const {flags, argv} = await this.parseFlags(AddNamespace)
    const namespaces = splitList(argv as string[]).map((n) => validateLabelName(n))
    const mesh = validateLabelName(flags['mesh-namespace'], 'mesh namespace')
    const {planMembers} = await import('../mesh/members.js')
    const {readMembers} = await import('../mesh/read.js')
    const result = await this.change({
      read: (c) => readMembers(c, mesh, flags.kourier ? namespaces : undefined),
      plan: (s) => planMembers(s, {meshNamespace: mesh, add: namespaces, strict: flags.strict, kourier: flags.kourier}),
    })
    const {reportMemberStatus} = await import('../mesh/member-status.js')
    if (result.applied) await reportMemberStatus(await this.client(), mesh, this.printer)
    return result
  }
}
