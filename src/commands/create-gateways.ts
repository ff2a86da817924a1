import {Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {validateObjectName} from '../mesh/names.js'

export default class CreateGateways extends KnmeshCommand {
  static summary = 'Create the Knative gateways of the mesh (knative-ingress-gateway, knative-local-gateway)'
  static description = `Creates or updates, exactly as guide section 1.4.2 steps 4-5: the Gateway knative-ingress-gateway in knative-serving (port 443, HTTPS, TLS SIMPLE with the credential Secret), the Gateway knative-local-gateway in knative-serving (port 8081, HTTPS, ISTIO_MUTUAL), and the Service knative-local-gateway in the mesh namespace with the label experimental.istio.io/disable-gateway-port-translation. Other servers, ports, labels and fields of existing objects are kept.

Warns when the credential Secret is missing from the mesh namespace (see "certs"), and refuses when another Gateway already binds port 443 with host "*" (see "precheck") unless --force.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --secret my-wildcard-certs --yes',
    '<%= config.bin %> <%= command.id %> --mesh-namespace my-mesh -o yaml --dry-run=client',
  ]

  static flags = {
    ...meshNamespaceFlag,
    secret: Flags.string({description: 'TLS Secret in the mesh namespace that knative-ingress-gateway serves', default: 'wildcard-certs', helpValue: 'NAME'}),
    force: Flags.boolean({description: 'go on although another Gateway binds port 443 with host "*"', default: false}),
  }

  async run() {
    const {flags} = await this.parseFlags(CreateGateways)
    const mesh = flags['mesh-namespace']
    const secret = validateObjectName(flags.secret, 'secret name')
    const {planGateways} = await import('../mesh/gateways.js')
    const {readGateways} = await import('../read/install.js')
    return this.change({
      read: (c) => readGateways(c, mesh, secret),
      plan: (s) => planGateways(s, {meshNamespace: mesh, secret, force: flags.force}),
    })
  }
}
