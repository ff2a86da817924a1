import {MissingError} from '../errors.js'
import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {closest} from '../mesh/names.js'
import {clusterDomain} from './install.js'
import {tolerate} from './tolerate.js'

/**
 * The Knative Service `name` in `namespace` that probe sends to, read before any prediction. Null when Knative
 * Services are not served (the prediction says what it can). Throws MissingError (exit 6) when it does not exist,
 * naming the closest name, or the first few, of the namespace's Knative Services (when they may be listed).
 */
export async function requireKnativeService(client: KubeClient, name: string, namespace: string): Promise<KObject | null> {
  const ksvc = await tolerate(client.get(Kinds.KnativeService, name, namespace), 'not-served')
  if (ksvc !== null) return ksvc
  if (!(await client.isServed(Kinds.KnativeService))) return null
  const names = ((await tolerate(client.listAll(Kinds.KnativeService, namespace), 'forbidden')) ?? []).map((k) => k.metadata.name)
  const hint = closest(name, names)
  throw new MissingError(
    `Knative Service "${name}" does not exist in namespace ${namespace}${hint ? ` (did you mean "${hint}"?)` : names.length ? ` (it has: ${names.slice(0, 5).join(', ')})` : ''}: give --service`,
  )
}

/** The apps domain external URLs are under (ingresses.config.openshift.io/cluster); null when unknown or not readable. */
export async function appsDomain(client: KubeClient): Promise<string | null> {
  return tolerate(clusterDomain(client), 'forbidden')
}
