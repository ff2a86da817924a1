import {isDeepStrictEqual} from 'node:util'
import type {KubeClient} from '../../src/kube/client.js'
import {ConflictError, NotFoundError} from '../../src/errors.js'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject, Json} from '../../src/kube/types.js'

/**
 * ServerlessOperatorDouble: a TEST DOUBLE standing in for the OpenShift
 * Serverless Operator 1.32, which this control plane does not run. Like the
 * real one, it acts only through the API server: each pass reads
 * KnativeServing knative-serving/knative-serving and reconciles exactly the
 * objects and fields of knative-serving that knmesh's verbs could also touch,
 * the way the 1.32 operator does (source: openshift-knative/serverless-operator
 * release-1.32, openshift-knative-operator/pkg/serving/):
 *
 * - ingress.go `generateDefaultIstioNetworkPoliciesIfRequired`: with
 *   spec.ingress.istio.enabled and no annotation
 *   serverless.openshift.io/disable-istio-net-policies-generation that parses
 *   true, the NetworkPolicies `webhook`, `net-istio-webhook` (podSelector
 *   app=<name>, one empty ingress rule) and `allow-from-openshift-monitoring-ns`
 *   (all pods, policyTypes [Ingress], from namespaceSelector
 *   kubernetes.io/metadata.name=openshift-monitoring), each labelled
 *   networking.knative.dev/ingress-provider=istio.
 * - secretinformerfiltering.go: with Istio enabled, the env
 *   ENABLE_SECRET_INFORMER_FILTERING_BY_CERT_UID on the `controller` container
 *   of Deployment net-istio-controller ("true" unless a KnativeServing
 *   workload override sets it), and, when that injects, the label
 *   networking.internal.knative.dev/certificate-uid=data-plane on its own
 *   Secret knative-serving-certs (the manifest's value is "serving-certs").
 * - extension.go ("Temporary fix for SRVKS-743", ConfigureIfUnset) and
 *   monitoring/helpers.go: the effective metrics.backend-destination written to
 *   ConfigMap config-observability ("none" with Istio enabled when the
 *   KnativeServing leaves it unset, else its value, else the manifest's
 *   "prometheus"), and the namespace label openshift.io/cluster-monitoring.
 *
 * Updates are applied the way manifestival applies them (a three-way merge
 * against a constant manifest): every field the operator's manifest sets is
 * put back to the operator's value (maps merged key by key, lists and scalars
 * replaced), every other field is kept. It never touches the KnativeServing
 * spec (the operator persists only status). Use `reconcile()` for one pass,
 * `settle()` until a pass changes nothing, or `start()`/`stop()` to poll.
 */
export const DOUBLE_FIELD_MANAGER = 'serverless-operator-double'
const NS = 'knative-serving'
const FILTER_ENV = 'ENABLE_SECRET_INFORMER_FILTERING_BY_CERT_UID'
const CERT_UID_LABEL = 'networking.internal.knative.dev/certificate-uid'

/** Go's strconv.ParseBool: [value, ok]. */
function parseBool(v: string): [boolean, boolean] {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return [true, true]
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return [false, true]
  return [false, false]
}

/** The three NetworkPolicies of ingress.go, as the operator's manifest has them. */
export function operatorNetworkPolicies(namespace = NS): KObject[] {
  const base = (name: string, extraLabels: Record<string, string>, spec: Record<string, unknown>): KObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {name, namespace, labels: {'networking.knative.dev/ingress-provider': 'istio', ...extraLabels}},
    spec,
  })
  return [
    base('webhook', {app: 'webhook'}, {podSelector: {matchLabels: {app: 'webhook'}}, ingress: [{}]}),
    base('net-istio-webhook', {app: 'net-istio-webhook'}, {podSelector: {matchLabels: {app: 'net-istio-webhook'}}, ingress: [{}]}),
    base(
      'allow-from-openshift-monitoring-ns',
      {},
      {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{from: [{namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'openshift-monitoring'}}}]}],
      },
    ),
  ]
}

