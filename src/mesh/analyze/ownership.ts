import {KNATIVE_SERVING, meshFlag} from '../constants.js'
import {allowsMonitoring, MONITORING_POLICY} from '../metrics.js'
import {finding, ref, type Finding, type Rule} from './types.js'

/** Objects and settings the Serverless operator owns. */

export const KNM0601: Rule = {
  code: 'KNM0601',
  severity: 'Warning',
  summary:
    "A NetworkPolicy allow-from-openshift-monitoring-ns in knative-serving (a name the Serverless operator and guide 1.5 use) selects other pods or sources than the operator's: openshift-monitoring cannot scrape Knative, or the operator reverts the edit.",
  run(s) {
    const np = s.networkPolicies.find((p) => p.metadata.namespace === KNATIVE_SERVING && p.metadata.name === MONITORING_POLICY)
    if (!np || allowsMonitoring(np)) return []
    return [
      finding(
        KNM0601,
        [ref(np)],
        `does not let every pod of ${KNATIVE_SERVING} be reached from namespace openshift-monitoring (podSelector {} and namespaceSelector name=openshift-monitoring): Knative metrics are not scraped`,
        `knmesh enable-metrics${meshFlag(s.meshNamespace)}`,
      ),
    ]
  },
}

export const KNM0602: Rule = {
  code: 'KNM0602',
  severity: 'Warning',
  summary:
    'The ConfigMap config-istio in knative-serving was edited by hand: a key differs from KnativeServing spec.config.istio, and the Serverless operator overwrites the ConfigMap from KnativeServing.',
  run(s) {
    const cm = s.configIstio
    const want = s.serving?.spec?.config?.istio
    if (!cm || !s.serving || !want || typeof want !== 'object') return []
    const out: Finding[] = []
    for (const [key, value] of Object.entries(cm.data ?? {})) {
      if (!(key in want) || String((want as Record<string, unknown>)[key]) === value) continue
      out.push(
        finding(
          KNM0602,
          [ref(cm), ref(s.serving)],
          `data["${key}"] is "${value}" but KnativeServing spec.config.istio sets "${(want as Record<string, unknown>)[key]}": the operator reverts the ConfigMap`,
          `make the change in KnativeServing ${KNATIVE_SERVING}/${s.serving.metadata.name} spec.config.istio instead (knmesh enable-istio${meshFlag(s.meshNamespace)} for the gateway keys)`,
        ),
      )
    }
    return out
  },
}

export const OWNERSHIP_RULES = [KNM0601, KNM0602]
