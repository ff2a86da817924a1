import {Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {validateObjectName} from '../mesh/names.js'

export default class EnableMetrics extends KnmeshCommand {
  static summary = 'Enable Knative Serving metrics with Service Mesh and mTLS (guide 1.5)'
  static description = `With mTLS, Service Mesh keeps Prometheus from scraping Knative Serving. Guide 1.5 fixes that in three places; this verb makes all three as the guide shows, keeping every other field:

  1. KnativeServing knative-serving: spec.config.observability["metrics.backend-destination"] = "prometheus"
  2. NetworkPolicy allow-from-openshift-monitoring-ns in knative-serving, letting namespace name=openshift-monitoring in
     (left alone when another NetworkPolicy there already lets openshift-monitoring reach every pod). With
     spec.ingress.istio.enabled the Serverless Operator generates this policy itself (selector
     kubernetes.io/metadata.name=openshift-monitoring) and reconciles it back: knmesh then leaves it to the operator
     and says so, unless the KnativeServing carries serverless.openshift.io/disable-istio-net-policies-generation: "true".
  3. ServiceMeshControlPlane: inbound excludedPorts include 8444 (the same port logic as configure-mesh)

On Service Mesh 3: step 1 as above; step 3 on the Istio (spec.values.global.proxy.excludeInboundPorts, a comma-separated string, user ports kept); step 2 only when NetworkPolicies in knative-serving isolate its pods (Service Mesh 3 creates none; enable-istio turns the operator's off).`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --yes',
    '<%= config.bin %> <%= command.id %> --mesh-namespace my-mesh --name production --dry-run=client',
  ]

  static flags = {
    ...meshNamespaceFlag,
    name: Flags.string({description: 'the ServiceMeshControlPlane to edit (when the mesh namespace has several), as in configure-mesh', helpValue: 'NAME'}),
  }

  async run() {
    const {flags} = await this.parseFlags(EnableMetrics)
    const mesh = flags['mesh-namespace']
    if (flags.name) validateObjectName(flags.name, 'ServiceMeshControlPlane name')
    const {planEnableMetrics} = await import('../mesh/metrics.js')
    const {readMetrics} = await import('../read/metrics.js')
    const generation = await this.meshGeneration()
    return this.change({
      read: (c) => readMetrics(c, mesh, generation),
      plan: (s) => planEnableMetrics(s, {meshNamespace: mesh, smcpName: flags.name}),
    })
  }
}
