import {Args, Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {UsageError} from '../errors.js'
import {splitList, validateLabelName} from '../mesh/names.js'

export default class AddNamespace extends KnmeshCommand {
  static summary = 'Add namespaces to the Service Mesh member roll (with knative-serving and knative-eventing, unless --kourier)'
  static description = `Adds each NAMESPACE to the ServiceMeshMemberRoll "default" in the mesh namespace, creating the member roll when it is absent, and makes sure knative-serving and knative-eventing are members, as the guide requires (1.4.2 steps 2-3, 2.3 step 1). Existing members and every other field are kept.

With --kourier (guide 1.6: Kourier stays the ingress), only the given namespaces join: knative-serving, knative-serving-ingress and knative-eventing stay outside the mesh (as members they would get the mesh's NetworkPolicies, which cut Kourier's gateway off the activator; openshift-knative/serverless-operator#286), and naming one of them is refused. It also creates in each added namespace the NetworkPolicy allow-from-serving-system-namespace that lets Knative system pods reach the services, and labels knative-serving and knative-serving-ingress knative.openshift.io/part-of=openshift-serverless (the label that policy selects on; guide 1.6 note) when they lack it.

Members the Service Mesh Operator has not configured yet (status.pendingMembers, or not in status.configuredMembers) are named: their pods get no sidecars until it has.`

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
    const mesh = flags['mesh-namespace']
    if (flags.kourier) {
      const {KOURIER_SYSTEM_NAMESPACES} = await import('../mesh/members.js')
      const system = namespaces.filter((n) => KOURIER_SYSTEM_NAMESPACES.includes(n))
      if (system.length)
        throw new UsageError(
          `with --kourier (guide 1.6) ${system.join(' and ')} stay${system.length > 1 ? '' : 's'} outside the mesh: as a member ${system.length > 1 ? 'they' : 'it'} would cut Kourier's gateway off the activator`,
        )
    }
    const {planMembersFor: planMembers} = await import('../mesh/membership.js')
    const {readMembersFor} = await import('../read/members.js')
    const generation = await this.meshGeneration()
    if (flags.kourier && generation.generation === 3)
      throw new UsageError('--kourier is not supported on Service Mesh 3 yet (the 3.x docs have no Kourier procedure)')
    const result = await this.change({
      read: (c) => readMembersFor(c, mesh, generation, namespaces, flags.kourier ? namespaces : undefined),
      plan: (s) => planMembers(s, {meshNamespace: mesh, add: namespaces, strict: flags.strict, kourier: flags.kourier}),
    })
    const {reportMemberStatus} = await import('../read/member-status.js')
    if (result.data.applied && generation.generation === 2) await reportMemberStatus(await this.client(), mesh, this.printer, namespaces)
    return result
  }
}
