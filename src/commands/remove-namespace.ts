import {Args, Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {UsageError} from '../errors.js'
import {REQUIRED_MEMBERS} from '../mesh/constants.js'
import {splitList, validateLabelName} from '../mesh/names.js'

export default class RemoveNamespace extends KnmeshCommand {
  static summary = 'Remove namespaces from the Service Mesh member roll'
  static description = `The inverse of add-namespace. knative-serving and knative-eventing cannot be removed: the Istio integration (1.4) needs them in the mesh. With --kourier (guide 1.6, where they must stay outside the mesh) they can, and the NetworkPolicy allow-from-serving-system-namespace that add-namespace --kourier created is deleted too.`

  static examples = ['<%= config.bin %> <%= command.id %> team-bravo-1', '<%= config.bin %> <%= command.id %> old-app --kourier --yes']

  static strict = false
  static args = {
    namespace: Args.string({description: 'namespaces to remove (several allowed)', required: true}),
  }

  static flags = {
    ...meshNamespaceFlag,
    kourier: Flags.boolean({description: 'also delete the NetworkPolicy allow-from-serving-system-namespace', default: false}),
  }

  async run() {
    const {flags, argv} = await this.parseFlags(RemoveNamespace)
    const namespaces = splitList(argv as string[]).map((n) => validateLabelName(n))
    const refused = flags.kourier ? [] : namespaces.filter((n) => REQUIRED_MEMBERS.includes(n))
    if (refused.length)
      throw new UsageError(
        `${refused.join(' and ')} must stay in the mesh: the Serverless integration requires ${refused.length > 1 ? 'them' : 'it'} (with Kourier, guide 1.6, pass --kourier)`,
      )
    const mesh = flags['mesh-namespace']
    const {planMembersFor: planMembers} = await import('../mesh/membership.js')
    const {readMembersFor} = await import('../read/members.js')
    const generation = await this.meshGeneration()
    if (flags.kourier && generation.generation === 3)
      throw new UsageError('--kourier is not supported on Service Mesh 3 yet (the 3.x docs have no Kourier procedure)')
    return this.change({
      read: (c) => readMembersFor(c, mesh, generation, namespaces, flags.kourier ? namespaces : undefined),
      plan: (s) => {
        if (s.generation === 2 && !s.smmr) return {items: [], notes: [{level: 'info', text: `there is no ServiceMeshMemberRoll in ${mesh}`}]}
        return planMembers(s, {meshNamespace: mesh, remove: namespaces, kourier: flags.kourier})
      },
    })
  }
}
