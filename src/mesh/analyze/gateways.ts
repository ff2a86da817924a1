import type {KObject, JsonObject} from '../../kube/types.js'
import {KNATIVE_SERVING, meshFlag} from '../constants.js'
import {INGRESS_GATEWAY, LOCAL_GATEWAY, PORT_TRANSLATION_LABEL} from '../gateways.js'
import {gatewayConflicts} from '../precheck.js'
import {finding, ref, type AnalyzeState, type Finding, type Rule} from './types.js'
import {isEmptyMap, labelSelectorMatches, templateWorkloads} from './workloads.js'

/** Gateways (guide 1.4.1, 1.4.2 steps 4-5). */

type Obj = JsonObject
const servers = (gw: KObject): Obj[] => (Array.isArray(gw.spec?.servers) ? gw.spec.servers : [])
const knativeGateway = (s: AnalyzeState) => s.gateways.find((g) => g.metadata.namespace === KNATIVE_SERVING && g.metadata.name === INGRESS_GATEWAY) ?? null

/** Two Gateway selectors can pick the same pods unless some label key needs different values. */
export function selectorsOverlap(a: unknown, b: unknown): boolean {
  const x = (a ?? {}) as Record<string, string>
  const y = (b ?? {}) as Record<string, string>
  return Object.keys(x).every((k) => !(k in y) || x[k] === y[k])
}

export const KNM0101: Rule = {
  code: 'KNM0101',
  severity: 'Error',
  summary: 'Another Gateway binds port 443 with host "*" for the pods knative-ingress-gateway selects (istioctl IST0145 kind): one of them loses the port.',
  run(s) {
    const knative = knativeGateway(s)
    const conflicts = gatewayConflicts(s.gateways, s.memberRolls, s.meshNamespace).filter((c) => !c.otherMesh)
    const out: Finding[] = []
    for (const c of conflicts) {
      const gw = s.gateways.find((g) => g.metadata.namespace === c.namespace && g.metadata.name === c.name)!
      if (knative && !selectorsOverlap(gw.spec?.selector, knative.spec?.selector)) continue
      out.push(finding(KNM0101, [ref(gw), ...(knative ? [ref(knative)] : [])], `binds port 443 with host "*" on the same gateway pods as ${KNATIVE_SERVING}/${INGRESS_GATEWAY}: Knative Services stop being reachable over HTTPS`, 'remove that Gateway or narrow its hosts, or give Serverless a mesh of its own (guide 1.4.1)'))
    }
    return out
  },
}

/** Istio reads a credentialName Secret as a TLS pair from tls.crt/tls.key or cert/key. */
export function isTlsSecret(secret: KObject): boolean {
  const keys = new Set(Object.keys({...(secret.data ?? {}), ...(secret.stringData ?? {})}))
  return (keys.has('tls.crt') && keys.has('tls.key')) || (keys.has('cert') && keys.has('key'))
}

/** The namespaces a Gateway's pods run in: those of the workloads its selector matches, else the mesh namespace. */
export function gatewayNamespaces(s: Pick<AnalyzeState, 'workloads' | 'knativeServices' | 'revisions' | 'meshNamespace'>, gw: KObject): string[] {
  const sel = gw.spec?.selector
  const nss = new Set(isEmptyMap(sel) ? [] : templateWorkloads({...s, knativeServices: [], revisions: []}).filter((w) => labelSelectorMatches(sel, w.labels)).map((w) => w.namespace))
  return nss.size ? [...nss].sort() : [s.meshNamespace]
}

export const KNM0102: Rule = {
  code: 'KNM0102',
  severity: 'Error',
  summary: 'A Gateway server\'s tls.credentialName names a Secret that does not exist where the gateway pods run, or that holds no TLS pair (tls.crt/tls.key).',
  run(s) {
    if (s.secrets === null) return []
    const out: Finding[] = []
    for (const gw of s.gateways) {
      for (const srv of servers(gw)) {
        const name = srv?.tls?.credentialName
        if (typeof name !== 'string' || !name) continue
        for (const ns of gatewayNamespaces(s, gw)) {
          const secret = s.secrets.find((x) => x.metadata.namespace === ns && x.metadata.name === name)
          const fix = ns === s.meshNamespace && gw.metadata.name === INGRESS_GATEWAY ? `knmesh certs${meshFlag(s.meshNamespace)}` : `create the kubernetes.io/tls Secret ${ns}/${name}`
          if (!secret) out.push(finding(KNM0102, [ref(gw), {kind: 'Secret', namespace: ns, name}], `credentialName "${name}" (port ${srv?.port?.number}): no Secret ${ns}/${name}; the gateway serves no certificate on that port`, fix))
          else if (!isTlsSecret(secret)) out.push(finding(KNM0102, [ref(gw), ref(secret, 'Secret')], `credentialName "${name}": Secret ${ns}/${name} (type ${secret.type ?? 'Opaque'}) has no tls.crt/tls.key pair`, fix))
        }
      }
    }
    return out
  },
}

