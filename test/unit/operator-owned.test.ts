import {describe, expect, it} from 'vitest'
import {allowsMonitoring, metricsFindings, operatorOwnsNetPolicies, planEnableMetrics} from '../../src/mesh/metrics.js'
import {CERT_UID_LABEL, planSecretLabels} from '../../src/mesh/secret-filter.js'
import type {KObject} from '../../src/kube/types.js'
import {operatorNetworkPolicies} from '../support/serverless-operator-double.js'

const serving = (spec: Record<string, unknown>, annotations?: Record<string, string>): KObject => ({
  apiVersion: 'operator.knative.dev/v1beta1',
  kind: 'KnativeServing',
  metadata: {name: 'knative-serving', namespace: 'knative-serving', ...(annotations ? {annotations} : {})},
  spec,
})
const smcp: KObject = {
  apiVersion: 'maistra.io/v2',
  kind: 'ServiceMeshControlPlane',
  metadata: {name: 'basic', namespace: 'istio-system'},
  spec: {proxy: {networking: {trafficControl: {inbound: {excludedPorts: [8444]}}}}},
}
const istio = {ingress: {istio: {enabled: true}}}

describe('what the Serverless Operator 1.32 owns (ingress.go, extension.go, secretinformerfiltering.go)', () => {
  it('its Istio NetworkPolicies: with Istio enabled, unless the annotation parses true', () => {
    expect(operatorOwnsNetPolicies(serving(istio))).toBe(true)
    expect(operatorOwnsNetPolicies(serving(istio, {'serverless.openshift.io/disable-istio-net-policies-generation': 'True'}))).toBe(false)
    expect(operatorOwnsNetPolicies(serving(istio, {'serverless.openshift.io/disable-istio-net-policies-generation': 'no'}))).toBe(true)
    expect(operatorOwnsNetPolicies(serving({}))).toBe(false)
  })

  it("its monitoring policy's selector lets openshift-monitoring in; enable-metrics then writes no policy", () => {
    const policies = operatorNetworkPolicies()
    expect(allowsMonitoring(policies[2])).toBe(true)
    const state = {serving: serving({...istio, config: {observability: {'metrics.backend-destination': 'prometheus'}}}), policies, smcps: [smcp]}
    expect(metricsFindings(state, {meshNamespace: 'istio-system'})).toEqual([])
    const plan = planEnableMetrics(state, {meshNamespace: 'istio-system'})
    expect(plan.items.filter((i) => i.desired?.kind === 'NetworkPolicy')).toEqual([])
    expect(plan.notes[0].text).toContain("is the Serverless Operator's")
    // Not generated yet: still no write, and the finding says who makes it.
    const none = {...state, policies: []}
    expect(planEnableMetrics(none, {meshNamespace: 'istio-system'}).items.filter((i) => i.desired?.kind === 'NetworkPolicy')).toEqual([])
    expect(metricsFindings(none, {meshNamespace: 'istio-system'})[0]).toContain('the Serverless Operator generates allow-from-openshift-monitoring-ns')
  })

  it('the metrics backend default: "none" with Istio when unset', () => {
    expect(metricsFindings({serving: serving(istio), policies: operatorNetworkPolicies(), smcps: [smcp]}, {meshNamespace: 'istio-system'})).toEqual([
      'KnativeServing metrics.backend-destination is not set: with Istio enabled the Serverless Operator makes it "none" (SRVKS-743), not "prometheus"',
    ])
  })

  it('its certificate secret: filter-secrets leaves knative-serving-certs to it', () => {
    const s = (ns: string, name: string): KObject => ({apiVersion: 'v1', kind: 'Secret', metadata: {name, namespace: ns, uid: 'u-' + name}})
    const plan = planSecretLabels([s('knative-serving', 'knative-serving-certs'), s('knative-serving', 'other')], {})
    expect(plan.items.map((i) => i.desired!.metadata.name)).toEqual(['other'])
    expect(plan.notes[0].text).toBe(
      `Secret knative-serving/knative-serving-certs is left to the Serverless Operator: it labels its own certificate secret ${CERT_UID_LABEL}=data-plane`,
    )
  })
})
