import {ForbiddenError, NotServedError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_SERVING, SMMR_NAME} from './constants.js'
import {DEFAULT_CERT_SECRET, INGRESS_GATEWAY, LOCAL_GATEWAY} from './gateways.js'
import {clusterDomain, readIstio, readPrecheck} from './install-read.js'
import {namespaceNames} from './read.js'
import {meshMtlsOf} from './authz-read.js'
import type {StatusState} from './status.js'

/**
 * One read for status: each collection once, cluster-wide (the same lists
 * precheck, create-gateways and probe read), so the number of requests does
 * not grow with the number of namespaces.
 */
export async function readStatus(client: KubeClient, meshNamespace: string): Promise<StatusState> {
  const [precheck, namespaces, localService, certSecret, istio, domain, policies, peerAuthentications] = await Promise.all([
    readPrecheck(client, meshNamespace),
    namespaceNames(client),
    client.get(Kinds.Service, LOCAL_GATEWAY, meshNamespace),
    client.get(Kinds.Secret, DEFAULT_CERT_SECRET, meshNamespace).catch((error: unknown) => {
      if (error instanceof ForbiddenError) return undefined
      throw error
    }),
    // Not served (no Serverless Operator): precheck's rows say so; the Istio rows are skipped.
    readIstio(client, {eventing: true}).catch((error: unknown) => {
      if (error instanceof NotServedError) return null
      throw error
    }),
    clusterDomain(client),
    client.listIfServed(Kinds.AuthorizationPolicy),
    client.listIfServed(Kinds.PeerAuthentication),
  ])
  const smmr = precheck.memberRolls?.find((r) => r.metadata.namespace === meshNamespace && r.metadata.name === SMMR_NAME) ?? null
  const gateways = precheck.gateways ?? []
  // Gateway credential Secret and the local gateway Service are core kinds: always readable.
  const find = (name: string): KObject | null => gateways.find((g) => g.metadata.namespace === KNATIVE_SERVING && g.metadata.name === name) ?? null
  return {
    meshNamespace,
    precheck,
    members: {smmr, namespaces},
    gateways: {
      ingress: find(INGRESS_GATEWAY),
      local: find(LOCAL_GATEWAY),
      service: localService,
      secretExists: certSecret === undefined ? null : certSecret !== null,
      allGateways: gateways,
      memberRolls: precheck.memberRolls ?? [],
    },
    istio,
    domain,
    certSecret,
    view: {policies: policies ?? [], peerAuthentications: peerAuthentications ?? [], smmr, meshNamespace, meshMtls: meshMtlsOf(precheck.smcps ?? [])},
  }
}
