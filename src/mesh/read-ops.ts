import {ForbiddenError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import type {AnnotateState} from './annotate.js'
import {KNATIVE_SERVING, SMMR_NAME} from './constants.js'
import {pendingMembers} from './members.js'
import {INSTANCE_LABEL} from './pipelines.js'
import type {MetricsState} from './metrics.js'
import {memberNamespacesOf, readCostLabels} from './read-workloads.js'
import {unlessForbidden} from './read.js'
import {secretRefs, TLS_SECRET_TYPE, type SecretRef} from './secret-filter.js'

/** Readers for annotate-services, enable-metrics and filter-secrets: bounded requests, big lists in pages. */

/** annotate-services: the Knative Services in scope (one by name, or every one of the namespaces) and the mesh members. */
export async function readAnnotate(client: KubeClient, meshNamespace: string, namespaces: string[], name?: string): Promise<AnnotateState> {
  const smmrP = client.get(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace)
  // The Pipelines the console links to an application (pipelines.ts): one list in the one namespace, else cluster-wide.
  // Auxiliary (only names pipeline-deployed services): a list that fails loses only that note.
  const pipelinesP = client.listIfServed(Kinds.Pipeline, namespaces.length === 1 ? namespaces[0] : undefined, {labelSelector: INSTANCE_LABEL}).then((p) => p ?? [], () => [])
  if (name) {
    const [svc, smmr, pipelines] = await Promise.all([client.get(Kinds.KnativeService, name, namespaces[0]), smmrP, pipelinesP])
    return {services: svc ? [svc] : [], members: memberNamespacesOf(smmr), pending: pendingMembers(smmr), pipelines, missing: []}
  }
  const [state, smmr, pipelines] = await Promise.all([readCostLabels(client, namespaces, {pods: false}), smmrP, pipelinesP])
  return {services: state.services, members: memberNamespacesOf(smmr), pending: pendingMembers(smmr), pipelines, missing: state.missing}
}

/** enable-metrics: KnativeServing, the NetworkPolicies of knative-serving, the SMCPs (three requests). */
export async function readMetrics(client: KubeClient, meshNamespace: string): Promise<MetricsState> {
  const [serving, policies, smcps] = await Promise.all([
    client.get(Kinds.KnativeServing, KNATIVE_SERVING, KNATIVE_SERVING),
    client.listAll(Kinds.NetworkPolicy, KNATIVE_SERVING),
    client.listAll(Kinds.ServiceMeshControlPlane, meshNamespace),
  ])
  return {serving, policies, smcps}
}

export interface SecretScope {
  meshNamespace: string
  /** null: every namespace. */
  namespaces: string[] | null
}

export interface RefsState {
  refs: SecretRef[]
  /** "ns/name" → the secret, null when absent; no entry when it could not be read (forbidden). */
  secrets: Map<string, KObject | null>
  /** Sources that could not be listed (kind not served or forbidden). */
  skipped: string[]
}

/**
 * One list per source kind (cluster-wide, or per chosen namespace), then one
 * metadata-only GET per referenced secret (PartialObjectMetadata: the secret's
 * data is never downloaded), 16 at a time.
 */
export async function readSecretRefs(client: KubeClient, scope: SecretScope): Promise<RefsState> {
  const skipped: string[] = []
  const listIn = async (info: (typeof Kinds)[keyof typeof Kinds], nss: (string | undefined)[]) => {
    const out: KObject[] = []
    for (const ns of nss) {
      const items = await unlessForbidden(client.listIfServed(info, ns))
      if (items === null) {
        if (!skipped.includes(info.kind)) skipped.push(info.kind)
        continue
      }
      out.push(...items)
    }
    return out
  }
  const all = scope.namespaces === null
  const nss: (string | undefined)[] = all ? [undefined] : scope.namespaces!
  // Gateway credentialNames name secrets of the mesh namespace, wherever the Gateway is.
  const gatewaysInScope = all || scope.namespaces!.includes(scope.meshNamespace)
  const [gateways, domainMappings, kingresses] = await Promise.all([
    gatewaysInScope ? listIn(Kinds.Gateway, [undefined]) : Promise.resolve([]),
    listIn(Kinds.DomainMapping, nss),
    listIn(Kinds.KIngress, nss),
  ])
  const refs = secretRefs({gateways, domainMappings, kingresses}, scope.meshNamespace).filter((r) => all || scope.namespaces!.includes(r.namespace))
  const secrets = new Map<string, KObject | null>()
  let next = 0
  const worker = async () => {
    while (next < refs.length) {
      const r = refs[next++]
      try {
        secrets.set(`${r.namespace}/${r.name}`, await client.get(Kinds.Secret, r.name, r.namespace, {metadataOnly: true}))
      } catch (error) {
        if (!(error instanceof ForbiddenError)) throw error // forbidden: no entry, the audit says it was not read
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(16, refs.length)}, worker))
  return {refs, secrets, skipped}
}

/**
 * The kubernetes.io/tls secrets of the scope, one page (≤ limit) at a time; -l
 * narrows them. Metadata only (PartialObjectMetadataList): names, labels and
 * resourceVersions, never the secrets' data; the server filters by type.
 */
export async function* tlsSecretPages(client: KubeClient, scope: SecretScope, opts: {labelSelector?: string; limit?: number} = {}): AsyncGenerator<KObject[]> {
  const list = {fieldSelector: `type=${TLS_SECRET_TYPE}`, labelSelector: opts.labelSelector, limit: opts.limit ?? 500, metadataOnly: true}
  for (const ns of scope.namespaces ?? [undefined]) yield* client.pages(Kinds.Secret, ns, list)
}
