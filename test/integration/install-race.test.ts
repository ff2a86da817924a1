/**
 * Conflict safety of the installation verbs on a real API server: while
 * enable-istio and configure-mesh run, another client keeps editing the same
 * KnativeServing and SMCP; no edit of either side is lost (the engine's
 * resourceVersion-conditioned patches, re-read and re-plan on 409).
 */
import {describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {isolatedCluster} from '../support/cluster.js'
import {SMCP_SPEC, servingSpec} from '../support/guide-chapter1.js'
import type {Json} from '../../src/kube/types.js'

const cluster = isolatedCluster()

/**
 * Another administrator: read-modify-write edits (PUT with the read resourceVersion, retried on 409 as
 * kubectl edit would be), one after the other until `stop()` says so. Returns the edits made and the
 * conflicts met.
 */
async function otherWriter(
  kind: typeof Kinds.KnativeServing | typeof Kinds.ServiceMeshControlPlane,
  name: string,
  ns: string,
  stop: () => boolean,
  edit: (o: Json, i: number) => void,
): Promise<{edits: number; conflicts: number}> {
  let conflicts = 0
  let i = 0
  while (!stop() || i < 5) {
    for (;;) {
      const live = (await cluster.client.get(kind, name, ns))!
      edit(live, i)
      try {
        await cluster.client.request('PUT', `/apis/${kind.group}/${kind.version}/namespaces/${ns}/${kind.plural}/${name}`, {body: live})
        break
      } catch (error) {
        if ((error as {status?: number}).status !== 409) throw error
        conflicts++
      }
    }
    i++
    await new Promise((r) => setTimeout(r, 15))
  }
  return {edits: i, conflicts}
}

describe('installation verbs racing another writer', () => {
  it('enable-istio and configure-mesh lose no concurrent edit, and none of theirs', async () => {
    let done = false
    const runs = Promise.all([
      ...Array.from({length: 4}, () => cluster.run(['enable-istio', '--no-eventing', '--yes'])),
      ...Array.from({length: 4}, () => cluster.run(['configure-mesh', '--yes'])),
    ]).finally(() => (done = true))
    const writers = Promise.all([
      otherWriter(
        Kinds.KnativeServing,
        'knative-serving',
        'knative-serving',
        () => done,
        (o, i) => {
          o.spec.config = {...o.spec.config, network: {...o.spec.config?.network, [`key-${i}`]: String(i)}}
        },
      ),
      otherWriter(
        Kinds.ServiceMeshControlPlane,
        'basic',
        'istio-system',
        () => done,
        (o, i) => {
          o.metadata.labels = {...o.metadata.labels, [`edit-${i}`]: 'yes'}
        },
      ),
    ])
    const [results, [ksWriter, smcpWriter]] = await Promise.all([runs, writers])
    // The two sides really interleaved: somebody met a conflict.
    const cliConflicts = results.filter((r) => r.stdout.includes('conflict: re-read and re-planned')).length
    expect(cliConflicts + ksWriter.conflicts + smcpWriter.conflicts).toBeGreaterThan(0)
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0)

    const ks = (await cluster.client.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving'))!
    const guide = servingSpec()
    expect(ks.spec.ingress).toEqual(guide.ingress)
    expect(ks.spec.deployments).toEqual(guide.deployments)
    expect(ks.spec.config.istio).toEqual(guide.config.istio)
    expect(Object.keys(ks.spec.config.network).sort()).toEqual(Array.from({length: ksWriter.edits}, (_, i) => `key-${i}`).sort())

    const smcp = (await cluster.client.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system'))!
    expect(smcp.spec).toEqual({...SMCP_SPEC, version: 'v2.5'})
    expect(Object.keys(smcp.metadata.labels ?? {}).filter((k) => k.startsWith('edit-'))).toHaveLength(smcpWriter.edits)
    process.stderr.write(
      `race: ${ksWriter.edits}+${smcpWriter.edits} edits by the other writer, ${ksWriter.conflicts + smcpWriter.conflicts} conflicts met by it, ${cliConflicts} knmesh runs re-planned\n`,
    )
  }, 180_000)
})
