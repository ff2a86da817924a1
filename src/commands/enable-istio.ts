import {Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {UsageError} from '../errors.js'
import {splitList, validateObjectName} from '../mesh/names.js'

const HOST = /^(\[[0-9a-fA-F:.]+\]|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)(:\d{1,5})?$/
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

export default class EnableIstio extends KnmeshCommand {
  static summary = 'Turn on the Istio integration in Knative Serving, Eventing and Kafka'
  static description = `Does guide section 1.4.3: in KnativeServing knative-serving, sets spec.ingress.istio.enabled, gives the activator and autoscaler entries of spec.deployments the two sidecar annotations (merged by name with existing entries) and points spec.config.istio's gateway keys at the mesh namespace. In KnativeEventing (when present; --no-eventing skips it), sets config.features.istio: enabled and annotates its four workloads. In KnativeKafka (when present), annotates its seven workloads, and writes the ServiceEntry kafka-cluster in knative-eventing with the bootstrap hosts (from --kafka-bootstrap or the KnativeKafka, ports stripped) and the guide's listener ports 9092-9096 (or --kafka-ports) plus every port the bootstrap servers name. Port names are unique, as istiod requires: where the guide's example repeats a name (tcp-tls on 9093 and 9096, tcp-sasl-tls on 9094 and 9095), the second gets -<number> appended (tcp-sasl-tls-9095, tcp-tls-9096).

On Service Mesh 3 (an Istio serves the mesh namespace) it does what the Service Mesh 3 docs do instead: KnativeServing and KnativeEventing get the annotation serverless.openshift.io/disable-istio-net-policies-generation: "true"; the workloads get the label sidecar.istio.io/inject: "true" (plus istio.io/rev=REVISION when the Istio's active revision is not "default") instead of the annotation, which Service Mesh 3 ignores (a 2.x inject annotation found there becomes the label, with a note); Eventing's workloads include job-sink; spec.config.istio names the Services in knative-serving-ingress (see create-gateways); the ServiceEntry is networking.istio.io/v1 when served.

Before that it checks the mesh side: when configure-mesh, create-gateways or add-namespace still have work to do, it offers to include them in the same change (on a terminal), includes them with --prerequisites, or says which to run.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --prerequisites --yes',
    '<%= config.bin %> <%= command.id %> --no-eventing --mesh-namespace my-mesh',
    '<%= config.bin %> <%= command.id %> --kafka-bootstrap my-cluster-kafka-bootstrap.kafka:9092 --kafka-ports 9092:tcp-plain,9093:tcp-tls',
    '<%= config.bin %> <%= command.id %> --mesh-version 3 --prerequisites --yes',
  ]

  static flags = {
    ...meshNamespaceFlag,
    eventing: Flags.boolean({description: 'configure KnativeEventing when it exists (--no-eventing skips it)', default: true, allowNo: true}),
    'kafka-bootstrap': Flags.string({
      description: "Kafka bootstrap servers host:port,… for the ServiceEntry kafka-cluster (default: the KnativeKafka's)",
      helpValue: 'HOST:PORT,…',
    }),
    'kafka-ports': Flags.string({
      description:
        "Kafka listener ports NUMBER[:NAME],… for the ServiceEntry (default: the guide's 9092-9096, names made unique); numbers and names must not repeat",
      helpValue: 'PORT[:NAME],…',
    }),
    prerequisites: Flags.boolean({
      description: 'also apply configure-mesh, create-gateways and add-namespace (Service Mesh 2) when they have work to do',
      default: false,
    }),
    secret: Flags.string({description: 'credential Secret for create-gateways, when included', default: 'wildcard-certs', helpValue: 'NAME'}),
  }

  async run() {
    const {flags} = await this.parseFlags(EnableIstio)
    const mesh = flags['mesh-namespace']
    const secret = validateObjectName(flags.secret, 'secret name')
    const kafkaBootstrap = splitList(flags['kafka-bootstrap'])
    for (const s of kafkaBootstrap) {
      if (!HOST.test(s) || Number(s.split(':').pop()) > 65535)
        throw new UsageError(`invalid --kafka-bootstrap entry "${s}": host:port expected, e.g. my-cluster-kafka-bootstrap.kafka:9092`)
    }
    if (flags['kafka-bootstrap'] !== undefined && kafkaBootstrap.length === 0) throw new UsageError('--kafka-bootstrap is empty')
    const kafkaPorts = flags['kafka-ports'] === undefined ? undefined : parsePorts(flags['kafka-ports'])

    const {planEnableIstioFor} = await import('../mesh/istio3.js')
    const {readIstioFor} = await import('../read/install.js')
    const pre = await import('../mesh/prerequisites.js')
    const {readPrerequisites} = await import('../read/prerequisites.js')
    const preInput = {meshNamespace: mesh, secret}
    const generation = await this.meshGeneration()

    // The mesh side first: offer what configure-mesh, create-gateways and add-namespace would still do.
    const findings = pre.prerequisiteFindings(await readPrerequisites(await this.client(), preInput, generation), preInput)
    const include: (typeof findings)[number]['verb'][] = []
    for (const f of findings) {
      if (f.offerable && flags.prerequisites) {
        include.push(f.verb)
        continue
      }
      if (f.offerable && this.interactive && !flags.yes && this.machineOutput === undefined) {
        const {confirm} = await import('../ui/prompt.js')
        this.printer.info(`${f.verb} has work to do: ${f.why}`)
        if (await confirm(`Include "${this.config.bin} ${f.verb}" in this change?`)) {
          include.push(f.verb)
          continue
        }
      }
      const command = this.named(f.command)
      this.printer.warn(f.offerable ? `${f.why}: run "${command}" (or pass --prerequisites)` : `${f.verb} cannot run as it is: ${f.why}`)
    }

    const input = {meshNamespace: mesh, eventing: flags.eventing, kafkaBootstrap, kafkaPorts}
    return this.change({
      read: async (c) => ({
        pre: include.length ? await readPrerequisites(c, preInput, generation) : undefined,
        istio: await readIstioFor(c, generation, {eventing: flags.eventing}),
      }),
      plan: (s) => {
        const mine = planEnableIstioFor(s.istio, input)
        if (!s.pre) return mine
        const p = pre.planPrerequisites(s.pre, preInput, include)
        return {items: [...p.items, ...mine.items], notes: [...p.notes, ...mine.notes]}
      },
    })
  }
}

/**
 * --kafka-ports "9092:tcp-plain,9093" → [{number: 9092, name: 'tcp-plain', protocol: 'TCP'}, {number: 9093, name:
 * 'tcp-9093', …}]. Throws UsageError (exit 2) on a malformed entry, a name that is not a DNS-1123 label, or a
 * repeated number or name (istiod refuses a ServiceEntry that repeats either).
 */
function parsePorts(value: string): {number: number; name: string; protocol: string}[] {
  // Not splitList(): it drops repeats, and a repeated port is an error here.
  const entries = value.split(/[,\s]+/).filter(Boolean)
  if (entries.length === 0) throw new UsageError('--kafka-ports is empty')
  const ports = entries.map((e) => {
    const [num, name, extra] = e.split(':')
    const n = Number(num)
    if (extra !== undefined || !/^\d+$/.test(num) || n < 1 || n > 65535)
      throw new UsageError(`invalid --kafka-ports entry "${e}": NUMBER or NUMBER:NAME expected, e.g. 9092:tcp-plain`)
    const portName = name ?? `tcp-${n}`
    if (!PORT_NAME.test(portName) || portName.length > 63)
      throw new UsageError(`invalid port name "${portName}" in --kafka-ports: lowercase letters, digits and '-', at most 63 characters`)
    return {number: n, name: portName, protocol: 'TCP'}
  })
  for (const [i, p] of ports.entries()) {
    const sameNumber = ports.findIndex((q) => q.number === p.number)
    if (sameNumber !== i)
      throw new UsageError(`--kafka-ports lists port ${p.number} twice: each port once (istiod refuses a ServiceEntry that repeats a port number)`)
    const sameName = ports.findIndex((q) => q.name === p.name)
    if (sameName !== i)
      throw new UsageError(
        `--kafka-ports gives the name "${p.name}" to ports ${ports[sameName].number} and ${p.number}: port names must be unique (istiod refuses a ServiceEntry that repeats a port name)`,
      )
  }
  return ports
}
