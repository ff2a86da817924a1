import type {KObject, JsonObject} from '../../kube/types.js'
import {KNATIVE_SERVING, meshFlag} from '../constants.js'
import {INGRESS_GATEWAY, LOCAL_GATEWAY, PORT_TRANSLATION_LABEL} from '../gateways.js'
import {KNATIVE_GATEWAY_NAMESPACE_3} from '../generation.js'
import {ROUTE_INGRESS_LABEL, staleMeshRoutes} from '../migrate.js'
import {gatewayConflicts} from '../precheck.js'
import {otherMeshNamespaces3} from '../precheck3.js'
import {finding, ref, type AnalyzeState, type Finding, type Rule} from './types.js'
import {gatewayNs} from './view.js'
import {isEmptyMap, labelSelectorMatches, templateWorkloads} from './workloads.js'

/**
 * Gateways (guide 1.4.1, 1.4.2 steps 4-5). Service Mesh 3 (docs/reference/service-mesh-3.md row 6, N2, N6, N7,
 * §3 steps 7-8): the gateway pods, their Services and TLS Secret are in knative-serving-ingress; another Istio's
 * namespace is another mesh; KNM0106-KNM0108 are the migration hazards of §3 readable from the API.
 */

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
    const others = s.generation === 3 ? otherMeshNamespaces3(s.mesh3?.istios ?? [], s.meshNamespace) : undefined
    const conflicts = gatewayConflicts(s.gateways, s.generation === 3 ? [] : s.memberRolls, s.meshNamespace, others).filter((c) => !c.otherMesh)
    const out: Finding[] = []
    for (const c of conflicts) {
      const gw = s.gateways.find((g) => g.metadata.namespace === c.namespace && g.metadata.name === c.name)!
      if (knative && !selectorsOverlap(gw.spec?.selector, knative.spec?.selector)) continue
      out.push(
        finding(
          KNM0101,
          [ref(gw), ...(knative ? [ref(knative)] : [])],
          `binds port 443 with host "*" on the same gateway pods as ${KNATIVE_SERVING}/${INGRESS_GATEWAY}: Knative Services stop being reachable over HTTPS`,
          'remove that Gateway or narrow its hosts, or give Serverless a mesh of its own (guide 1.4.1)',
        ),
      )
    }
    return out
  },
}

/** Istio reads a credentialName Secret as a TLS pair from tls.crt/tls.key or cert/key. */
export function isTlsSecret(secret: KObject): boolean {
  const keys = new Set(Object.keys({...(secret.data ?? {}), ...(secret.stringData ?? {})}))
  return (keys.has('tls.crt') && keys.has('tls.key')) || (keys.has('cert') && keys.has('key'))
}

/** The namespaces a Gateway's pods run in: those of the workloads its selector matches, else the Knative gateway's (gatewayNs). */
export function gatewayNamespaces(
  s: Pick<AnalyzeState, 'workloads' | 'knativeServices' | 'revisions' | 'meshNamespace' | 'generation'>,
  gw: KObject,
): string[] {
  const sel = gw.spec?.selector
  const nss = new Set(
    isEmptyMap(sel)
      ? []
      : templateWorkloads({...s, knativeServices: [], revisions: []})
          .filter((w) => labelSelectorMatches(sel, w.labels))
          .map((w) => w.namespace),
  )
  return nss.size ? [...nss].sort() : [gatewayNs(s)]
}

/** Service Mesh 3: a credentialName Secret left in the mesh namespace (the 2.x place) and absent where the gateway pods run (N2). */
function leftInMeshNamespace(s: AnalyzeState, ns: string, name: string): KObject | null {
  if (s.generation !== 3 || ns === s.meshNamespace || s.secrets === null) return null
  if (s.secrets.some((x) => x.metadata.namespace === ns && x.metadata.name === name)) return null
  return s.secrets.find((x) => x.metadata.namespace === s.meshNamespace && x.metadata.name === name) ?? null
}

