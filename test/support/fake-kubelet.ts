import type {KubeClient} from '../../src/kube/client.js'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'

/**
 * FakeKubelet: a TEST DOUBLE standing in for the kubelet (and the network
 * behind it), which this control plane does not have. It polls the real API
 * server for knmesh's probe pods (label knmesh.openshift.io/probe=true), and
 * for each new one "runs" it: it asks `respond` what the curl in the pod
 * would have got for the pod's PROBE_URL, and writes the pod's terminated
 * status — phase, the probe container's exit code and termination message in
 * the format the pod's script writes — through the pods/status subresource.
 *
 * `respond` returning null plays a pod that never finishes (stuck Pending).
 */
export interface CurlOutcome {
  /** HTTP status, or "000" when no answer came back. */
  status: string
  body: string
  /** curl's exit code (0, or e.g. 56 for a reset connection). */
  curlExit?: number
}

export class FakeKubelet {
  readonly seen: {namespace: string; name: string; url: string; pod: KObject}[] = []
  private timer?: NodeJS.Timeout
  private stopped = false
  private busy = false

  constructor(
    private readonly client: KubeClient,
    private readonly respond: (url: string, pod: KObject) => CurlOutcome | null,
    private readonly pollMs = 100,
  ) {}

  start(): this {
    const tick = async () => {
      if (this.stopped) return
      if (!this.busy) {
        this.busy = true
        try {
          await this.sweep()
        } catch {
          // The API server is shared with the test; try again on the next tick.
        } finally {
          this.busy = false
        }
      }
      if (!this.stopped) this.timer = setTimeout(tick, this.pollMs)
    }
    this.timer = setTimeout(tick, 0)
    return this
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
  }

  private async sweep(): Promise<void> {
    const pods = await this.client.listAll(Kinds.Pod, undefined, {labelSelector: 'knmesh.openshift.io/probe=true'})
    for (const pod of pods) {
      const ns = pod.metadata.namespace!
      const name = pod.metadata.name
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue
      if (this.seen.some((s) => s.namespace === ns && s.name === name)) continue
      const container = pod.spec.containers.find((c: {name: string}) => c.name === 'probe')
      const url = container?.env?.find((e: {name: string}) => e.name === 'PROBE_URL')?.value ?? ''
      this.seen.push({namespace: ns, name, url, pod})
      const outcome = this.respond(url, pod)
      if (!outcome) continue
      const exitCode = outcome.curlExit ?? 0
      const message = `status=${outcome.status} curl=${exitCode}\n${outcome.body.slice(0, 512)}`
      const now = new Date().toISOString()
      await this.client.request('PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, {
        contentType: 'application/merge-patch+json',
        body: {
          status: {
            phase: exitCode === 0 ? 'Succeeded' : 'Failed',
            startTime: now,
            containerStatuses: [
              {
                name: 'probe',
                image: container?.image ?? '',
                imageID: '',
                ready: false,
                restartCount: 0,
                started: false,
                state: {terminated: {exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', message, startedAt: now, finishedAt: now}},
              },
            ],
          },
        },
      })
    }
  }
}
