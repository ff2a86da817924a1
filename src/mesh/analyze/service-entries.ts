import {KNATIVE_EVENTING, meshFlag} from '../constants.js'
import {bootstrapHosts, kafkaBootstrapOf} from '../istio.js'
import {finding, ref, type Finding, type Rule} from './types.js'
import type {JsonObject} from '../../kube/types.js'

/** ServiceEntries (guide 1.4.3 step 6: Kafka). */

type Obj = JsonObject

export const KNM0201: Rule = {
  code: 'KNM0201',
  severity: 'Error',
  summary:
    "A ServiceEntry repeats a port name or a port number: istiod rejects it (the guide's own Kafka example repeats tcp-tls and tcp-sasl-tls); on Service Mesh 3 the ServiceEntry CRD refuses it too (N10).",
  run(s) {
    const out: Finding[] = []
    for (const se of s.serviceEntries) {
      const ports: Obj[] = Array.isArray(se.spec?.ports) ? se.spec.ports : []
      const dup = (values: unknown[]) => [...new Set(values.filter((v, i) => v !== undefined && values.indexOf(v) !== i))]
      const names = dup(ports.map((p) => p?.name))
      const numbers = dup(ports.map((p) => (p?.number === undefined ? undefined : Number(p.number))))
      const parts = [
        ...(names.length ? [`port name${names.length > 1 ? 's' : ''} ${names.join(', ')}`] : []),
        ...(numbers.length ? [`port number${numbers.length > 1 ? 's' : ''} ${numbers.join(', ')}`] : []),
      ]
      // Service Mesh 3 (N10): the ServiceEntry CRD keys spec.ports by name, so such an object (stored before) cannot be updated either.
      const why =
        s.generation === 3
          ? 'the Service Mesh 3 ServiceEntry CRD refuses it (spec.ports is a map keyed by name, numbers unique): it cannot even be updated, and istiod rejects it'
          : 'istiod rejects the ServiceEntry'
      if (parts.length)
        out.push(
          finding(
            KNM0201,
            [ref(se)],
            `repeats ${parts.join(' and ')}: ${why}, its hosts stay unreachable from the mesh`,
            'give each port a unique name and number (e.g. tcp-tls-9093, tcp-tls-9096)',
          ),
        )
    }
    return out
  },
}

/** "a:9092,[::1]:9093" → [["a", 9092], ["::1", 9093]]: entries without a port are left out. */
export function bootstrapPorts(servers: string[]): {host: string; port: number}[] {
  const out: {host: string; port: number}[] = []
  for (const entry of servers
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(entry)
    if (m) out.push({host: m[1] ?? m[2], port: Number(m[3])})
  }
  return out
}

export const KNM0202: Rule = {
  code: 'KNM0202',
  severity: 'Error',
  summary:
    'A Kafka bootstrap server of KnativeKafka (host:port) is covered by no ServiceEntry of knative-eventing with that host and port: the Kafka data plane cannot reach the brokers.',
  run(s) {
    if (!s.kafka) return []
    const ses = s.serviceEntries.filter((se) => se.metadata.namespace === KNATIVE_EVENTING)
    const out: Finding[] = []
    const hosts = new Set(bootstrapHosts(kafkaBootstrapOf(s.kafka)))
    const seen = new Set<string>()
    for (const {host, port} of bootstrapPorts(kafkaBootstrapOf(s.kafka))) {
      // Channel and broker often name the same servers: one finding each.
      if (!hosts.has(host) || seen.has(`${host}:${port}`)) continue
      seen.add(`${host}:${port}`)
      const covering = ses.filter((se) => Array.isArray(se.spec?.hosts) && se.spec.hosts.includes(host))
      if (covering.some((se) => (se.spec?.ports ?? []).some((p: Obj) => Number(p?.number) === port))) continue
      const seRefs = covering.map((se) => ref(se))
      out.push(
        finding(
          KNM0202,
          [ref(s.kafka), ...seRefs],
          `bootstrap server ${host}:${port}: ${covering.length ? `ServiceEntry ${covering.map((c) => c.metadata.name).join(', ')} lists host ${host} but not port ${port}` : `no ServiceEntry in ${KNATIVE_EVENTING} lists host ${host}`}`,
          `knmesh enable-istio --kafka-ports ${port}:tcp-${port}${meshFlag(s.meshNamespace)}`,
        ),
      )
    }
    return out
  },
}

export const SERVICE_ENTRY_RULES = [KNM0201, KNM0202]
