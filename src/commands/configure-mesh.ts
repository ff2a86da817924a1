import {Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {NotAppliedError} from '../errors.js'
import {validateObjectName} from '../mesh/names.js'

export default class ConfigureMesh extends KnmeshCommand {
  static summary = 'Give the ServiceMeshControlPlane the settings Serverless needs'
  static description = `Makes the ServiceMeshControlPlane in the mesh namespace carry what guide sections 1.4.2 step 1 and 1.5 step 3 require: security.dataPlane.mtls true, techPreview.meshConfig.defaultConfig.terminationDrainDuration 35s, the label knative: ingressgateway on the ingress gateway service, and the inbound excludedPorts 8444 (metrics) and 8022 (wait-for-drain). Everything else in the control plane, other excluded ports and labels included, is kept.

With no control plane in the namespace, --create creates "basic" with the default profile, as the guide does. With several, asks which one (or pass --name).`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --create --yes',
    '<%= config.bin %> <%= command.id %> --name basic --mesh-namespace istio-system --dry-run=client',
  ]

  static flags = {
    ...meshNamespaceFlag,
    name: Flags.string({description: 'the ServiceMeshControlPlane to configure (when there are several)', helpValue: 'NAME'}),
    create: Flags.boolean({description: 'create the control plane ("basic", or --name) when it does not exist', default: false}),
  }

  async run() {
    const {flags} = await this.parseFlags(ConfigureMesh)
    const mesh = flags['mesh-namespace']
    let name = flags.name === undefined ? undefined : validateObjectName(flags.name, 'control plane name')
    const {planConfigureMeshFor} = await import('../mesh/configure.js')
    const {readMesh, readMeshFor} = await import('../read/install.js')
    const generation = await this.meshGeneration()
    if (!name && this.interactive && generation.generation === 2) {
      const {smcps} = await readMesh(await this.client(), mesh)
      if (smcps.length > 1) {
        const {select} = await import('../ui/prompt.js')
        name = await select(
          `Several ServiceMeshControlPlanes in ${mesh}: which one serves Serverless?`,
          smcps.map((s) => s.metadata.name),
        )
        if (!name) throw new NotAppliedError('aborted: nothing changed')
      }
    }
    return this.change({
      read: (c) => readMeshFor(c, mesh, generation),
      plan: (s) => planConfigureMeshFor(s, {meshNamespace: mesh, name, create: flags.create}),
    })
  }
}
