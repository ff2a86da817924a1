import {Kinds, type KindInfo} from '../kube/kinds.js'
import {ensureArray, ensureObject, newObject, setAnnotations, upsertNamed, addToList} from '../change/edit.js'
import {info, warning, type Note, type Plan} from '../change/plan.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_EVENTING, KNATIVE_SERVING, SIDECAR_ANNOTATIONS} from './constants.js'
import {INGRESS_GATEWAY, LOCAL_GATEWAY} from './gateways.js'
import {ISTIO_INGRESS_CLASS, KOURIER_INGRESS_CLASS} from './ingress-mode.js'

/** Guide 1.4.3: Istio in KnativeServing, KnativeEventing and KnativeKafka, and the Kafka ServiceEntry. */

export const SERVING_DEPLOYMENTS = ['activator', 'autoscaler']
export const EVENTING_WORKLOADS = ['pingsource-mt-adapter', 'imc-dispatcher', 'mt-broker-ingress', 'mt-broker-filter']
export const KAFKA_WORKLOADS = [
  'kafka-controller',
  'kafka-broker-receiver',
  'kafka-broker-dispatcher',
  'kafka-channel-receiver',
  'kafka-channel-dispatcher',
  'kafka-source-dispatcher',
  'kafka-sink-receiver',
]
export const KNATIVE_KAFKA = 'knative-kafka'
export const KAFKA_SERVICE_ENTRY = 'kafka-cluster'

export interface KafkaPort {
  number: number
  name: string
  protocol: string
}

/**
 * The guide's 1.4.3 step 7 example ports, verbatim. They repeat two names (`tcp-tls` on 9093 and 9096,
 * `tcp-sasl-tls` on 9094 and 9095), which istiod refuses ("service entry port name "tcp-tls" already defined",
 * istio pkg/config/validation ValidateServiceEntry): knmesh writes {@link DEFAULT_KAFKA_PORTS} instead.
 */
export const GUIDE_KAFKA_PORTS: readonly KafkaPort[] = Object.freeze([
  {number: 9092, name: 'tcp-plain', protocol: 'TCP'},
  {number: 9093, name: 'tcp-tls', protocol: 'TCP'},
  {number: 9094, name: 'tcp-sasl-tls', protocol: 'TCP'},
  {number: 9095, name: 'tcp-sasl-tls', protocol: 'TCP'},
  {number: 9096, name: 'tcp-tls', protocol: 'TCP'},
])

/** Istio port names are DNS-1123 labels: at most 63 characters. */
const PORT_NAME_MAX = 63

/** `name` made unique among `taken` by appending `-<number>` (then `-<number>-2`, …), within 63 characters. */
export function uniquePortName(name: string, number: number, taken: Set<string>): string {
  if (!taken.has(name)) return name
  for (let i = 1; ; i++) {
    const suffix = i === 1 ? `-${number}` : `-${number}-${i}`
    const candidate = name.slice(0, PORT_NAME_MAX - suffix.length).replace(/-+$/, '') + suffix
    if (!taken.has(candidate)) return candidate
  }
}

/**
 * The guide's example ports with the names made unique: a name already used by an earlier port gets
 * `-<number>` appended (9095 → `tcp-sasl-tls-9095`, 9096 → `tcp-tls-9096`); numbers and protocols as the guide.
 */
export const DEFAULT_KAFKA_PORTS: KafkaPort[] = (() => {
  const taken = new Set<string>()
  return GUIDE_KAFKA_PORTS.map((p) => {
    const name = uniquePortName(p.name, p.number, taken)
    taken.add(name)
    return {...p, name}
  })
})()

export interface IstioState {
  serving: KObject | null
  /** null: absent or the kind is not served. */
  eventing: KObject | null
  kafka: KObject | null
  serviceEntry: KObject | null
}

export interface IstioInput {
  meshNamespace: string
  /** false: --no-eventing. */
  eventing: boolean
  /** --kafka-bootstrap host:port,… (else taken from the KnativeKafka). */
  kafkaBootstrap?: string[]
  kafkaPorts?: KafkaPort[]
}

/** spec.config.istio of KnativeServing: the gateway services in the mesh namespace. */
export function istioGatewayConfig(meshNamespace: string): Record<string, string> {
  return {
    [`gateway.${KNATIVE_SERVING}.${INGRESS_GATEWAY}`]: `istio-ingressgateway.${meshNamespace}.svc.cluster.local`,
    [`local-gateway.${KNATIVE_SERVING}.${LOCAL_GATEWAY}`]: `${LOCAL_GATEWAY}.${meshNamespace}.svc.cluster.local`,
  }
}

function annotateAll(obj: KObject, listField: 'deployments' | 'workloads', names: string[]): void {
  const list = ensureArray(obj, ['spec', listField])
  for (const n of names) setAnnotations(upsertNamed(list, n), SIDECAR_ANNOTATIONS)
}

