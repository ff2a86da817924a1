import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {clusterDomain} from './install.js'

/** The wildcard certificate's Secret `name` in the mesh namespace, or null when absent (certs' change read). */
export async function readCertSecret(client: KubeClient, meshNamespace: string, name: string): Promise<KObject | null> {
  return client.get(Kinds.Secret, name, meshNamespace)
}

/**
 * What certs needs before it makes keys: the apps domain (`domain` when given, else the cluster's from
 * ingresses.config.openshift.io/cluster; null when neither) and the live Secret (null when absent, or not read when there is no domain).
 * Throws what the client throws (forbidden, unreachable: exit 4).
 */
export async function readCerts(
  client: KubeClient,
  meshNamespace: string,
  name: string,
  domain?: string,
): Promise<{domain: string | null; secret: KObject | null}> {
  // The domain first: without one certs stops (exit 2) before reading anything else.
  const d = domain ?? (await clusterDomain(client))
  return {domain: d, secret: d ? await readCertSecret(client, meshNamespace, name) : null}
}
