import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {tolerate, unlessForbidden} from './tolerate.js'
import {pool} from '../change/bulk.js'
import {secretRefs, TLS_SECRET_TYPE, type RefsState} from '../mesh/secret-filter.js'
import {readKnativeServing} from './serving.js'

/** Readers for filter-secrets (and status's secret filtering row): bounded requests, big lists in pages. */

export interface SecretScope {
  meshNamespace: string
  /**
   * Where the Gateways' credentialName secrets live: the gateway pods' namespace (src/mesh/generation.ts
   * gatewayNamespace: the mesh namespace on Service Mesh 2, knative-serving-ingress on 3). Default: meshNamespace.
   */
  gatewayNamespace?: string
  /** null: every namespace. */
  namespaces: string[] | null
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
  // Gateway credentialNames name secrets of the gateway pods' namespace, wherever the Gateway is.
  const gatewayNs = scope.gatewayNamespace ?? scope.meshNamespace
  const gatewaysInScope = all || scope.namespaces!.includes(gatewayNs)
  const [gateways, domainMappings, kingresses] = await Promise.all([
    gatewaysInScope ? listIn(Kinds.Gateway, [undefined]) : Promise.resolve([]),
    listIn(Kinds.DomainMapping, nss),
    listIn(Kinds.KIngress, nss),
  ])
  const refs = secretRefs({gateways, domainMappings, kingresses}, gatewayNs).filter((r) => all || scope.namespaces!.includes(r.namespace))
  const secrets = new Map<string, KObject | null>()
  await pool(refs, 16, async (r) => {
    // Forbidden: no entry, the audit says it was not read.
    const read = await tolerate(
      client.get(Kinds.Secret, r.name, r.namespace, {metadataOnly: true}).then((secret) => ({secret})),
      'forbidden',
    )
    if (read) secrets.set(`${r.namespace}/${r.name}`, read.secret)
  })
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

/**
 * filter-secrets --enable/--disable: the KnativeServing (null when absent) and, with `withRefs`, the secrets Knative's
 * ingress references (to count those filtering would hide). Throws what the client throws.
 */
export async function readFilterToggle(client: KubeClient, scope: SecretScope, withRefs: boolean): Promise<{serving: KObject | null; refs: RefsState | null}> {
  const serving = await readKnativeServing(client)
  return {serving, refs: withRefs ? await readSecretRefs(client, scope) : null}
}

/** filter-secrets --check: the referenced secrets and the KnativeServing (null when absent), read in parallel. */
export async function readFilterCheck(client: KubeClient, scope: SecretScope): Promise<{refs: RefsState; serving: KObject | null}> {
  const [refs, serving] = await Promise.all([readSecretRefs(client, scope), readKnativeServing(client)])
  return {refs, serving}
}
