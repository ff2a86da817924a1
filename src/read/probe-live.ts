import {onInterrupt} from '../change/bulk.js'
import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'
import {parseTermination, PROBE_CONTAINER, type Observation} from '../mesh/probe-live.js'

/** probe --live: create the probe pod (mesh/probe-live probePod), wait for its result, delete it. */

export interface LiveResult {
  pod: string
  observation?: Observation
  /** Why there is no observation (timeout, pod failed without a message). */
  problem?: string
  deleted: boolean
}

function terminated(pod: KObject): {exitCode?: number; message?: string; reason?: string} | undefined {
  const cs = (pod.status?.containerStatuses ?? []) as {name: string; state?: {terminated?: {exitCode?: number; message?: string; reason?: string}}}[]
  return cs.find((c) => c.name === PROBE_CONTAINER)?.state?.terminated
}

/**
 * Creates the probe pod, polls it until its probe container terminated or
 * `timeoutMs` passed, and deletes it whatever happens (Ctrl-C included).
 */
export async function runLiveProbe(
  client: KubeClient,
  pod: KObject,
  timeoutMs: number,
  opts: {pollMs?: number; onCreated?: (name: string) => void} = {},
): Promise<LiveResult> {
  const created = await client.create(pod)
  const name = created.metadata.name
  const ns = created.metadata.namespace!
  opts.onCreated?.(name)
  let deleted = false
  const cleanup = async () => {
    if (deleted) return
    deleted = true
    await client.delete(Kinds.Pod, name, ns).catch(() => {
      deleted = false
    })
  }
  // Ctrl-C or a kill: the pod is deleted, then exit 130.
  const offInterrupt = onInterrupt(cleanup, {signals: ['SIGINT', 'SIGTERM'], exitAfter: true})
  let result: Omit<LiveResult, 'deleted'>
  try {
    result = await waitForResult(client, created, timeoutMs, opts.pollMs ?? 500)
  } finally {
    offInterrupt()
    await cleanup()
  }
  return {...result, deleted}
}

async function waitForResult(client: KubeClient, created: KObject, timeoutMs: number, pollMs: number): Promise<Omit<LiveResult, 'deleted'>> {
  const name = created.metadata.name
  const ns = created.metadata.namespace!
  const deadline = Date.now() + timeoutMs
  let last: KObject = created
  for (;;) {
    const t = terminated(last)
    if (t) {
      if (!t.message && t.exitCode === undefined) return {pod: name, problem: `the probe container ended without a result (${t.reason ?? 'no reason'})`}
      return {pod: name, observation: parseTermination(t.message, t.exitCode)}
    }
    if (last.status?.phase === 'Failed') return {pod: name, problem: `the probe pod failed: ${last.status?.reason ?? ''} ${last.status?.message ?? ''}`.trim()}
    if (Date.now() >= deadline) {
      const phase = last.status?.phase ?? 'Pending'
      return {
        pod: name,
        problem: `timed out after ${Math.round(timeoutMs / 1000)}s waiting for the probe pod (phase ${phase}${phase === 'Pending' ? ': is it scheduled, can the image be pulled?' : ''})`,
      }
    }
    await new Promise((r) => setTimeout(r, pollMs))
    last = (await client.get(Kinds.Pod, name, ns)) ?? last
  }
}
