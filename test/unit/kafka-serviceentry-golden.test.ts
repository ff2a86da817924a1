/**
 * Guide 1.4.3 step 7: the Kafka ServiceEntry. The guide's example (test/fixtures/golden/guide/, verbatim) repeats port
 * names, which istiod refuses; knmesh writes it with the names made unique and nothing else changed. Every port
 * the bootstrap servers name is in the ServiceEntry; a live ServiceEntry keeps its other fields.
 */
import {describe, expect, it} from 'vitest'
import type {KObject, Json} from '../../src/kube/types.js'
import {bootstrapPorts, desiredServiceEntry, DEFAULT_KAFKA_PORTS, GUIDE_KAFKA_PORTS, planEnableIstio, type IstioState} from '../../src/mesh/istio.js'
import {GUIDE_KAFKA_SERVICE_ENTRY, KAFKA_PORT_RENAMES} from '../support/guide-chapter1.js'
import type {Note} from '../../src/change/plan.js'

const HOST = 'my-cluster-kafka-bootstrap.kafka'

/** Every leaf where a and b differ: [path, a's value, b's value]. */
function leafDiff(a: unknown, b: unknown, path = ''): [string, unknown, unknown][] {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys =
      Array.isArray(a) && Array.isArray(b) ? [...Array(Math.max(a.length, b.length)).keys()].map(String) : [...new Set([...Object.keys(a), ...Object.keys(b)])]
    return keys.flatMap((k) => leafDiff((a as Json)[k], (b as Json)[k], Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k))
  }
  return Object.is(a, b) ? [] : [[path, a, b]]
}

/** istiod's rule (istio pkg/config/validation ValidateServiceEntry): port names and numbers each once. */
function istiodPortErrors(se: KObject): string[] {
  const names = new Set<string>()
  const numbers = new Set<number>()
  const errors: string[] = []
  for (const p of se.spec.ports) {
    if (names.has(p.name)) errors.push(`service entry port name "${p.name}" already defined`)
    if (numbers.has(p.number)) errors.push(`service entry port ${p.number} already defined`)
    names.add(p.name)
    numbers.add(p.number)
  }
  return errors
}

const kafka = (bootstrapServers: string): KObject => ({
  apiVersion: 'operator.serverless.openshift.io/v1alpha1',
  kind: 'KnativeKafka',
  metadata: {name: 'knative-kafka', namespace: 'knative-eventing'},
  spec: {channel: {enabled: true, bootstrapServers}, source: {enabled: true}},
})
const state = (over: Partial<IstioState> = {}): IstioState => ({serving: null, eventing: null, kafka: kafka(`${HOST}:9092`), serviceEntry: null, ...over})
const seOf = (s: IstioState, input: {kafkaBootstrap?: string[]} = {}) => {
  const plan = planEnableIstio(s, {meshNamespace: 'istio-system', eventing: true, ...input})
  return {se: plan.items.find((i) => i.desired?.kind === 'ServiceEntry')!.desired!, notes: plan.notes}
}

