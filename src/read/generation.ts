import {getPath} from '../change/edit.js'
import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {decideGeneration, type GenerationDecision, type GenerationFacts, type MeshGeneration} from '../mesh/generation.js'
import {unlessForbidden} from './tolerate.js'

/**
 * Reads what decides the mesh generation (src/mesh/generation.ts): the SMCPs in the mesh namespace (null
 * when maistra.io is not served) and every Istio of the cluster (null when sailoperator.io/v1 istios is not
 * served). Two discovery requests (cached) and at most two lists; a list the user may not make counts as empty.
 */
export async function readGenerationFacts(client: KubeClient, meshNamespace: string): Promise<GenerationFacts> {
  const [smcps, istios] = await Promise.all([
    client
      .isServed(Kinds.ServiceMeshControlPlane)
      .then(async (s) => (s ? ((await unlessForbidden(client.listAll(Kinds.ServiceMeshControlPlane, meshNamespace))) ?? []) : null)),
    client.isServed(Kinds.Istio).then(async (s) => (s ? ((await unlessForbidden(client.listAll(Kinds.Istio))) ?? []) : null)),
  ])
  return {meshNamespace, smcps, istios}
}

/** readGenerationFacts + decideGeneration (throws UsageError when both are there, `write` and no flag). */
export async function readGeneration(
  client: KubeClient,
  meshNamespace: string,
  flag?: MeshGeneration,
  opts: {write?: boolean} = {},
): Promise<GenerationDecision & {facts: GenerationFacts}> {
  const facts = await readGenerationFacts(client, meshNamespace)
  return {...decideGeneration(facts, flag, opts), facts}
}

/** The enum of spec.version in the served istios.sailoperator.io CRD (what this operator can install); null when unreadable. */
export async function servedIstioVersions(client: KubeClient): Promise<string[] | null> {
  const crd = await unlessForbidden(client.get<KObject>(Kinds.CustomResourceDefinition, 'istios.sailoperator.io'))
  const versions = (crd?.spec?.versions ?? []) as {name: string; served?: boolean}[]
  const v1 = versions.find((v) => v.name === 'v1' && v.served !== false)
  const e = getPath(v1, ['schema', 'openAPIV3Schema', 'properties', 'spec', 'properties', 'version', 'enum'])
  return Array.isArray(e) ? e.map(String) : null
}