export const KNM0102: Rule = {
  code: 'KNM0102',
  severity: 'Error',
  summary: "A Gateway server's tls.credentialName names a Secret that does not exist where the gateway pods run, or that holds no TLS pair (tls.crt/tls.key).",
  run(s) {
    if (s.secrets === null) return []
    const out: Finding[] = []
    for (const gw of s.gateways) {
      for (const srv of servers(gw)) {
        const name = srv?.tls?.credentialName
        if (typeof name !== 'string' || !name) continue
        for (const ns of gatewayNamespaces(s, gw)) {
          // KNM0106 names the 2.x leftover.
          if (leftInMeshNamespace(s, ns, name)) continue
          const secret = s.secrets.find((x) => x.metadata.namespace === ns && x.metadata.name === name)
          const fix =
            ns === gatewayNs(s) && gw.metadata.name === INGRESS_GATEWAY
              ? `knmesh certs${meshFlag(s.meshNamespace)}`
              : `create the kubernetes.io/tls Secret ${ns}/${name}`
          if (!secret)
            out.push(
              finding(
                KNM0102,
                [ref(gw), {kind: 'Secret', namespace: ns, name}],
                `credentialName "${name}" (port ${srv?.port?.number}): no Secret ${ns}/${name}; the gateway serves no certificate on that port`,
                fix,
              ),
            )
          else if (!isTlsSecret(secret))
            out.push(
              finding(
                KNM0102,
                [ref(gw), ref(secret, 'Secret')],
                `credentialName "${name}": Secret ${ns}/${name} (type ${secret.type ?? 'Opaque'}) has no tls.crt/tls.key pair`,
                fix,
              ),
            )
        }
      }
    }
    return out
  },
}

export const KNM0103: Rule = {
  code: 'KNM0103',
  severity: 'Error',
  summary: "A Gateway's selector matches no Deployment pod template and no gateway Service: no proxy serves it.",
  run(s) {
    // Nothing deployed in the mesh namespace yet: the control plane is still coming up (precheck says so). Service Mesh
    // 3: the gateway is the user's (create-gateways), so only a missing Istio holds the check back.
    if (s.generation === 3 ? !s.mesh3?.istio : !s.workloads.some((w) => w.metadata.namespace === s.meshNamespace)) return []
    const pods = templateWorkloads({...s, knativeServices: [], revisions: []})
    const out: Finding[] = []
    for (const gw of s.gateways) {
      const sel = gw.spec?.selector
      if (isEmptyMap(sel)) continue
      if (pods.some((w) => labelSelectorMatches(sel, w.labels))) continue
      if (s.services.some((svc) => labelSelectorMatches(sel, svc.metadata.labels ?? {}))) continue
      const text = Object.entries(sel)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
      const ours = gw.metadata.namespace === KNATIVE_SERVING && [INGRESS_GATEWAY, LOCAL_GATEWAY].includes(gw.metadata.name)
      const oursFix =
        s.generation === 3
          ? `knmesh create-gateways${meshFlag(s.meshNamespace)} (the Deployment ${KNATIVE_GATEWAY_NAMESPACE_3}/knative-istio-ingressgateway)`
          : `knmesh configure-mesh${meshFlag(s.meshNamespace)} (the gateway label), then knmesh create-gateways${meshFlag(s.meshNamespace)}`
      out.push(
        finding(
          KNM0103,
          [ref(gw)],
          `selector ${text} matches no Deployment's pod template and no Service: no gateway proxy serves this Gateway`,
          ours ? oursFix : "fix the selector to match the gateway pods' labels",
        ),
      )
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
      if (exists || (svc?.namespace === s.meshNamespace && (!meshUp || s.generation === 3))) continue // 3: KNM0107's
      const where = from.kind === 'ConfigMap' ? 'data' : 'spec.config.istio'
      out.push(
        finding(
          KNM0104,
          [ref(from), ...(svc ? [{kind: 'Service', ...svc}] : [])],
          `${where}["${key}"] is "${host}": ${svc ? `no Service ${svc.namespace}/${svc.name}` : 'not a Service host (NAME.NAMESPACE.svc.cluster.local)'}`,
          `knmesh enable-istio${meshFlag(s.meshNamespace)}`,
        ),
      )
    }
    return out
  },
}

export const KNM0105: Rule = {
  code: 'KNM0105',
  severity: 'Error',
  summary:
    "Service knative-local-gateway does not reach the local Gateway's 8081 server: no port with targetPort 8081 plus the disable-gateway-port-translation label, and no port 8081 (cluster-local traffic fails; istioctl's IST0162 is a false positive for the guide's pattern).",
  run(s) {
    const gw = s.gateways.find((g) => g.metadata.namespace === KNATIVE_SERVING && g.metadata.name === LOCAL_GATEWAY)
    const svc = s.services.find((x) => x.metadata.namespace === gatewayNs(s) && x.metadata.name === LOCAL_GATEWAY)
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
      out.push(
        finding(KNM0105, [ref(svc), ref(gw)], `${why}: cluster-local requests to Knative Services fail`, `knmesh create-gateways${meshFlag(s.meshNamespace)}`),
      )
    }
    return out
  },
}