/** What the manifest sets, laid over the live object: maps merged, lists and scalars replaced. */
function overlay(live: Json, manifest: Json): Json {
  if (!isMap(live) || !isMap(manifest)) return structuredClone(manifest)
  const out: Json = {...live}
  for (const [k, v] of Object.entries(manifest)) out[k] = isMap(v) && isMap(live[k]) ? overlay(live[k], v) : structuredClone(v)
  return out
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export class ServerlessOperatorDouble {
  /** Every write made, as "create NetworkPolicy knative-serving/webhook" / "update …". */
  readonly writes: string[] = []
  private timer?: NodeJS.Timeout
  private stopped = false
  private running?: Promise<unknown>

  constructor(private readonly client: KubeClient) {}

  /** One reconcile pass; returns the writes it made (empty: the cluster already matched). */
  async reconcile(): Promise<string[]> {
    const ks = await this.client.get(Kinds.KnativeServing, NS, NS)
    if (!ks) return []
    const made: string[] = []
    const istio = ks.spec?.ingress?.istio?.enabled === true

    // ingress.go: the Istio NetworkPolicies.
    const [disabled] = parseBool(String(ks.metadata.annotations?.['serverless.openshift.io/disable-istio-net-policies-generation'] ?? ''))
    if (istio && !disabled) {
      for (const np of operatorNetworkPolicies()) made.push(...(await this.apply(`/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`, np)))
    }

    // secretinformerfiltering.go: the env on net-istio-controller and the label on the operator's certificate secret.
    if (istio) {
      const override = this.filterOverride(ks)
      const inject = override === undefined ? true : parseBool(override)[0]
      made.push(
        ...(await this.apply(
          `/apis/apps/v1/namespaces/${NS}/deployments`,
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: {name: 'net-istio-controller', namespace: NS, labels: {app: 'net-istio-controller', 'networking.knative.dev/ingress-provider': 'istio'}},
            spec: {
              selector: {matchLabels: {app: 'net-istio-controller'}},
              template: {
                metadata: {labels: {app: 'net-istio-controller'}},
                spec: {
                  containers: [{name: 'controller', image: 'registry.example/net-istio-controller:1.11', env: [{name: FILTER_ENV, value: override ?? 'true'}]}],
                },
              },
            },
          },
          (live, desired) => this.mergeEnv(live, desired),
        )),
      )
      made.push(
        ...(await this.apply(`/api/v1/namespaces/${NS}/secrets`, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: 'knative-serving-certs',
            namespace: NS,
            labels: {'serving-certs-ctrl': 'data-plane', [CERT_UID_LABEL]: inject ? 'data-plane' : 'serving-certs'},
          },
        })),
      )
    }

    // extension.go + monitoring/helpers.go: the effective metrics backend and the monitoring label.
    const set = ks.spec?.config?.observability?.['metrics.backend-destination']
    const backend = typeof set === 'string' ? set : istio ? 'none' : 'prometheus'
    made.push(
      ...(await this.apply(`/api/v1/namespaces/${NS}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {name: 'config-observability', namespace: NS},
        data: {'metrics.backend-destination': backend},
      })),
    )
    const monitoring = backend !== 'none' && backend !== 'opencensus'
    const ns = await this.client.get(Kinds.Namespace, NS)
    if (ns && ns.metadata.labels?.['openshift.io/cluster-monitoring'] !== String(monitoring)) {
      await this.client.mergePatch(Kinds.Namespace, NS, undefined, {metadata: {labels: {'openshift.io/cluster-monitoring': String(monitoring)}}})
      made.push(`update Namespace ${NS}`)
    }
    this.writes.push(...made)
    return made
  }

  /** Reconciles until a pass changes nothing (at most `passes`); returns every write made. */
  async settle(passes = 5): Promise<string[]> {
    const all: string[] = []
    for (let i = 0; i < passes; i++) {
      const made = await this.reconcile()
      if (made.length === 0) return all
      all.push(...made)
    }
    throw new Error(`the Serverless Operator double did not settle in ${passes} passes: ${all.join('; ')}`)
  }

  /** Polls every `pollMs`, as the operator's informers would react. */
  start(pollMs = 150): this {
    const tick = async () => {
      if (this.stopped) return
      this.running = this.reconcile().catch(() => undefined) // conflicts: the next pass retries
      await this.running
      if (!this.stopped) this.timer = setTimeout(tick, pollMs)
    }
    this.timer = setTimeout(tick, 0)
    return this
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.running
  }

  /** The workload override of the env, as configIfUnsetAndCheckIfShouldInject reads it. */
  private filterOverride(ks: KObject): string | undefined {
    for (const w of ks.spec?.workloads ?? []) {
      if (w?.name !== 'net-istio-controller') continue
      for (const e of w.env ?? []) {
        if (e?.container !== 'controller') continue
        const v = (e.envVars ?? []).find((x: {name?: string}) => x?.name === FILTER_ENV)
        if (v) return String(v.value ?? '')
      }
    }
    return undefined
  }

  /** InjectEnvironmentIntoDeployment: the variable set on the container, other variables kept. */
  private mergeEnv(live: KObject, manifest: KObject): KObject {
    const out = overlay(live, {metadata: manifest.metadata})
    const containers = out.spec?.template?.spec?.containers ?? []
    const want = manifest.spec.template.spec.containers[0].env[0]
    const c = containers.find((x: {name?: string}) => x?.name === 'controller')
    if (c) {
      const env = (c.env ??= []) as {name: string; value?: string}[]
      const v = env.find((x) => x.name === FILTER_ENV)
      if (v) {
        v.value = want.value
        delete (v as {valueFrom?: unknown}).valueFrom
      } else env.push({...want})
    }
    return out
  }

  /** Creates the object, or puts the manifest's fields back on it (PUT on the resourceVersion read). */
  private async apply(collection: string, manifest: KObject, merge: (live: KObject, manifest: KObject) => KObject = overlay): Promise<string[]> {
    const what = `${manifest.kind} ${manifest.metadata.namespace}/${manifest.metadata.name}`
    const path = `${collection}/${manifest.metadata.name}`
    let live: KObject | null
    try {
      live = await this.client.request<KObject>('GET', path)
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error
      live = null
    }
    if (!live) {
      await this.client.request('POST', collection, {body: manifest, query: {fieldManager: DOUBLE_FIELD_MANAGER}})
      return [`create ${what}`]
    }
    const desired = merge(live, manifest)
    if (isDeepStrictEqual(desired, live)) return []
    try {
      await this.client.request('PUT', path, {body: desired, query: {fieldManager: DOUBLE_FIELD_MANAGER}})
    } catch (error) {
      if (error instanceof ConflictError) return [`conflict ${what}`] // changed meanwhile: the next pass sees it
      throw error
    }
    return [`update ${what}`]
  }
}
