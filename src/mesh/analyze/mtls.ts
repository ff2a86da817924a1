import type {KObject} from '../../kube/types.js'
import {meshMtlsOf} from '../smcp.js'
import {KNATIVE_SERVING, meshFlag} from '../constants.js'
import {missingExcludedPorts} from '../smcp.js'
import {meshWidePeerAuthentications, missingIstioExcludedPorts} from '../sail.js'
import {AUTOSCALER_PERMISSIVE} from '../tenant-authz3.js'
import {finding, ref, type AnalyzeState, type Finding, type Rule} from './types.js'
import {meshNamespaces} from './view.js'

/**
 * mTLS (guide 1.4.2 step 1: security.dataPlane.mtls: true). Service Mesh 3 (docs/reference/service-mesh-3.md
 * row 4, §1.2): the Istio has no mTLS switch; strict mTLS is the mesh-wide PeerAuthentication of the mesh namespace,
 * and the plain ports are the Istio's spec.values.global.proxy.excludeInboundPorts string.
 */

/** What enforces strict mTLS mesh-wide: the SMCP with security.dataPlane.mtls (2), the mesh-wide STRICT PeerAuthentication (3); null: nothing. */
function strictSource(s: AnalyzeState): {obj: KObject; text: string} | null {
  if (s.generation === 3) {
    const wide = meshWidePeerAuthentications(s.peerAuthentications.filter((p) => p.metadata.namespace === s.meshNamespace))[0]
    return wide?.spec?.mtls?.mode === 'STRICT'
      ? {obj: wide, text: `the mesh-wide PeerAuthentication ${s.meshNamespace}/${wide.metadata.name}'s STRICT mTLS`}
      : null
  }
  if (!meshMtlsOf(s.smcps)) return null
  const smcp = s.smcps.find((x) => x.spec?.security?.dataPlane?.mtls === true)!
  return {obj: smcp, text: `ServiceMeshControlPlane ${smcp.metadata.name}'s strict mTLS`}
}

/** Service Mesh 3: tenant-authz --defaults' own knative-serving/autoscaler-permissive (the e2e's 07b), not a finding. */
const isAutoscalerPermissive = (pa: KObject) =>
  pa.metadata.namespace === KNATIVE_SERVING &&
  pa.metadata.name === AUTOSCALER_PERMISSIVE &&
  pa.spec?.selector?.matchLabels?.app === 'autoscaler' &&
  Object.keys(pa.spec.selector.matchLabels).length === 1

/**
 * The Knative ports that must stay reachable without mesh mTLS: 8444 (activator/autoscaler metrics, scraped by
 * openshift-monitoring from outside the mesh), 8022 (queue-proxy's wait-for-drain, called by the kubelet's
 * pre-stop hook), 9090 (queue-proxy's autoscaling metrics port).
 */
export const KNATIVE_PLAIN_PORTS = [8444, 8022, 9090]

const modeOf = (pa: KObject): string | undefined => {
  const m = pa.spec?.mtls?.mode
  return typeof m === 'string' && m !== 'UNSET' ? m : undefined
}

export const KNM0401: Rule = {
  code: 'KNM0401',
  severity: 'Warning',
  summary:
    'A PeerAuthentication in the mesh sets mTLS PERMISSIVE or DISABLE while the control plane enforces strict mTLS (security.dataPlane.mtls: true; Service Mesh 3: the mesh-wide PeerAuthentication STRICT, knative-serving/autoscaler-permissive excepted): plaintext is accepted there.',
  run(s) {
    const strict = strictSource(s)
    if (!strict) return []
    const mesh = meshNamespaces(s)
    const out: Finding[] = []
    for (const pa of s.peerAuthentications) {
      const mode = modeOf(pa)
      if (!mode || mode === 'STRICT' || !mesh.has(pa.metadata.namespace!) || (s.generation === 3 && isAutoscalerPermissive(pa))) continue
      const scope =
        pa.metadata.namespace === s.meshNamespace && !pa.spec?.selector
          ? 'the whole mesh'
          : pa.spec?.selector
            ? 'the workloads it selects'
            : `namespace ${pa.metadata.namespace}`
      out.push(
        finding(
          KNM0401,
          [ref(pa), ref(strict.obj)],
          `mtls.mode ${mode} for ${scope}, against ${strict.text}`,
          `set mtls.mode STRICT (or UNSET) in ${pa.metadata.namespace}/${pa.metadata.name}; for Knative's plain ports use portLevelMtls or knmesh configure-mesh${meshFlag(s.meshNamespace)}`,
        ),
      )
    }
    return out
  },
}

export const KNM0402: Rule = {
  code: 'KNM0402',
  severity: 'Warning',
  summary:
    'A PeerAuthentication of knative-serving, a Knative Service namespace or the mesh root makes port-level mTLS exceptions that leave out a Knative port (8444 metrics, 8022 drain, 9090 autoscaling metrics) the control plane does not exclude either.',
  run(s) {
    // The control plane that excludes ports: the SMCP (2), the Istio's excludeInboundPorts string (3).
    const smcp = s.generation === 3 ? s.mesh3?.istio : s.smcps.length === 1 ? s.smcps[0] : s.smcps.find((x) => x.spec?.security?.dataPlane?.mtls === true)
    const notExcluded = smcp
      ? s.generation === 3
        ? missingIstioExcludedPorts(smcp, KNATIVE_PLAIN_PORTS)
        : missingExcludedPorts(smcp, KNATIVE_PLAIN_PORTS)
      : KNATIVE_PLAIN_PORTS
    const knativeNs = new Set([KNATIVE_SERVING, s.meshNamespace, ...s.knativeServices.map((k) => k.metadata.namespace!)])
    const out: Finding[] = []
    for (const pa of s.peerAuthentications) {
      const levels = pa.spec?.portLevelMtls
      if (!levels || typeof levels !== 'object' || Object.keys(levels).length === 0 || !knativeNs.has(pa.metadata.namespace!)) continue
      const relaxed = new Set(
        Object.entries(levels as Record<string, {mode?: string}>)
          .filter(([, v]) => v?.mode === 'PERMISSIVE' || v?.mode === 'DISABLE')
          .map(([p]) => Number(p)),
      )
      if (relaxed.size === 0) continue
      const missing = notExcluded.filter((p) => !relaxed.has(p))
      if (missing.length === 0) continue
      out.push(
        finding(
          KNM0402,
          [ref(pa), ...(smcp ? [ref(smcp)] : [])],
          `portLevelMtls relaxes ${[...relaxed].sort((a, b) => a - b).join(', ')} but not ${missing.join(', ')}, and the control plane does not exclude ${missing.length === 1 ? 'it' : 'them'}: ${missing.includes(8444) ? 'metrics scraping, ' : ''}${missing.includes(8022) ? 'the drain hook, ' : ''}${missing.includes(9090) ? 'autoscaling metrics, ' : ''}fail under strict mTLS`.replace(
            ', fail',
            ' fail',
          ),
          `add ${missing.join(', ')} to portLevelMtls, or exclude 8444/8022 with knmesh configure-mesh${meshFlag(s.meshNamespace)}`,
        ),
      )
    }
    return out
  },
}

export const MTLS_RULES = [KNM0401, KNM0402]
