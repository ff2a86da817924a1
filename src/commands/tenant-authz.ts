import {Args, Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag, type Result} from '../base-command.js'
import {UsageError} from '../errors.js'
import {KNATIVE_EVENTING, KNATIVE_SERVING, SMMR_NAME} from '../mesh/constants.js'
import {splitList, validateLabelName, validateObjectName} from '../mesh/names.js'
import type {KObject} from '../kube/types.js'

export default class TenantAuthz extends KnmeshCommand {
  static summary = "Create, update, list or delete a tenant's AuthorizationPolicies (guide 2.3)"
  static description = `Creates or updates the AuthorizationPolicies that isolate TENANT, object for object what the knative-istio-authz Helm chart (1.32) renders for the same values: allow-from-knative-and-istio and allow-wait-for-drain in each of its namespaces, allow-TENANT-to-activator in knative-serving, and (with eventing) the receiver and reply policies in knative-eventing. Each object carries the labels knmesh.openshift.io/tenant=TENANT and app.kubernetes.io/managed-by=knmesh, so knmesh finds a tenant's objects again with one list.

Incremental: --namespaces adds namespaces to an existing tenant (every list in every policy is updated and the per-namespace objects are created); --remove-namespace removes one everywhere and deletes its per-namespace objects; --delete removes the tenant's objects and nothing else. A namespace belongs to one tenant only. --defaults installs the cluster-wide policies of guide 2.3 step 2 (deny-all-by-default in knative-serving and knative-eventing, and the allow rules for Knative's own components).

--no-serving / --no-eventing / --cluster-domain / --mesh-namespace mirror the chart's values; when --serving/--eventing are not given, an existing tenant keeps what it has.

On Service Mesh 3 the policies are security.istio.io/v1 (one a 2.x install left as v1beta1 is updated in place) and name knative-serving-ingress, where the Knative gateways run, instead of the mesh namespace; a tenant with eventing also gets allow-TENANT-to-job-sink; --defaults adds allow-traffic-to-ingress-gateway in knative-serving-ingress and the PeerAuthentication autoscaler-permissive in knative-serving, and writes every ALLOW policy before the two deny-all-by-default. Writes into knative-serving wait for KnativeServing to be Ready (refused otherwise, nothing changed), as the Serverless Operator's Service Mesh 3 setup does. --add-to-mesh labels the namespaces for injection instead of using a member roll.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --defaults --yes',
    '<%= config.bin %> <%= command.id %> team-alpha --namespaces team-alpha-1,team-alpha-2',
    '<%= config.bin %> <%= command.id %> team-bravo --namespaces team-bravo-1 --add-to-mesh --yes',
    '<%= config.bin %> <%= command.id %> team-alpha --namespaces team-alpha-3 --dry-run=client',
    '<%= config.bin %> <%= command.id %> team-alpha --remove-namespace team-alpha-2 --yes',
    '<%= config.bin %> <%= command.id %> --delete team-bravo --yes',
    '<%= config.bin %> <%= command.id %> --list',
    '<%= config.bin %> <%= command.id %> --list -o yaml > tenants.yaml',
    '<%= config.bin %> <%= command.id %> team-alpha --namespaces team-alpha-1 --no-eventing -o yaml --dry-run=client',
  ]

  static args = {
    tenant: Args.string({description: 'tenant name (the chart\'s "name" value)'}),
  }

  static flags = {
    ...meshNamespaceFlag,
    namespaces: Flags.string({description: 'namespaces of the tenant, comma-separated (added to an existing tenant)', multiple: true, helpValue: 'NS[,NS]'}),
    'remove-namespace': Flags.string({description: 'namespaces to remove from the tenant, comma-separated', multiple: true, helpValue: 'NS[,NS]'}),
    delete: Flags.boolean({description: "delete the tenant's policies (and nothing else)", default: false}),
    defaults: Flags.boolean({description: 'also install the cluster-wide policies of guide 2.3 step 2', default: false}),
    list: Flags.boolean({description: 'list tenants, their namespaces and policy counts (-o yaml: the whole policy set)', default: false}),
    serving: Flags.boolean({description: 'Knative Serving policies (chart value serving.enabled); --no-serving to leave them out', allowNo: true}),
    eventing: Flags.boolean({description: 'Knative Eventing policies (chart value eventing.enabled); --no-eventing to leave them out', allowNo: true}),
    'cluster-domain': Flags.string({description: "the cluster's DNS domain, for the host patterns", default: 'cluster.local', helpValue: 'DOMAIN'}),
    'add-to-mesh': Flags.boolean({
      description: 'add tenant namespaces that are not in the mesh to it, as add-namespace does (Service Mesh 2: the member roll; 3: the injection label)',
      default: false,
    }),
  }

  async run() {
    const {flags, args} = await this.parseFlags(TenantAuthz)
    const mesh = flags['mesh-namespace']
    const add = splitList(flags.namespaces).map((n) => validateLabelName(n))
    const remove = splitList(flags['remove-namespace']).map((n) => validateLabelName(n))
    const tenant = args.tenant === undefined ? undefined : validateLabelName(args.tenant, 'tenant')
    const domain = validateObjectName(flags['cluster-domain'], 'cluster domain')

    if (flags.list) {
      if (tenant || add.length || remove.length || flags.delete || flags.defaults) throw new UsageError('--list takes no tenant and no other action flag')
      return this.list(mesh)
    }
    if (flags.delete && (add.length || remove.length)) throw new UsageError('--delete removes the whole tenant: it takes no --namespaces or --remove-namespace')
    if (!tenant && !flags.defaults) throw new UsageError('give a TENANT (or --defaults, or --list)')
    if (!tenant && (add.length || remove.length || flags.delete)) throw new UsageError('--namespaces, --remove-namespace and --delete need a TENANT')
    const reserved = [...add, ...remove].filter((n) => n === KNATIVE_SERVING || n === KNATIVE_EVENTING || n === mesh || n === 'knative-serving-ingress')
    if (reserved.length) throw new UsageError(`${reserved[0]} cannot be a tenant namespace: it holds Knative or mesh components`)
    const both = add.filter((n) => remove.includes(n))
    if (both.length) throw new UsageError(`${both.join(', ')} given to both --namespaces and --remove-namespace`)

    // Namespaces joining a tenant must exist (exit 6), before any question or diff.
    if (add.length) await this.requireNamespaces(add)
    const generation = await this.meshGeneration()
    const {planTenantAuthzFor, namespacesOutsideMeshFor} = await import('../mesh/tenant-authz3.js')
    const {readTenantAuthzFor} = await import('../read/authz.js')
    const input = {
      tenant,
      add,
      remove,
      delete: flags.delete,
      serving: flags.serving,
      eventing: flags.eventing,
      meshNamespace: mesh,
      clusterDomain: domain,
      defaults: flags.defaults,
      addToMesh: flags['add-to-mesh'],
    }
    if (tenant && !flags.delete && !input.addToMesh && !flags.yes && this.interactive && flags['dry-run'] === 'none' && !this.machineOutput) {
      // Offer what add-namespace would do, in the same change.
      const outside = namespacesOutsideMeshFor(await readTenantAuthzFor(await this.client(), mesh, generation), input)
      if (outside.length) {
        const {confirm} = await import('../ui/prompt.js')
        const where = generation.generation === 3 ? 'labeled for sidecar injection' : `in the ServiceMeshMemberRoll (${mesh}/${SMMR_NAME})`
        input.addToMesh = await confirm(
          `${outside.join(', ')} ${outside.length > 1 ? 'are' : 'is'} not ${where}: add ${outside.length > 1 ? 'them' : 'it'} in the same change?`,
        )
      }
    }
    // Concurrency 1: the engine writes in plan order (on Service Mesh 3 the ALLOW policies before deny-all-by-default).
    return this.change({read: (c) => readTenantAuthzFor(c, mesh, generation), plan: (s) => planTenantAuthzFor(s, input)}, {concurrency: 1})
  }

  private async list(mesh: string) {
    const {tenantsOf, tenantRows} = await import('../mesh/tenant-authz.js')
    const {readTenantList, readTenantList3} = await import('../read/authz.js')
    const generation = await this.meshGeneration()
    let policies: KObject[]
    let smmr: KObject | null = null
    let inMesh: ((ns: string) => boolean) | undefined
    if (generation.generation === 3) {
      const {injectedNamespace} = await import('../mesh/members3.js')
      const r = await readTenantList3(await this.client())
      policies = r.policies
      const byName = new Map((r.namespaces ?? []).map((n) => [n.metadata.name, n]))
      inMesh = (ns) => injectedNamespace(byName.get(ns), generation.istio)
    } else {
      ;({policies, smmr} = await readTenantList(await this.client(), mesh))
    }
    const tenants = tenantsOf(policies)
    const {stripServerFields} = await import('../kube/objects.js')
    const {toYaml} = await import('../ui/diff.js')
    const objs = () => tenants.flatMap((t) => t.policies).map((p) => stripServerFields(p))
    return {
      // --json: the tenants; -o json|yaml: their policies, as kubectl get prints objects.
      data: tenants.map((t) => ({name: t.name, namespaces: t.namespaces, policies: t.policies.length, serving: t.serving, eventing: t.eventing})),
      machine: (format: 'json' | 'yaml') =>
        format === 'yaml'
          ? objs()
              .map((o) => toYaml(o))
              .join('---\n')
          : JSON.stringify({apiVersion: 'v1', kind: 'List', items: objs()}, null, 2),
      table: {head: ['tenant', 'namespaces', 'policies', 'components', 'not in mesh'], rows: tenants.length ? tenantRows(tenants, smmr, inMesh) : []},
      footer: tenants.length === 0 ? 'no tenants: no AuthorizationPolicy carries the label knmesh.openshift.io/tenant' : undefined,
    } satisfies Result
  }
}