/**
 * The KnativeServing of guide 1.4.3 step 1: spec.ingress.istio.enabled, the activator/autoscaler sidecar
 * annotations and spec.config.istio's gateways. Since Kourier takes precedence over Istio when both are enabled
 * (serverless-operator release-1.32, openshift-knative-operator/pkg/serving/ingress.go), an enabled Kourier is
 * turned off and an explicit Kourier ingress class (spec.config.network "ingress-class"/"ingress.class") becomes
 * Istio's: otherwise the cluster would keep serving through Kourier. See kourierOverrides() for the notes.
 */
export function desiredServing(live: KObject | null, meshNamespace: string): KObject {
  const ks = istioIngress(live)
  annotateAll(ks, 'deployments', SERVING_DEPLOYMENTS)
  Object.assign(ensureObject(ks, ['spec', 'config', 'istio']), istioGatewayConfig(meshNamespace))
  return ks
}

const INGRESS_CLASS_KEYS = ['ingress-class', 'ingress.class']

/**
 * The KnativeServing edited from `live` (or new) with Istio as its ingress: spec.ingress.istio.enabled, an enabled
 * Kourier turned off, an explicit Kourier ingress class made Istio's (both generations; see desiredServing()).
 */
export function istioIngress(live: KObject | null): KObject {
  const ks = live ? structuredClone(live) : newObject(Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING)
  const ingress = ensureObject(ks, ['spec', 'ingress'])
  ensureObject(ks, ['spec', 'ingress', 'istio']).enabled = true
  if (ingress.kourier?.enabled === true) ingress.kourier.enabled = false
  const network = ks.spec?.config?.network
  for (const k of INGRESS_CLASS_KEYS) if (network?.[k] === KOURIER_INGRESS_CLASS) network[k] = ISTIO_INGRESS_CLASS
  return ks
}

/** What desiredServing() turns off so that Istio is the ingress: one warning each (Kourier's Routes stop serving). */
export function kourierOverrides(live: KObject | null): Note[] {
  const out: Note[] = []
  if (live?.spec?.ingress?.kourier?.enabled === true) {
    out.push(
      warning(
        'KnativeServing enables Kourier, which takes precedence over Istio: spec.ingress.kourier.enabled is set to false (Knative Services then go through the mesh gateways)',
      ),
    )
  }
  for (const k of INGRESS_CLASS_KEYS) {
    if (live?.spec?.config?.network?.[k] === KOURIER_INGRESS_CLASS)
      out.push(warning(`KnativeServing spec.config.network "${k}" names Kourier: it is set to ${ISTIO_INGRESS_CLASS}`))
  }
  return out
}

export function desiredEventing(live: KObject): KObject {
  const ke = structuredClone(live)
  ensureObject(ke, ['spec', 'config', 'features']).istio = 'enabled'
  annotateAll(ke, 'workloads', EVENTING_WORKLOADS)
  return ke
}

export function desiredKafka(live: KObject): KObject {
  const kk = structuredClone(live)
  annotateAll(kk, 'workloads', KAFKA_WORKLOADS)
  return kk
}

/** "a:9092, b:9093" → ["a", "b"]: the hosts without ports, repeats removed. IPv6 "[::1]:9092" → "::1". */
export function bootstrapHosts(servers: string[]): string[] {
  const hosts = servers
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(s)
      if (v6) return v6[1]
      return s.replace(/:\d+$/, '')
    })
  return [...new Set(hosts)]
}

/** The bootstrap servers a KnativeKafka names (channel and broker). */
export function kafkaBootstrapOf(kafka: KObject | null): string[] {
  const out: string[] = []
  for (const v of [kafka?.spec?.channel?.bootstrapServers, kafka?.spec?.broker?.defaultConfig?.bootstrapServers]) {
    if (typeof v === 'string' && v.trim()) out.push(v)
  }
  return out
}

/**
 * The ports named by bootstrap servers ("a:9092, b:9443" → [9092, 9443]), repeats removed; a server without a
 * port names none.
 */
export function bootstrapPorts(servers: string[]): number[] {
  const ports = servers
    .flatMap((s) => s.split(','))
    .map((s) => /:(\d+)$/.exec(s.trim().replace(/^\[[^\]]*\]/, '')))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
  return [...new Set(ports)]
}

/**
 * The Kafka ServiceEntry kafka-cluster (guide 1.4.3 step 7), edited from `live`: its other fields, hosts and
 * ports are kept. Each port of `ports` is set by number (name, protocol); each of `requiredPorts` (the bootstrap
 * servers' ports) missing by number is added as `tcp-<number>`. Then every port name and number is made unique,
 * as istiod requires: a repeated name gets `-<number>` appended, a repeated number (only a live object can have
 * one) is dropped. Each such repair and each added bootstrap port is a note. A new object is of `kind`
 * (networking.istio.io/v1alpha3 on 2.x; v1 on Service Mesh 3 when served).
 */