export const KNM0103: Rule = {
  code: 'KNM0103',
  severity: 'Error',
  summary: 'A Gateway\'s selector matches no Deployment pod template and no gateway Service: no proxy serves it.',
  run(s) {
    // Nothing deployed in the mesh namespace yet: the control plane is still coming up (precheck says so).
    if (!s.workloads.some((w) => w.metadata.namespace === s.meshNamespace)) return []
    const pods = templateWorkloads({...s, knativeServices: [], revisions: []})
    const out: Finding[] = []
    for (const gw of s.gateways) {
      const sel = gw.spec?.selector
      if (isEmptyMap(sel)) continue
      if (pods.some((w) => labelSelectorMatches(sel, w.labels))) continue
      if (s.services.some((svc) => labelSelectorMatches(sel, svc.metadata.labels ?? {}))) continue
      const text = Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',')
      const ours = gw.metadata.namespace === KNATIVE_SERVING && [INGRESS_GATEWAY, LOCAL_GATEWAY].includes(gw.metadata.name)
      out.push(finding(KNM0103, [ref(gw)], `selector ${text} matches no Deployment's pod template and no Service: no gateway proxy serves this Gateway`, ours ? `knmesh configure-mesh${meshFlag(s.meshNamespace)} (the gateway label), then knmesh create-gateways${meshFlag(s.meshNamespace)}` : 'fix the selector to match the gateway pods\' labels'))
    }
    return out
  },
}

/** "istio-ingressgateway.istio-system.svc.cluster.local" → {name, namespace}; null when it is no service host. */
export function serviceOfHost(host: string): {name: string; namespace: string} | null {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)(\.svc(\.[a-z0-9.-]+)?)?$/.exec(host.trim())
  return m ? {name: m[1], namespace: m[2]} : null
}

/** The gateway hosts of KnativeServing spec.config.istio and of the ConfigMap config-istio, with where each comes from. */
export function configGatewayHosts(s: Pick<AnalyzeState, 'serving' | 'configIstio'>): {key: string; host: string; from: KObject}[] {
  const out: {key: string; host: string; from: KObject}[] = []
  const add = (data: unknown, from: KObject | null) => {
    if (!from || !data || typeof data !== 'object') return
    for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
      if (!/^(local-)?gateway\./.test(key) || typeof value !== 'string') continue
      out.push({key, host: value, from})
    }
  }
  add(s.serving?.spec?.config?.istio, s.serving)
  add(s.configIstio?.data, s.configIstio)
  return out
}

export const KNM0104: Rule = {
  code: 'KNM0104',
  severity: 'Error',
  summary: 'A gateway host in KnativeServing spec.config.istio or the ConfigMap config-istio names no existing Service: net-istio points routes at nothing.',
  run(s) {
    const out: Finding[] = []
    // The control plane has deployed nothing yet: its gateway Services are still to come (precheck says so).
    const meshUp = s.workloads.some((w) => w.metadata.namespace === s.meshNamespace)
    for (const {key, host, from} of configGatewayHosts(s)) {
      const svc = serviceOfHost(host)
      const exists = svc && s.services.some((x) => x.metadata.namespace === svc.namespace && x.metadata.name === svc.name)
      if (exists || (svc?.namespace === s.meshNamespace && !meshUp)) continue
      const where = from.kind === 'ConfigMap' ? 'data' : 'spec.config.istio'
      out.push(finding(KNM0104, [ref(from), ...(svc ? [{kind: 'Service', ...svc}] : [])], `${where}["${key}"] is "${host}": ${svc ? `no Service ${svc.namespace}/${svc.name}` : 'not a Service host (NAME.NAMESPACE.svc.cluster.local)'}`, `knmesh enable-istio${meshFlag(s.meshNamespace)}`))
    }
    return out
  },
}

export const KNM0105: Rule = {
  code: 'KNM0105',
  severity: 'Error',
  summary: 'Service knative-local-gateway does not reach the local Gateway\'s 8081 server: no port with targetPort 8081 plus the disable-gateway-port-translation label, and no port 8081 (cluster-local traffic fails; istioctl\'s IST0162 is a false positive for the guide\'s pattern).',
  run(s) {
    const gw = s.gateways.find((g) => g.metadata.namespace === KNATIVE_SERVING && g.metadata.name === LOCAL_GATEWAY)
    const svc = s.services.find((x) => x.metadata.namespace === s.meshNamespace && x.metadata.name === LOCAL_GATEWAY)
    if (!gw || !svc) return [] // absent objects are create-gateways' finding (status)
    const [labelKey, labelValue] = Object.entries(PORT_TRANSLATION_LABEL)[0]
    const translationOff = svc.metadata.labels?.[labelKey] === labelValue
    const ports: Obj[] = Array.isArray(svc.spec?.ports) ? svc.spec.ports : []
    const out: Finding[] = []
    for (const srv of servers(gw)) {
      const p = Number(srv?.port?.number)
      if (!p) continue
      const byTarget = ports.find((x) => Number(x?.targetPort) === p)
      const byPort = ports.find((x) => Number(x?.port) === p)
      if (byPort || (byTarget && translationOff)) continue
      const why = byTarget
        ? `port ${byTarget.port}→${p} exists but the label ${labelKey}: "${labelValue}" is missing, so Istio matches the Gateway's port ${p} against the Service port ${byTarget.port}`
        : `no Service port has targetPort ${p}`
      out.push(finding(KNM0105, [ref(svc), ref(gw)], `${why}: cluster-local requests to Knative Services fail`, `knmesh create-gateways${meshFlag(s.meshNamespace)}`))
    }
    return out
  },
}

export const GATEWAY_RULES = [KNM0101, KNM0102, KNM0103, KNM0104, KNM0105]