describe("golden: the guide's Kafka ServiceEntry vs knmesh's", () => {
  it("differs from the guide's example exactly by the two repeated port names made unique", () => {
    const guide = structuredClone(GUIDE_KAFKA_SERVICE_ENTRY)
    guide.spec.hosts = [HOST] // the guide's placeholder <bootstrap_servers_without_port>
    const {se} = seOf(state())
    expect(leafDiff(guide, se)).toEqual([
      ['spec.ports[3].name', 'tcp-sasl-tls', 'tcp-sasl-tls-9095'],
      ['spec.ports[4].name', 'tcp-tls', 'tcp-tls-9096'],
    ])
    expect(Object.fromEntries(se.spec.ports.filter((p: Json, i: number) => p.name !== guide.spec.ports[i].name).map((p: Json) => [p.number, p.name]))).toEqual(
      KAFKA_PORT_RENAMES,
    )
    // The guide's own example is what istiod refuses; knmesh's passes the same rule.
    expect(istiodPortErrors(guide)).toEqual(['service entry port name "tcp-sasl-tls" already defined', 'service entry port name "tcp-tls" already defined'])
    expect(istiodPortErrors(se)).toEqual([])
    expect(GUIDE_KAFKA_PORTS).toEqual(GUIDE_KAFKA_SERVICE_ENTRY.spec.ports)
    expect(DEFAULT_KAFKA_PORTS.map((p) => p.name)).toEqual(['tcp-plain', 'tcp-tls', 'tcp-sasl-tls', 'tcp-sasl-tls-9095', 'tcp-tls-9096'])
  })

  it("repairs a live ServiceEntry applied from the guide (repeated names), keeping the user's other fields", () => {
    const live: KObject = structuredClone(GUIDE_KAFKA_SERVICE_ENTRY)
    live.metadata = {...live.metadata, labels: {team: 'data'}, resourceVersion: '7'}
    live.spec.hosts = [HOST, 'extra.kafka']
    live.spec.exportTo = ['knative-eventing', 'kafka']
    live.spec.subjectAltNames = ['spiffe://x']
    live.spec.ports.push({number: 9404, name: 'tcp-metrics', protocol: 'TCP', targetPort: 9404})
    const {se} = seOf(state({serviceEntry: live}))
    expect(se.metadata.labels).toEqual({team: 'data'})
    expect(se.spec.hosts).toEqual([HOST, 'extra.kafka'])
    expect(se.spec.exportTo).toEqual(['knative-eventing', 'kafka'])
    expect(se.spec.subjectAltNames).toEqual(['spiffe://x'])
    expect(se.spec.ports).toEqual([...DEFAULT_KAFKA_PORTS, {number: 9404, name: 'tcp-metrics', protocol: 'TCP', targetPort: 9404}])
    expect(istiodPortErrors(se)).toEqual([])
    // idempotent: a second plan over the result changes nothing
    expect(seOf(state({serviceEntry: se})).se).toEqual(se)
  })

  it("makes unique a knmesh port name a user's port already holds, and drops a repeated live port number", () => {
    const notes: Note[] = []
    const live: KObject = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'ServiceEntry',
      metadata: {name: 'kafka-cluster', namespace: 'knative-eventing'},
      spec: {
        hosts: [HOST],
        ports: [
          {number: 19093, name: 'tcp-tls', protocol: 'TCP'},
          {number: 9092, name: 'a', protocol: 'TCP'},
          {number: 9092, name: 'b', protocol: 'TCP'},
        ],
        location: 'MESH_EXTERNAL',
        resolution: 'NONE',
      },
    }
    const se = desiredServiceEntry(
      live,
      [HOST],
      [
        {number: 9092, name: 'tcp-plain', protocol: 'TCP'},
        {number: 9093, name: 'tcp-tls', protocol: 'TCP'},
      ],
      [],
      notes,
    )
    expect(se.spec.ports).toEqual([
      {number: 19093, name: 'tcp-tls', protocol: 'TCP'},
      {number: 9092, name: 'tcp-plain', protocol: 'TCP'},
      {number: 9093, name: 'tcp-tls-9093', protocol: 'TCP'},
    ])
    expect(istiodPortErrors(se)).toEqual([])
    expect(notes.map((n) => n.text)).toEqual([
      'ServiceEntry kafka-cluster lists port 9092 twice: the repeat (name "b") is removed, as istiod refuses a repeated port number',
      'ServiceEntry kafka-cluster: port 9093 is renamed tcp-tls → tcp-tls-9093, as istiod refuses a repeated port name',
    ])
  })
})

describe("the bootstrap servers' own ports are in the ServiceEntry", () => {
  it('reads the port of every server, IPv6 included', () => {
    expect(bootstrapPorts([`${HOST}:9443, b.kafka:9092`, '[fd00::1]:19092', 'noport.kafka', 'c.kafka:9443'])).toEqual([9443, 9092, 19092])
  })

  it("--kafka-bootstrap host:9443 adds 9443 as tcp-9443 after the guide's ports, and says so", () => {
    const {se, notes} = seOf(state({kafka: null}), {kafkaBootstrap: [`${HOST}:9443`]})
    expect(se.spec.hosts).toEqual([HOST])
    expect(se.spec.ports).toEqual([...DEFAULT_KAFKA_PORTS, {number: 9443, name: 'tcp-9443', protocol: 'TCP'}])
    expect(notes.map((n) => n.text)).toContain(
      'port 9443 of the Kafka bootstrap servers is not among the listener ports: ServiceEntry kafka-cluster gets it as tcp-9443',
    )
  })

  it('several servers: each missing port once; a port already listed is left as it is', () => {
    const {se} = seOf(state(), {kafkaBootstrap: ['a.kafka:9093,b.kafka:19092', 'c.kafka:19092', 'd.kafka:29092']})
    expect(se.spec.hosts).toEqual(['a.kafka', 'b.kafka', 'c.kafka', 'd.kafka'])
    expect(se.spec.ports.map((p: Json) => [p.number, p.name])).toEqual([
      ...DEFAULT_KAFKA_PORTS.map((p) => [p.number, p.name]),
      [19092, 'tcp-19092'],
      [29092, 'tcp-29092'],
    ])
  })

  it("the KnativeKafka's bootstrap servers count too (channel and broker)", () => {
    const kk = kafka('k.kafka:9094')
    kk.spec.broker = {enabled: true, defaultConfig: {bootstrapServers: 'k.kafka:31000'}}
    const {se} = seOf(state({kafka: kk}))
    expect(se.spec.ports.at(-1)).toEqual({number: 31000, name: 'tcp-31000', protocol: 'TCP'})
    expect(se.spec.ports).toHaveLength(6)
  })
})
