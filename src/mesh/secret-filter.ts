import {ensureArray, getPath} from '../change/edit.js'
import {info, warning, type Plan, type PlanItem} from '../change/plan.js'
import {KnmeshError, UsageError} from '../errors.js'
import type {KObject} from '../kube/types.js'
import {KNATIVE_SERVING} from './constants.js'

/** Guide 1.7: secret filtering for net-istio. */

export const CERT_UID_LABEL = 'networking.internal.knative.dev/certificate-uid'
export const FILTER_ENV = 'ENABLE_SECRET_INFORMER_FILTERING_BY_CERT_UID'
export const NET_ISTIO_WORKLOAD = 'net-istio-controller'
export const NET_ISTIO_CONTAINER = 'controller'
export const TLS_SECRET_TYPE = 'kubernetes.io/tls'
/**
 * The operator's own certificate secret: with secret filtering injected, the
 * Serverless Operator 1.32 sets its certificate-uid label to "data-plane"
 * (openshift-knative-operator/pkg/serving/secretinformerfiltering.go,
 * knative.dev/networking config.ServingInternalCertName).
 */
export const OPERATOR_CERT_SECRET = 'knative-serving-certs'

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

/** --uid: a label value (at most 63 characters). */
export function validateUid(uid: string): string {
  if (!uid || uid.length > 63 || !LABEL_VALUE.test(uid)) {
    throw new UsageError(`invalid --uid "${uid}": a label value of at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`)
  }
  return uid
}

/** Where a secret is referenced from, for the audit. */
export interface SecretRef {
  namespace: string
  name: string
  /** "Gateway istio-system/knative-ingress-gateway", … */
  by: string[]
}

/**
 * The secrets net-istio must see: the Gateways' credentialNames (the Gateways
 * live in knative-serving, guide 1.4.2 step 4; the secret in `gatewayNamespace`,
 * where the ingress gateway runs: the mesh namespace on Service Mesh 2,
 * knative-serving-ingress on 3, IST0161), DomainMapping spec.tls.secretName,
 * KIngress spec.tls.
 */
export function secretRefs(sources: {gateways: KObject[]; domainMappings: KObject[]; kingresses: KObject[]}, gatewayNamespace: string): SecretRef[] {
  const refs = new Map<string, SecretRef>()
  const add = (namespace: string | undefined, name: unknown, by: string) => {
    if (!namespace || typeof name !== 'string' || !name) return
    const k = `${namespace}/${name}`
    const r = refs.get(k) ?? {namespace, name, by: []}
    if (!r.by.includes(by)) r.by.push(by)
    refs.set(k, r)
  }
  for (const gw of sources.gateways) {
    for (const s of gw.spec?.servers ?? []) add(gatewayNamespace, s?.tls?.credentialName, `Gateway ${gw.metadata.namespace}/${gw.metadata.name}`)
  }
  for (const dm of sources.domainMappings) add(dm.metadata.namespace, dm.spec?.tls?.secretName, `DomainMapping ${dm.metadata.namespace}/${dm.metadata.name}`)
  for (const ki of sources.kingresses) {
    for (const t of ki.spec?.tls ?? []) add(t?.secretNamespace || ki.metadata.namespace, t?.secretName, `KIngress ${ki.metadata.namespace}/${ki.metadata.name}`)
  }
  return [...refs.values()].sort((a, b) => (a.namespace + '/' + a.name).localeCompare(b.namespace + '/' + b.name))
}

export function isLabelled(secret: KObject): boolean {
  return Boolean(secret.metadata.labels?.[CERT_UID_LABEL])
}

/** Only what a label patch needs: no data, no managedFields (pages stay small). */
function slim(secret: KObject): KObject {
  const {name, namespace, uid, resourceVersion, labels} = secret.metadata
  return {apiVersion: 'v1', kind: 'Secret', metadata: {name, namespace, uid, resourceVersion, ...(labels ? {labels} : {})}}
}

/**
 * One page of secrets → one page of the plan: each unlabelled secret gets the
 * label (value: uid, else the secret's own UID) as a merge patch on
 * metadata.labels only, conditioned on the resourceVersion read (409 if the
 * secret changed since, e.g. deleted and re-created with another UID) — one
 * atomic write, nothing else touched. Works from metadata alone. Labelled
 * secrets are unchanged items (counted as "already labelled").
 */
export function planSecretLabels(secrets: KObject[], input: {uid?: string}): Plan {
  const items: PlanItem[] = []
  const notes: Plan['notes'] = []
  for (const s of secrets) {
    if (s.metadata.namespace === KNATIVE_SERVING && s.metadata.name === OPERATOR_CERT_SECRET) {
      notes.push(
        info(
          `Secret ${KNATIVE_SERVING}/${OPERATOR_CERT_SECRET} is left to the Serverless Operator: it labels its own certificate secret ${CERT_UID_LABEL}=data-plane`,
        ),
      )
      continue
    }
    const live = slim(s)
    if (isLabelled(s)) {
      items.push({live, desired: live})
      continue
    }
    const value = input.uid ?? s.metadata.uid
    if (!value) throw new KnmeshError(`Secret ${s.metadata.namespace}/${s.metadata.name} has no UID; pass --uid`)
    const desired = structuredClone(live)
    desired.metadata.labels = {...desired.metadata.labels, [CERT_UID_LABEL]: value}
    const precondition = live.metadata.resourceVersion ? {resourceVersion: live.metadata.resourceVersion} : {}
    items.push({live, desired, mergePatch: {metadata: {labels: {[CERT_UID_LABEL]: value}, ...precondition}}})
  }
  return {items, notes}
}

