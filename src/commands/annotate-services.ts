import {Args, Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag, namespaceFlag, namespacesFlag} from '../base-command.js'
import {MissingError, UsageError} from '../errors.js'
import {validateObjectName} from '../mesh/names.js'

export default class AnnotateServices extends KnmeshCommand {
  static summary = 'Give Knative Services the annotations Service Mesh needs (guide 1.4.4)'
  static description = `Guide 1.4.4: "Always add the annotation from this example to all of your Knative Services to make them work with Service Mesh." For one Knative Service (SERVICE), the Services of a namespace (-n), of several (--namespaces) or of every mesh member (--all-members), makes sure that:

  metadata.annotations:                    serving.knative.openshift.io/enablePassthrough: "true"
  spec.template.metadata.annotations:      sidecar.istio.io/inject: "true"
                                           sidecar.istio.io/rewriteAppHTTPProbers: "true"

On Service Mesh 3, whose injector reads no annotation, the revision template gets the label sidecar.istio.io/inject: "true" instead (an existing inject annotation is replaced by it), plus the annotation sidecar.istio.io/rewriteAppHTTPProbers: "true"; --all-members means the namespaces labeled for injection (istio-injection=enabled, or istio.io/rev of the active revision).

Every other annotation and field is kept. A changed revision template makes Knative roll out a new revision of that service; the verb says which services will. Services in namespaces that are not mesh members are annotated too, and listed, since their sidecars are only injected once the namespace joins the mesh (knmesh add-namespace). So are services in members the Service Mesh Operator has not configured yet (status.pendingMembers, or not in status.configuredMembers): they get sidecars only once it has.`

  static examples = [
    {description: 'Annotate one service', command: '<%= config.bin %> <%= command.id %> hello -n my-app'},
    {description: 'Every service of a namespace, without asking', command: '<%= config.bin %> <%= command.id %> -n my-app --yes'},
    {description: 'Several namespaces', command: '<%= config.bin %> <%= command.id %> --namespaces team-alpha-1,team-bravo-1'},
    {description: 'Every mesh member; show the changes only', command: '<%= config.bin %> <%= command.id %> --all-members --dry-run=client'},
  ]

  static args = {
    service: Args.string({description: 'one Knative Service (in -n NS)', required: false}),
  }

  static flags = {
    ...namespaceFlag,
    namespaces: namespacesFlag({exclusive: ['namespace', 'all-members']}),
    'all-members': Flags.boolean({
      description: 'every namespace of the Service Mesh member roll (Service Mesh 3: labeled for injection), except knative-serving and knative-eventing',
      default: false,
      exclusive: ['namespace'],
    }),
    ...meshNamespaceFlag,
  }

  async run() {
    const {flags, args} = await this.parseFlags(AnnotateServices)
    const mesh = flags['mesh-namespace']
    if (args.service) {
      validateObjectName(args.service, 'service name')
      if (flags.namespaces || flags['all-members']) throw new UsageError('SERVICE names one service: use it with -n NS, not with --namespaces or --all-members')
    }
    const generation = await this.meshGeneration()
    const {planAnnotateServicesFor} = await import('../mesh/annotate3.js')
    const {readAnnotateFor, injectedNamespaces} = await import('../read/annotate.js')
    // Service Mesh 3 has no member roll: --all-members is every namespace labeled for injection.
    const scope =
      generation.generation === 3 && flags['all-members']
        ? {namespaces: await injectedNamespaces(await this.client(), generation.istio), memberRoll: undefined}
        : await this.namespaceScope(flags, {mesh, fallback: 'context'})
    const namespaces = scope.namespaces!
    if (namespaces.length === 0) {
      this.printer.info(
        generation.generation === 3
          ? 'no namespace besides knative-serving and knative-eventing is labeled for sidecar injection: nothing to do'
          : `the member roll of ${mesh} has no namespaces besides knative-serving and knative-eventing: nothing to do`,
      )
      return {data: {plan: {items: [], notes: []}, changes: [], applied: false, noop: true}, machine: 'done' as const}
    }
    const name = args.service
    return this.change({
      read: async (c) => {
        // --all-members read the member roll already: the same one gives the members (one GET of it per run).
        const s = await readAnnotateFor(c, mesh, generation, namespaces, name, scope.memberRoll)
        if (name && s.services.length === 0) throw new MissingError(`there is no Knative Service ${name} in namespace ${namespaces[0]}`)
        return s
      },
      plan: (s) => planAnnotateServicesFor(s, {meshNamespace: mesh, name, namespaces}),
    })
  }
}
