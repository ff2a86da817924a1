import type {KObject} from '../kube/types.js'
import {MANAGED_BY} from './constants.js'

/**
 * probe --live: a short-lived curl pod in the caller's namespace that sends
 * the request for real and reports the HTTP status and the head of the body
 * in its termination message. The pure parts (pod, message format, verdict)
 * are here; src/read/probe-live.ts runLiveProbe does the I/O.
 */

export const PROBE_LABEL = 'knmesh.openshift.io/probe'
export const PROBE_CONTAINER = 'probe'
export const DEFAULT_PROBE_IMAGE = 'curlimages/curl:8.10.1'

/**
 * The script: curl, then the termination message "status=NNN curl=RC" and
 * up to 512 bytes of the body, then ask the sidecar to quit so the pod can
 * finish (pilot-agent's /quitquitquit), and exit with curl's code.
 */
export const PROBE_SCRIPT = [
  'out=$(curl -sS -k --max-time "$PROBE_TIMEOUT" -w "\\nknmesh-status:%{http_code}" "$PROBE_URL" 2>&1); rc=$?',
  'code=$(printf "%s" "$out" | sed -n "s/^knmesh-status:\\([0-9]*\\)$/\\1/p" | tail -n 1)',
  'printf "status=%s curl=%s\\n%s" "${code:-000}" "$rc" "$(printf "%s" "$out" | grep -v "^knmesh-status:" | head -c 512)" > /dev/termination-log',
  'curl -s -X POST http://127.0.0.1:15020/quitquitquit > /dev/null 2>&1',
  'exit $rc',
].join('\n')

export interface ProbePodOptions {
  namespace: string
  url: string
  /** Seconds: curl's --max-time, and the pod's activeDeadlineSeconds (plus a margin for the sidecar). */
  timeoutSeconds: number
  image?: string
}

/**
 * probe --live: the Pod that runs one request from inside the mesh (sidecar injected, curl held until the proxy is
 * ready, then pilot-agent told to quit, non-root, RuntimeDefault seccomp, small limits, deadline timeoutSeconds + 30). Input: ProbePodOptions
 * (namespace, URL, timeout, image). Returns the Pod (generateName knmesh-probe-, labelled managed-by knmesh). Throws
 * nothing. Upstream: the guide's 1.4.4 verification (a request to the Service from inside the mesh) and Istio's
 * sidecar.istio.io/inject and proxy.istio.io/config annotations (holdApplicationUntilProxyStarts).
 */
export function probePod(o: ProbePodOptions): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'knmesh-probe-',
      name: '',
      namespace: o.namespace,
      labels: {...MANAGED_BY, [PROBE_LABEL]: 'true', app: 'knmesh-probe'},
      annotations: {
        'sidecar.istio.io/inject': 'true',
        // Start curl only once the sidecar is ready, or the first request fails.
        'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}',
      },
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: o.timeoutSeconds + 30,
      terminationGracePeriodSeconds: 2,
      automountServiceAccountToken: false,
      securityContext: {runAsNonRoot: true, seccompProfile: {type: 'RuntimeDefault'}},
      containers: [
        {
          name: PROBE_CONTAINER,
          image: o.image ?? DEFAULT_PROBE_IMAGE,
          command: ['sh', '-c', PROBE_SCRIPT],
          env: [
            {name: 'PROBE_URL', value: o.url},
            {name: 'PROBE_TIMEOUT', value: String(o.timeoutSeconds)},
          ],
          resources: {requests: {cpu: '10m', memory: '16Mi'}, limits: {cpu: '100m', memory: '64Mi'}},
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ['ALL']}, runAsNonRoot: true, readOnlyRootFilesystem: true},
          terminationMessagePolicy: 'File',
        },
      ],
    },
  }
}

export interface Observation {
  /** "403", or "000" when no HTTP answer came back. */
  status: string
  curlExit: number
  body: string
  verdict: 'allow' | 'deny' | 'unknown'
}

/** Parses the probe container's termination message. */
export function parseTermination(message: string | undefined, exitCode?: number): Observation {
  const text = message ?? ''
  const m = /^status=(\d{3}) curl=(\d+)\n?([\s\S]*)$/.exec(text)
  const status = m?.[1] ?? '000'
  const curlExit = m ? Number(m[2]) : (exitCode ?? -1)
  const body = (m ? m[3] : text).trim()
  return {status, curlExit, body, verdict: verdictOf(status, curlExit, body)}
}

/** 403 (the sidecar's "RBAC: access denied") or a reset connection: denied; any other HTTP answer: through. */
export function verdictOf(status: string, curlExit: number, body: string): Observation['verdict'] {
  if (status === '403') return 'deny'
  if (status === '000') return [52, 56, 35].includes(curlExit) || /reset|RBAC/i.test(body) ? 'deny' : 'unknown'
  const n = Number(status)
  if (n >= 200 && n < 500) return 'allow'
  return 'unknown'
}
