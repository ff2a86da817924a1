import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {CheckFailedError} from '../errors.js'

export default class Precheck extends KnmeshCommand {
  static summary = 'Check the prerequisites of the Service Mesh integration (read-only)'
  static description = `Verifies what guide section 1.4.1 (and 1.1) asks before installing: no Gateway other than knative-serving's binds port 443 with host "*"; the mesh's istio-ingressgateway Service is not exposed as NodePort or LoadBalancer; the CRDs the other verbs need are served (ServiceMeshControlPlane, ServiceMeshMemberRoll, Gateway, KnativeServing; KnativeEventing and KnativeKafka are optional); a ServiceMeshControlPlane exists in the mesh namespace and runs Service Mesh 2.2 or later.

On Service Mesh 3 (Sail operator) the control-plane rows are: the Sail CRDs are served; an Istio whose spec.namespace is the mesh namespace is Ready and runs a version the served CRD lists; IstioCNI "default" is Ready; knative-serving-ingress exists and its Service knative-istio-ingressgateway is not NodePort or LoadBalancer.

Prints one row per check (ok, warning or failure) with the knmesh verb or manual step that fixes each problem. Changes nothing. Exits 1 when a check fails.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --mesh-namespace my-mesh',
    '<%= config.bin %> <%= command.id %> -o json',
  ]

  static readsOnly = true
  static flags = {...meshNamespaceFlag}

  async run() {
    const {flags} = await this.parseFlags(Precheck)
    const mesh = flags['mesh-namespace']
    const {precheckChecks, failed} = await import('../mesh/precheck.js')
    const {readPrecheck} = await import('../read/install.js')
    // Fixes name the verb as the user calls it: "oc knmesh …" or "kubectl knmesh …".
    const generation = await this.meshGeneration()
    const checks = precheckChecks(await readPrecheck(await this.client(), mesh, generation)).map((c) => (c.fix ? {...c, fix: this.named(c.fix)} : c))
    const failures = failed(checks)
    const report = {meshNamespace: mesh, ok: failures.length === 0, checks}
    const footer = failures.length ? undefined : `all checks passed${checks.some((c) => c.status === 'warning') ? ' (with warnings)' : ''}`
    return {
      data: report,
      table: {head: ['check', 'status', 'detail', 'fix'], rows: checks.map((c) => [c.id, c.status, c.detail, c.status === 'ok' ? '' : c.fix])},
      footer,
      error: failures.length ? new CheckFailedError(`${failures.length} check(s) failed: ${failures.map((f) => f.id).join(', ')}`) : undefined,
    }
  }
}
