/**
 * Golden tests: tenant-authz's per-tenant AuthorizationPolicies equal the knative-istio-authz Helm chart
 * 1.32.0's rendering field for field (`helm template`, test/fixtures/golden/authz-chart/, see SOURCES.md
 * there for the chart's repository, branch, commit and the exact commands).
 *
 * Field knmesh adds by design, and the only one ignored: the metadata labels
 * `knmesh.openshift.io/tenant` and `app.kubernetes.io/managed-by` (how knmesh finds a tenant's objects
 * again; the chart sets no labels). Everything else (apiVersion, kind, name, namespace, the whole spec,
 * list order included) must be equal. Compared parsed (key order, quoting and comments ignored).
 */
import {describe, expect, it} from 'vitest'
import type {KObject} from '../../src/kube/types.js'
import {MANAGED_BY} from '../../src/mesh/constants.js'
import {PREREQUISITE_KINDS} from '../../src/mesh/precheck.js'
import {statusRows, type StatusState} from '../../src/mesh/status.js'
import {chartDifferences, renderTenant, TENANT_LABEL, tenantsOf, type TenantValues} from '../../src/mesh/tenant-authz.js'
import {byKey, golden, withoutLabels} from '../support/golden.js'

const KNMESH_LABELS = [TENANT_LABEL, ...Object.keys(MANAGED_BY)]
const values = (name: string, namespaces: string[], more: Partial<TenantValues> = {}): TenantValues => ({
  name,
  namespaces,
  meshNamespace: 'istio-system',
  clusterDomain: 'cluster.local',
  serving: true,
  eventing: true,
  ...more,
})
const rendered = (v: TenantValues) => byKey(renderTenant(v).map((o) => withoutLabels(o, KNMESH_LABELS)))

describe('golden: tenant-authz = helm template of knative-istio-authz 1.32.0', () => {
  it("every object carries exactly knmesh's two labels, nothing else is added", () => {
    for (const o of renderTenant(values('tenant-1', ['tenant-1']))) expect(o.metadata.labels).toStrictEqual({...MANAGED_BY, [TENANT_LABEL]: 'tenant-1'})
  })

  it('tenant-1 with namespace tenant-1 (issue 11.3; rendered by the Serverless operator release-1.32 with helm template): 10 policies, no methods anywhere', () => {
    const want = byKey(golden('authz-chart/operator-tenant-1.yaml'))
    expect(want).toHaveLength(10)
    expect(JSON.stringify(want)).not.toContain('methods')
    expect(rendered(values('tenant-1', ['tenant-1']))).toStrictEqual(want)
  })

  it("our own helm template of the chart's release-1.32 head renders tenant-1 exactly as the operator's file", () => {
    expect(byKey(golden('authz-chart/tenant-1.yaml'))).toStrictEqual(byKey(golden('authz-chart/operator-tenant-1.yaml')))
  })

  it("tenant-2 with namespace tenant-2 (the operator's second rendering)", () => {
    expect(rendered(values('tenant-2', ['tenant-2']))).toStrictEqual(byKey(golden('authz-chart/operator-tenant-2.yaml')))
  })

  it('team-alpha with team-alpha-1,team-alpha-2 (guide 2.3 step 4): 12 policies', () => {
    const want = byKey(golden('authz-chart/team-alpha.yaml'))
    expect(want).toHaveLength(12)
    expect(rendered(values('team-alpha', ['team-alpha-1', 'team-alpha-2']))).toStrictEqual(want)
  })

  it('eventing.enabled=false (--no-eventing)', () => {
    const want = byKey(golden('authz-chart/team-alpha-no-eventing.yaml'))
    expect(rendered(values('team-alpha', ['team-alpha-1', 'team-alpha-2'], {eventing: false}))).toStrictEqual(want)
  })

  it('serving.enabled=false (--no-serving)', () => {
    const want = byKey(golden('authz-chart/team-alpha-no-serving.yaml'))
    expect(rendered(values('team-alpha', ['team-alpha-1', 'team-alpha-2'], {serving: false}))).toStrictEqual(want)
  })

  it('istioNamespace and cluster.domain (--mesh-namespace, --cluster-domain)', () => {
    const want = byKey(golden('authz-chart/team-alpha-mesh-domain.yaml'))
    expect(rendered(values('team-alpha', ['team-alpha-1', 'team-alpha-2'], {meshNamespace: 'mesh-prod', clusterDomain: 'corp.internal'}))).toStrictEqual(want)
  })
})

