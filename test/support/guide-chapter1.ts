/**
 * The oracle: the YAML of guide chapter 1 (sections 1.4.2, 1.4.3), written
 * out by hand from the guide, for unit and integration tests to compare with.
 * Never built from knmesh's own code.
 */

import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'

export const SIDECAR = {'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/rewriteAppHTTPProbers': 'true'}

/** 1.4.2 step 1: the SMCP's spec (name basic, namespace istio-system). */
export const SMCP_SPEC = {
  profiles: ['default'],
  security: {dataPlane: {mtls: true}},
  techPreview: {meshConfig: {defaultConfig: {terminationDrainDuration: '35s'}}},
  gateways: {ingress: {service: {metadata: {labels: {knative: 'ingressgateway'}}}}},
  proxy: {networking: {trafficControl: {inbound: {excludedPorts: [8444, 8022]}}}},
}

/** 1.4.2 step 4, with credentialName wildcard-certs. */
export const INGRESS_GATEWAY_SPEC = {
  selector: {knative: 'ingressgateway'},
  servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'SIMPLE', credentialName: 'wildcard-certs'}}],
}

export const LOCAL_GATEWAY_SPEC = {
  selector: {knative: 'ingressgateway'},
  servers: [{port: {number: 8081, name: 'https', protocol: 'HTTPS'}, tls: {mode: 'ISTIO_MUTUAL'}, hosts: ['*']}],
}

export const LOCAL_GATEWAY_SERVICE = {
  labels: {'experimental.istio.io/disable-gateway-port-translation': 'true'},
  spec: {type: 'ClusterIP', selector: {istio: 'ingressgateway'}, ports: [{name: 'http2', port: 80, targetPort: 8081}]},
}

/** 1.4.3 step 1, for a mesh in `mesh`. */
export function servingSpec(mesh = 'istio-system') {
  return {
    ingress: {istio: {enabled: true}},
    deployments: [
      {name: 'activator', annotations: SIDECAR},
      {name: 'autoscaler', annotations: SIDECAR},
    ],
    config: {
      istio: {
        'gateway.knative-serving.knative-ingress-gateway': `istio-ingressgateway.${mesh}.svc.cluster.local`,
        'local-gateway.knative-serving.knative-local-gateway': `knative-local-gateway.${mesh}.svc.cluster.local`,
      },
    },
  }
}

/** 1.4.3 step 3. */
export const EVENTING_WORKLOADS = ['pingsource-mt-adapter', 'imc-dispatcher', 'mt-broker-ingress', 'mt-broker-filter']

/** 1.4.3 step 5. */
export const KAFKA_WORKLOADS = [
  'kafka-controller',
  'kafka-broker-receiver',
  'kafka-broker-dispatcher',
  'kafka-channel-receiver',
  'kafka-channel-dispatcher',
  'kafka-source-dispatcher',
  'kafka-sink-receiver',
]

/** The guide's 1.4.3 step 7 example ServiceEntry, verbatim (test/fixtures/golden/guide/1.4.3-step7-kafka-serviceentry.yaml). */
export const GUIDE_KAFKA_SERVICE_ENTRY = parse(
  readFileSync(fileURLToPath(new URL('../fixtures/golden/guide/1.4.3-step7-kafka-serviceentry.yaml', import.meta.url)), 'utf8'),
)

/**
 * knmesh's one deliberate difference from the guide's ServiceEntry: the guide repeats the port names `tcp-tls`
 * (9093, 9096) and `tcp-sasl-tls` (9094, 9095), which istiod refuses; the second of each gets `-<number>`.
 */
export const KAFKA_PORT_RENAMES: Record<number, string> = {9095: 'tcp-sasl-tls-9095', 9096: 'tcp-tls-9096'}

/** 1.4.3 step 7, for the given hosts, with the port names made unique (KAFKA_PORT_RENAMES). */
export function serviceEntrySpec(hosts: string[]) {
  const spec = structuredClone(GUIDE_KAFKA_SERVICE_ENTRY.spec)
  spec.hosts = hosts
  for (const p of spec.ports) p.name = KAFKA_PORT_RENAMES[p.number] ?? p.name
  return spec as {hosts: string[]; exportTo: string[]; ports: {number: number; name: string; protocol: string}[]; location: string; resolution: string}
}
