/**
 * Names typed on the command line are checked against the cluster before any plan or diff:
 * a namespace, mesh namespace or Knative Service that does not exist is a MissingError (exit 6),
 * never a confident answer about an object that is not there. A read the user may not make
 * (403) is not a "missing": the verb goes on and says what it could not check.
 */
import {MissingError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import {meshFlag} from '../mesh/constants.js'
import {closest} from '../mesh/names.js'
import {namespaceNames} from './members.js'
import {tolerate, unlessForbidden} from './tolerate.js'

/**
 * Throws MissingError (exit 6) naming every namespace of `names` that does not exist, with a
 * "did you mean" when an existing namespace is one typo away. `what` says which flag gave them.
 * One GET per namespace (in parallel); a namespace the user may not read counts as existing.
 */
export async function requireNamespaces(client: KubeClient, names: string[], what = 'namespace'): Promise<void> {
  const unique = [...new Set(names)]
  const found = await Promise.all(
    unique.map((n) =>
      // Forbidden (null): cannot tell, so not called missing.
      tolerate(
        client.get(Kinds.Namespace, n).then((o) => o !== null),
        'forbidden',
      ).then((exists) => exists ?? true),
    ),
  )
  const missing = unique.filter((_, i) => !found[i])
  if (missing.length === 0) return
  const all = await namespaceNames(client)
  const hints = all ? missing.map((m) => closest(m, all)).filter(Boolean) : []
  throw new MissingError(
    `${what} ${missing.map((m) => `"${m}"`).join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist${hints.length ? ` (did you mean ${hints.map((h) => `"${h}"`).join(', ')}?)` : ''}: nothing was changed`,
  )
}

/**
 * The mesh namespace (--mesh-namespace) exists. When it does not, the ServiceMeshControlPlanes of
 * the whole cluster (one list) name the namespace to use instead: MissingError (exit 6) "mesh
 * namespace "istio-sytem" does not exist; the ServiceMeshControlPlane basic is in istio-system:
 * --mesh-namespace istio-system". When the ServiceMeshControlPlane kind is not served at all
 * (no Service Mesh Operator), nothing is thrown: the verb's own reads say which operator is missing.
 */
export async function requireMeshNamespace(client: KubeClient, mesh: string, bin: string): Promise<void> {
  const exists = await tolerate(
    client.get(Kinds.Namespace, mesh).then((ns) => ns !== null),
    'forbidden',
  )
  // Forbidden (null): cannot tell; the verb's reads will say what is forbidden.
  if (exists !== false) return
  const smcps = await unlessForbidden(client.listIfServed(Kinds.ServiceMeshControlPlane))
  if (smcps === null) return // not served (or not listable): the verb reports the missing operator
  const holders = [...new Set(smcps.map((s) => s.metadata.namespace!))].sort()
  if (holders.length) {
    const planes = smcps.map((s) => `${s.metadata.name} in ${s.metadata.namespace}`).join(', ')
    const best = closest(mesh, holders) ?? holders[0]
    throw new MissingError(`mesh namespace "${mesh}" does not exist; ServiceMeshControlPlane ${planes}: use --mesh-namespace ${best}`)
  }
  throw new MissingError(
    `mesh namespace "${mesh}" does not exist and the cluster has no ServiceMeshControlPlane: create the namespace (kubectl create namespace ${mesh}), then run ${bin} configure-mesh --create${meshFlag(mesh)}`,
  )
}