describe('chartDifferences: when status may say "as the chart renders them"', () => {
  const live = (): KObject[] => renderTenant(values('tenant-1', ['tenant-1'])).map((o) => ({...o, metadata: {...o.metadata, resourceVersion: '7'}}))
  const info = (policies: KObject[]) => tenantsOf(policies)[0]

  it("none for the chart's own rendering (labels and server fields aside)", () => {
    expect(chartDifferences(info(live()), 'istio-system', 'cluster.local')).toStrictEqual([])
  })

  it('names a spec field the chart does not set, a changed rule, a missing and an extra policy', () => {
    const ps = live()
    ps.find((p) => p.metadata.name === 'allow-tenant-1-to-activator')!.spec.provider = {name: 'ext-authz'}
    ps.find((p) => p.metadata.name === 'allow-tenant-1-to-imc')!.spec.rules[1].to[0].operation.methods = ['POST']
    const without = ps.filter((p) => p.metadata.name !== 'allow-tenant-1-kafka-broker-reply')
    without.push({...structuredClone(ps[0]), metadata: {...ps[0].metadata, name: 'allow-tenant-1-extra'}})
    expect(chartDifferences(info(without), 'istio-system', 'cluster.local')).toStrictEqual([
      'knative-serving/allow-tenant-1-to-activator: spec.provider is not in the chart',
      'knative-eventing/allow-tenant-1-to-imc: spec.rules differs from the chart',
      'knative-eventing/allow-tenant-1-kafka-broker-reply is missing',
      `${ps[0].metadata.namespace}/allow-tenant-1-extra is not rendered by the chart`,
    ])
  })
})

describe('status: the tenant row', () => {
  const tenantRow = (policies: KObject[]) => {
    const served = Object.fromEntries(PREREQUISITE_KINDS.map((k) => [k.key, false])) as StatusState['precheck']['served']
    const smmr: KObject = {
      apiVersion: 'maistra.io/v1',
      kind: 'ServiceMeshMemberRoll',
      metadata: {name: 'default', namespace: 'istio-system'},
      spec: {members: ['knative-serving', 'knative-eventing', 'tenant-1']},
    }
    const state: StatusState = {
      meshNamespace: 'istio-system',
      precheck: {meshNamespace: 'istio-system', served, smcps: null, memberRolls: null, gateways: null, ingressService: null},
      members: {smmr, namespaces: null},
      gateways: {ingress: null, local: null, service: null, secretExists: null, allGateways: [], memberRolls: []},
      istio: null,
      domain: null,
      certSecret: undefined,
      view: {policies, peerAuthentications: [], smmr, meshNamespace: 'istio-system'},
    }
    return statusRows(state).find((r) => r.check === 'tenant tenant-1')!
  }

  it('says "as the chart renders them" for the chart\'s rendering', () => {
    const row = tenantRow(renderTenant(values('tenant-1', ['tenant-1'])))
    expect(row).toMatchObject({state: 'ok', detail: 'tenant-1: 10 policies as the chart renders them'})
  })

  it('does not, when a policy carries a spec field the chart does not set (tenant-authz would keep it)', () => {
    const ps = renderTenant(values('tenant-1', ['tenant-1']))
    ps.find((p) => p.metadata.name === 'allow-tenant-1-to-activator')!.spec.provider = {name: 'ext-authz'}
    const row = tenantRow(ps)
    expect(row.state).toBe('warning')
    expect(row.detail).not.toContain('as the chart renders them')
    expect(row.detail).toContain('knative-serving/allow-tenant-1-to-activator: spec.provider is not in the chart')
  })
})