export function desiredServiceEntry(
  live: KObject | null,
  hosts: string[],
  ports: KafkaPort[],
  requiredPorts: number[] = [],
  notes: Note[] = [],
  kind: KindInfo = Kinds.ServiceEntry,
): KObject {
  const se = live ? structuredClone(live) : newObject(kind, KAFKA_SERVICE_ENTRY, KNATIVE_EVENTING)
  const spec = ensureObject(se, ['spec'])
  addToList(ensureArray(se, ['spec', 'hosts']) as unknown as string[], hosts)
  spec.exportTo = spec.exportTo ?? ['.']
  const list = ensureArray(se, ['spec', 'ports'])
  for (const p of ports) {
    const entry = list.find((e) => Number(e?.number) === p.number)
    if (entry) Object.assign(entry, p)
    else list.push({...p})
  }
  for (const n of requiredPorts) {
    if (list.some((e) => Number(e?.number) === n)) continue
    list.push({number: n, name: `tcp-${n}`, protocol: 'TCP'})
    notes.push(info(`port ${n} of the Kafka bootstrap servers is not among the listener ports: ServiceEntry ${KAFKA_SERVICE_ENTRY} gets it as tcp-${n}`))
  }
  const names = new Set<string>()
  const numbers = new Set<number>()
  const unique: typeof list = []
  for (const e of list) {
    const n = Number(e?.number)
    if (numbers.has(n)) {
      notes.push(
        warning(
          `ServiceEntry ${KAFKA_SERVICE_ENTRY} lists port ${n} twice: the repeat (name ${JSON.stringify(e?.name)}) is removed, as istiod refuses a repeated port number`,
        ),
      )
      continue
    }
    numbers.add(n)
    if (typeof e?.name === 'string' && names.has(e.name)) {
      const renamed = uniquePortName(e.name, n, names)
      notes.push(info(`ServiceEntry ${KAFKA_SERVICE_ENTRY}: port ${n} is renamed ${e.name} → ${renamed}, as istiod refuses a repeated port name`))
      e.name = renamed
    }
    if (typeof e?.name === 'string') names.add(e.name)
    unique.push(e)
  }
  spec.ports = unique
  spec.location = 'MESH_EXTERNAL'
  spec.resolution = 'NONE'
  return se
}

/** What differs between the generations in enable-istio: how each custom resource is edited, and the ServiceEntry's apiVersion. */
export interface IstioEdits {
  serving: (live: KObject | null) => KObject
  eventing: (live: KObject) => KObject
  kafka: (live: KObject) => KObject
  serviceEntryKind: KindInfo
}

/** enable-istio on Service Mesh 2 (guide 1.4.3): {@link planEnableIstioWith} with the guide's annotations. */
export function planEnableIstio(state: IstioState, input: IstioInput): Plan {
  return planEnableIstioWith(state, input, {
    serving: (live) => desiredServing(live, input.meshNamespace),
    eventing: desiredEventing,
    kafka: desiredKafka,
    serviceEntryKind: Kinds.ServiceEntry,
  })
}

/**
 * enable-istio's plan, for either generation's `edits` (src/mesh/istio3.ts for Service Mesh 3): KnativeServing
 * (created when absent), KnativeEventing unless --no-eventing or absent, KnativeKafka when present, and the
 * ServiceEntry kafka-cluster when a KnativeKafka or --kafka-bootstrap names bootstrap servers. `notes` may already
 * hold the edits' own notes.
 */
export function planEnableIstioWith(state: IstioState, input: IstioInput, edits: IstioEdits, notes: Note[] = []): Plan {
  const items: Plan['items'] = []
  if (!state.serving) notes.push(info(`KnativeServing ${KNATIVE_SERVING}/${KNATIVE_SERVING} does not exist: it will be created with Istio enabled`))
  items.push({live: state.serving, desired: edits.serving(state.serving)})
  notes.push(...kourierOverrides(state.serving))

  if (!input.eventing) notes.push(info('KnativeEventing skipped (--no-eventing)'))
  else if (state.eventing) items.push({live: state.eventing, desired: edits.eventing(state.eventing)})
  else notes.push(info(`no KnativeEventing in ${KNATIVE_EVENTING}: nothing to do for Eventing`))

  if (state.kafka) items.push({live: state.kafka, desired: edits.kafka(state.kafka)})
  const servers = input.kafkaBootstrap?.length ? input.kafkaBootstrap : kafkaBootstrapOf(state.kafka)
  if (state.kafka || input.kafkaBootstrap?.length) {
    if (!state.kafka)
      notes.push(warning(`no KnativeKafka in ${KNATIVE_EVENTING}: only the ServiceEntry is written; run enable-istio again once Knative Kafka is installed`))
    const hosts = bootstrapHosts(servers)
    if (hosts.length === 0) {
      notes.push(warning(`KnativeKafka names no bootstrap servers: pass --kafka-bootstrap host:port to write the ServiceEntry ${KAFKA_SERVICE_ENTRY}`))
    } else {
      items.push({
        live: state.serviceEntry,
        desired: desiredServiceEntry(
          state.serviceEntry,
          hosts,
          input.kafkaPorts ?? DEFAULT_KAFKA_PORTS,
          bootstrapPorts(servers),
          notes,
          edits.serviceEntryKind,
        ),
      })
    }
  }
  return {items, notes}
}