export interface AuditRow {
  namespace: string
  name: string
  /** 'unlabelled': invisible with filtering on; 'missing': referenced but absent. */
  problem: 'unlabelled' | 'missing'
  by: string[]
}

/** --check: the referenced (and, with --all-tls, the TLS) secrets net-istio would not see with filtering on. */
export function auditSecrets(refs: SecretRef[], referenced: Map<string, KObject | null>, tlsUnlabelled: KObject[]): AuditRow[] {
  const rows: AuditRow[] = []
  const seen = new Set<string>()
  for (const r of refs) {
    const k = `${r.namespace}/${r.name}`
    seen.add(k)
    const s = referenced.get(k)
    if (s === undefined) continue // not read (forbidden): said elsewhere
    if (!s) rows.push({namespace: r.namespace, name: r.name, problem: 'missing', by: r.by})
    else if (!isLabelled(s)) rows.push({namespace: r.namespace, name: r.name, problem: 'unlabelled', by: r.by})
  }
  for (const s of tlsUnlabelled) {
    const k = `${s.metadata.namespace}/${s.metadata.name}`
    if (seen.has(k) || isLabelled(s)) continue
    seen.add(k)
    rows.push({namespace: s.metadata.namespace!, name: s.metadata.name, problem: 'unlabelled', by: [`type ${TLS_SECRET_TYPE}`]})
  }
  return rows
}

/** The override's value in KnativeServing spec.workloads (undefined: not set, filtering on by default). */
export function filteringOverride(ks: KObject | null): string | undefined {
  const wl =
    (getPath(ks, ['spec', 'workloads']) as {name?: string; env?: {container?: string; envVars?: {name?: string; value?: string}[]}[]}[] | undefined) ?? []
  for (const w of Array.isArray(wl) ? wl : []) {
    if (w?.name !== NET_ISTIO_WORKLOAD) continue
    for (const e of w.env ?? []) {
      if (e?.container !== NET_ISTIO_CONTAINER) continue
      const v = (e.envVars ?? []).find((x) => x?.name === FILTER_ENV)
      if (v) return String(v.value)
    }
  }
  return undefined
}

/** Whether net-istio filters secrets: on unless the override says "false". */
export function filteringEnabled(ks: KObject | null): boolean {
  return filteringOverride(ks)?.toLowerCase() !== 'false'
}

/**
 * --disable: the guide's override (value 'false') on the net-istio-controller
 * `controller` container; --enable: removes it (and entries left empty by
 * that), keeping every other workload entry, container and variable.
 */
export function planFilterToggle(serving: KObject | null, enable: boolean, opts: {unlabelled?: number} = {}): Plan {
  if (!serving) throw new KnmeshError(`there is no KnativeServing ${KNATIVE_SERVING} in namespace ${KNATIVE_SERVING}: install Knative Serving first`)
  const ks = structuredClone(serving)
  const notes = []
  const workloads = ensureArray(ks, ['spec', 'workloads'])
  if (!enable) {
    let w = workloads.find((x) => x?.name === NET_ISTIO_WORKLOAD)
    if (!w) {
      w = {name: NET_ISTIO_WORKLOAD}
      workloads.push(w)
    }
    const env = (w.env ??= []) as {container?: string; envVars?: {name: string; value?: string}[]}[]
    let c = env.find((x) => x?.container === NET_ISTIO_CONTAINER)
    if (!c) {
      c = {container: NET_ISTIO_CONTAINER, envVars: []}
      env.push(c)
    }
    const vars = (c.envVars ??= [])
    const v = vars.find((x) => x?.name === FILTER_ENV)
    if (v) v.value = 'false'
    else vars.push({name: FILTER_ENV, value: 'false'})
    notes.push(info('with secret filtering off, net-istio watches every Secret of the cluster again (more memory on large clusters)'))
  } else {
    for (const w of workloads) {
      if (w?.name !== NET_ISTIO_WORKLOAD || !Array.isArray(w.env)) continue
      for (const c of w.env) {
        if (c?.container !== NET_ISTIO_CONTAINER || !Array.isArray(c.envVars)) continue
        c.envVars = c.envVars.filter((x: {name?: string}) => x?.name !== FILTER_ENV)
        if (c.envVars.length === 0) delete c.envVars
      }
      w.env = w.env.filter((c: object) => !(c && Object.keys(c).length === 1 && 'container' in c))
      if (w.env.length === 0) delete w.env
    }
    ks.spec.workloads = workloads.filter((w) => !(w && Object.keys(w).length === 1 && 'name' in w && w.name === NET_ISTIO_WORKLOAD))
    if (opts.unlabelled)
      notes.push(
        warning(
          `${opts.unlabelled} referenced secret(s) are missing or lack the ${CERT_UID_LABEL} label: net-istio will not see them (knmesh filter-secrets --check)`,
        ),
      )
  }
  const liveWorkloads = serving.spec?.workloads
  // A list emptied by --enable goes away; one that was already empty stays as it was.
  if (Array.isArray(ks.spec.workloads) && ks.spec.workloads.length === 0 && !(Array.isArray(liveWorkloads) && liveWorkloads.length === 0))
    delete ks.spec.workloads
  return {items: [{live: serving, desired: ks}], notes}
}

export interface RefsState {
  refs: SecretRef[]
  /** "ns/name" → the secret, null when absent; no entry when it could not be read (forbidden). */
  secrets: Map<string, KObject | null>
  /** Sources that could not be listed (kind not served or forbidden). */
  skipped: string[]
}