export const KNM0106: Rule = {
  code: 'KNM0106',
  severity: 'Error',
  generations: [3],
  summary:
    "Service Mesh 3: a Gateway's tls.credentialName Secret (wildcard-certs) is in the mesh namespace, where Service Mesh 2 read it, but not in knative-serving-ingress, where the gateway pods run and Istio reads it: the HTTPS listener has no certificate.",
  run(s) {
    if (s.secrets === null) return []
    const out: Finding[] = []
    for (const gw of s.gateways) {
      for (const srv of servers(gw)) {
        const name = srv?.tls?.credentialName
        if (typeof name !== 'string' || !name) continue
        for (const ns of gatewayNamespaces(s, gw)) {
          const left = leftInMeshNamespace(s, ns, name)
          if (!left) continue
          out.push(
            finding(
              KNM0106,
              [ref(gw), ref(left, 'Secret'), {kind: 'Secret', namespace: ns, name}],
              `credentialName "${name}" (port ${srv?.port?.number}): Secret ${s.meshNamespace}/${name} exists but ${ns}/${name} does not; on Service Mesh 3 the gateway reads it from its own namespace, so port ${srv?.port?.number} serves no certificate`,
              `copy the Secret to ${ns} (oc get secret ${name} -n ${s.meshNamespace} -o json | jq '{apiVersion, kind, type, data, metadata: {name: .metadata.name}}' | oc apply -n ${ns} -f -; knmesh migrate-mesh step 5 does it), or make a new one there: knmesh certs${meshFlag(s.meshNamespace)}`,
            ),
          )
        }
      }
    }
    return out
  },
}

export const KNM0107: Rule = {
  code: 'KNM0107',
  severity: 'Error',
  generations: [3],
  summary:
    'Service Mesh 3: a gateway host in KnativeServing spec.config.istio or config-istio still names a Service in the mesh namespace (the 2.x istio-ingressgateway / knative-local-gateway) instead of knative-serving-ingress: traffic goes to the 2.x gateway or nowhere, and the Routes stay in the mesh namespace.',
  run(s) {
    const out: Finding[] = []
    for (const {key, host, from} of configGatewayHosts(s)) {
      const svc = serviceOfHost(host)
      if (svc?.namespace !== s.meshNamespace) continue
      const where = from.kind === 'ConfigMap' ? 'data' : 'spec.config.istio'
      const exists = s.services.some((x) => x.metadata.namespace === svc.namespace && x.metadata.name === svc.name)
      out.push(
        finding(
          KNM0107,
          [ref(from), {kind: 'Service', ...svc}],
          `${where}["${key}"] is "${host}": on Service Mesh 3 the Knative gateway's Services are in ${KNATIVE_GATEWAY_NAMESPACE_3}${exists ? ' (this one is a Service Mesh 2 leftover)' : ', and there is no such Service'}`,
          `knmesh enable-istio${meshFlag(s.meshNamespace)} (after knmesh create-gateways${meshFlag(s.meshNamespace)})`,
        ),
      )
    }
    return out
  },
}

export const KNM0108: Rule = {
  code: 'KNM0108',
  severity: 'Error',
  generations: [3],
  summary: `Service Mesh 3: a Route of the mesh namespace made by the Serverless route controller (label ${ROUTE_INGRESS_LABEL}) targets a Service that no longer exists there: it keeps claiming its host, so the new Route in knative-serving-ingress reports HostAlreadyClaimed and external traffic to that host fails.`,
  run(s) {
    const stale = staleMeshRoutes(s.mesh3?.routes ?? [], s.services, s.meshNamespace)
    return stale.map((r) =>
      finding(
        KNM0108,
        [ref(r)],
        `host ${r.spec?.host ?? '(none)'} targets Service ${s.meshNamespace}/${r.spec?.to?.name ?? '?'}, which does not exist: the Route of ${KNATIVE_GATEWAY_NAMESPACE_3} for that host cannot be admitted (HostAlreadyClaimed)`,
        `oc delete route ${r.metadata.name} -n ${s.meshNamespace} (knmesh migrate-mesh step 8 deletes them all)`,
      ),
    )
  },
}

export const GATEWAY_RULES = [KNM0101, KNM0102, KNM0103, KNM0104, KNM0105, KNM0106, KNM0107, KNM0108]
