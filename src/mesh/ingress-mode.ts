import type {KObject} from '../kube/types.js'

/**
 * Which ingress the OpenShift Serverless Operator 1.32 runs for a
 * KnativeServing, as its extension decides it
 * (openshift-knative/serverless-operator release-1.32,
 * openshift-knative-operator/pkg/serving/ingress.go `defaultToKourier`,
 * `defaultIngressClass`; extension.go sets `network` "ingress.class" only if
 * unset):
 *
 * - an explicit spec.config.network "ingress-class" / "ingress.class" wins;
 * - spec.ingress.kourier.enabled: Kourier, even when Istio is enabled too
 *   ("If Kourier is enabled, it'll always take precedence");
 * - spec.ingress.istio.enabled alone: Istio;
 * - spec.ingress present with every ingress disabled: Kourier (the operator
 *   enables it);
 * - no spec.ingress at all: Kourier by the operator's default, but nobody has
 *   chosen yet: `kourier-default`. knmesh still guides such a cluster towards
 *   the guide's 1.4 (Istio) and reports the faults only Kourier suffers.
 *
 * null: there is no KnativeServing.
 */
export type IngressMode = 'istio' | 'kourier' | 'kourier-default'

export const KOURIER_INGRESS_CLASS = 'kourier.ingress.networking.knative.dev'
export const ISTIO_INGRESS_CLASS = 'istio.ingress.networking.knative.dev'

/**
 * Which ingress a KnativeServing chose (see IngressMode above): an explicit network ingress-class first, then
 * spec.ingress kourier/istio enabled; no spec.ingress at all is 'kourier-default'. State: the KnativeServing (null or
 * undefined when absent: null is returned). Throws nothing. Upstream: the guide's 1.4 (Istio) and 1.6 (Kourier), and
 * the Serverless Operator's KnativeServing defaults (release-1.32).
 */
export function ingressMode(serving: KObject | null | undefined): IngressMode | null {
  if (!serving) return null
  const network = serving.spec?.config?.network ?? {}
  const explicit = network['ingress-class'] ?? network['ingress.class']
  if (explicit === KOURIER_INGRESS_CLASS) return 'kourier'
  if (explicit === ISTIO_INGRESS_CLASS) return 'istio'
  const ingress = serving.spec?.ingress
  if (!ingress || typeof ingress !== 'object') return 'kourier-default'
  if (ingress.kourier?.enabled === true) return 'kourier'
  if (ingress.istio?.enabled === true) return 'istio'
  return 'kourier'
}

/** Kourier runs (chosen or by default). */
export function kourierRuns(mode: IngressMode | null): boolean {
  return mode === 'kourier' || mode === 'kourier-default'
}
