/**
 * Istio's own configuration validation as a validating admission webhook of
 * the test control plane, as istiod's `istio-validator-istio-system` is on a
 * real mesh.
 *
 * The server is tools/istio-webhook (istiod's handler from
 * istio.io/istio/pkg/webhooks/validation/server, built from the Go module by
 * tools/istio-webhook/build.sh and cached in ~/.cache/knmesh/istio-webhook/).
 * controlplane.ts starts it next to etcd and kube-apiserver (its own process
 * group, same watchdog and teardown) and registers it with
 * {@link validatingWebhookConfiguration}; installCrds() then waits with
 * {@link waitIstioWebhookLive} until the API server really calls it.
 */
import {execa} from 'execa'
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const BUILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'tools', 'istio-webhook', 'build.sh')

/** Name of the ValidatingWebhookConfiguration the control plane registers. */
export const ISTIO_WEBHOOK_CONFIG = 'istio-validator-istio-system'
/** Name of its one webhook (istiod's chart names it `rev.validation.istio.io`). */
export const ISTIO_WEBHOOK_NAME = 'rev.validation.istio.io'
/** The API groups istiod validates (istio-discovery chart, validatingwebhookconfiguration.yaml). */
export const ISTIO_WEBHOOK_GROUPS = ['networking.istio.io', 'security.istio.io', 'telemetry.istio.io', 'extensions.istio.io']

let built: Promise<string> | undefined

/**
 * Absolute path of the istio-webhook binary: runs tools/istio-webhook/build.sh
 * once per process (a no-op when the cached binary exists; a cold build takes
 * minutes). Throws when the script fails or prints no existing folder.
 */
export function ensureIstioWebhook(): Promise<string> {
  built ??= (async () => {
    const r = await execa('bash', [BUILD], {
      stdin: 'ignore',
      stderr: 'inherit',
      env: {PATH: `${process.env.PATH ?? ''}:/usr/local/go/bin`},
    })
    const dir = r.stdout.trim().split('\n').pop()?.trim() ?? ''
    const bin = path.join(dir, 'istio-webhook')
    if (!dir || !existsSync(bin)) throw new Error(`tools/istio-webhook/build.sh did not print a folder holding istio-webhook (got ${JSON.stringify(dir)})`)
    return bin
  })()
  built.catch(() => {
    built = undefined
  })
  return built
}

/** Command-line arguments: serve on 127.0.0.1:port, self-signed serving cert generated into certDir/tls.{crt,key}. */
export function istioWebhookArgs(port: number, certDir: string): string[] {
  return [`--listen=127.0.0.1:${port}`, `--cert-dir=${certDir}`]
}

/** The serving certificate (PEM) the webhook generated in certDir; it is its own CA. */
export function istioWebhookCaFile(certDir: string): string {
  return path.join(certDir, 'tls.crt')
}

/**
 * The ValidatingWebhookConfiguration (admissionregistration.k8s.io/v1) of
 * istiod's chart with a `url` client config instead of the istiod Service, the
 * given CA, `failurePolicy: Fail` (what istiod patches in once it is ready)
 * and no `objectSelector` (every object is validated, as istiod's
 * `istiod-default-validator` does).
 */
export function validatingWebhookConfiguration(url: string, caPem: string): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {name: ISTIO_WEBHOOK_CONFIG, labels: {app: 'istiod', istio: 'istiod'}},
    webhooks: [
      {
        name: ISTIO_WEBHOOK_NAME,
        clientConfig: {url, caBundle: Buffer.from(caPem).toString('base64')},
        rules: [
          {
            operations: ['CREATE', 'UPDATE'],
            apiGroups: ISTIO_WEBHOOK_GROUPS,
            apiVersions: ['*'],
            resources: ['*'],
          },
        ],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 10,
      },
    ],
  }
}

/** Reads the generated CA (PEM). */
export function readIstioWebhookCa(certDir: string): string {
  return readFileSync(istioWebhookCaFile(certDir), 'utf8')
}

/** A ServiceEntry Istio refuses ("service entry port name "p" already defined"); the CRD schema admits it. */
export const INVALID_SERVICE_ENTRY = {
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'ServiceEntry',
  metadata: {name: 'knmesh-webhook-probe', namespace: 'default'},
  spec: {
    hosts: ['probe.example.com'],
    ports: [
      {number: 80, name: 'p', protocol: 'HTTP'},
      {number: 81, name: 'p', protocol: 'HTTP'},
    ],
    resolution: 'DNS',
  },
}

/** A Gateway Istio refuses; the Istio 1.27 CRD schema admits it. */
export const INVALID_GATEWAY_127 = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'Gateway',
  metadata: {name: 'knmesh-webhook-probe', namespace: 'default'},
  spec: {servers: [{port: {number: 80, name: 'http', protocol: 'HTTP'}, hosts: ['a/b/c']}]},
}

/**
 * Per Istio CRD set, an object its schema admits and Istio's validation refuses, with a piece of
 * Istio's message. The Istio 1.27 ServiceEntry schema already refuses duplicate port names
 * (x-kubernetes-list-type map keyed by name), so that set is probed with another object.
 */
export const WEBHOOK_PROBES = {
  'istio-1.19': {
    path: '/apis/networking.istio.io/v1beta1/namespaces/default/serviceentries?dryRun=All',
    body: INVALID_SERVICE_ENTRY,
    refusal: 'already defined',
  },
  'istio-1.27': {
    path: '/apis/networking.istio.io/v1/namespaces/default/gateways?dryRun=All',
    body: INVALID_GATEWAY_127,
    refusal: 'short names (non FQDN) are not allowed',
  },
} as const

/**
 * Waits (up to timeoutMs) until the API server sends Istio objects to the
 * webhook: a dry-run create of {@link INVALID_SERVICE_ENTRY} must be refused
 * with Istio's message. `post` sends a POST to the API server and returns
 * status and body. Throws on timeout with the last answer (the registration
 * is missing, the URL unreachable, or the CA wrong).
 */
export async function waitIstioWebhookLive(
  post: (path: string, body: unknown) => Promise<{status: number; body: string}>,
  timeoutMs = 30_000,
  crds: 'istio-1.19' | 'istio-1.27' = 'istio-1.19',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const probe = WEBHOOK_PROBES[crds]
  for (;;) {
    const r = await post(probe.path, probe.body)
    if (r.status >= 400 && r.status < 500 && r.body.includes(probe.refusal)) return
    const last = `HTTP ${r.status} ${r.body.slice(0, 400)}`
    if (Date.now() > deadline) throw new Error(`the API server does not call the Istio validation webhook after ${timeoutMs}ms; last answer: ${last}`)
    await new Promise((res) => setTimeout(res, 200))
  }
}
