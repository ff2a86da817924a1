import {Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {validateObjectName} from '../mesh/names.js'

export default class CreateGateways extends KnmeshCommand {
  static summary = 'Create the Knative gateways of the mesh (knative-ingress-gateway, knative-local-gateway)'
  static description = `Creates or updates, exactly as guide section 1.4.2 steps 4-5: the Gateway knative-ingress-gateway in knative-serving (port 443, HTTPS, TLS SIMPLE with the credential Secret), the Gateway knative-local-gateway in knative-serving (port 8081, HTTPS, ISTIO_MUTUAL), and the Service knative-local-gateway in the mesh namespace with the label experimental.istio.io/disable-gateway-port-translation. Other servers, ports, labels and fields of existing objects are kept.

On Service Mesh 3 (an Istio serves the mesh namespace), where the mesh deploys no gateway, it writes the Service Mesh 3 docs' gateway in knative-serving-ingress (the namespace is created when missing): the Deployment knative-istio-ingressgateway with gateway injection (pod label istio.io/rev=REVISION when the Istio's active revision is not "default"), the Role and RoleBinding istio-ingressgateway-sds that let it read its Secret, the Services knative-istio-ingressgateway (ClusterIP, http2 80→8080, https 443→8443) and knative-local-gateway (http2 80→8081); the two Gateways stay in knative-serving (networking.istio.io/v1 when served), the local one plain HTTP on 8081.

Warns when the credential Secret is missing from the gateway's namespace (the mesh namespace; knative-serving-ingress on Service Mesh 3; see "certs"), and refuses when another Gateway already binds port 443 with host "*" (see "precheck") unless --force.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --secret my-wildcard-certs --yes',
    '<%= config.bin %> <%= command.id %> --mesh-namespace my-mesh -o yaml --dry-run=client',
    '<%= config.bin %> <%= command.id %> --mesh-version 3 --yes',
  ]

  static flags = {
    ...meshNamespaceFlag,
    secret: Flags.string({
      description: 'TLS Secret that knative-ingress-gateway serves (in the mesh namespace; knative-serving-ingress on Service Mesh 3)',
      default: 'wildcard-certs',
      helpValue: 'NAME',
    }),
    force: Flags.boolean({description: 'go on although another Gateway binds port 443 with host "*"', default: false}),
  }

  async run() {
    const {flags} = await this.parseFlags(CreateGateways)
    const mesh = flags['mesh-namespace']
    const secret = validateObjectName(flags.secret, 'secret name')
    const {planGatewaysFor} = await import('../mesh/gateways3.js')
    const {readGatewaysFor} = await import('../read/install.js')
    const generation = await this.meshGeneration()
    return this.change({
      read: (c) => readGatewaysFor(c, mesh, generation, secret),
      plan: (s) => planGatewaysFor(s, {meshNamespace: mesh, secret, force: flags.force}),
    })
  }
}
