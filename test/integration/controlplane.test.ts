/**
 * Proves the local control plane behaves like a real API server where knmesh
 * depends on it: CRDs served, structural-schema validation enforced, RBAC
 * enforced for the restricted user, and the "fresh Serverless" seed present.
 */
import {ApiException, CustomObjectsApi, KubeConfig} from '@kubernetes/client-node'
import {execa} from 'execa'
import {describe, expect, inject, it} from 'vitest'

const admin = inject('adminKubeconfig')
const restricted = inject('restrictedKubeconfig')

async function kubectl(kubeconfig: string, args: string[], input?: string) {
  return execa('kubectl', [`--kubeconfig=${kubeconfig}`, ...args], {
    ...(input === undefined ? {stdin: 'ignore' as const} : {input}),
    reject: false,
  })
}

function customObjects(kubeconfig: string): CustomObjectsApi {
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfig)
  return kc.makeApiClient(CustomObjectsApi)
}

async function apiError(p: Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await p
  } catch (err) {
    if (err instanceof ApiException) return err
    throw err
  }
  throw new Error('expected the API server to reject the request')
}

/** The Status message of a rejected request (client-node 1.x hands the body over as a string). */
function statusMessage(err: ApiException<unknown>): string {
  const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body
  return (body as {message?: string}).message ?? ''
}

const smmr = (name: string, spec: unknown) => ({
  apiVersion: 'maistra.io/v1',
  kind: 'ServiceMeshMemberRoll',
  metadata: {name, namespace: 'istio-system'},
  spec,
})

describe('local control plane', () => {
  it('serves the CRDs knmesh works with', async () => {
    const r = await kubectl(admin, ['get', 'crd', 'servicemeshmemberrolls.maistra.io', '-o', 'name'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout.trim()).toBe('customresourcedefinition.apiextensions.k8s.io/servicemeshmemberrolls.maistra.io')

    const all = await kubectl(admin, ['get', 'crd', '-o', 'jsonpath={.items[*].metadata.name}'])
    expect(all.exitCode, all.stderr).toBe(0)
    const names = all.stdout.split(/\s+/)
    for (const crd of [
      'servicemeshcontrolplanes.maistra.io',
      'servicemeshmembers.maistra.io',
      'gateways.networking.istio.io',
      'authorizationpolicies.security.istio.io',
      'peerauthentications.security.istio.io',
      'serviceentries.networking.istio.io',
      'knativeservings.operator.knative.dev',
      'knativeeventings.operator.knative.dev',
      'services.serving.knative.dev',
      'domainmappings.serving.knative.dev',
      'ingresses.networking.internal.knative.dev',
      'knativekafkas.operator.serverless.openshift.io',
      'routes.route.openshift.io',
      'ingresses.config.openshift.io',
    ]) {
      expect(names).toContain(crd)
    }
  })

  it('has the fresh Serverless seed', async () => {
    const smcp = await kubectl(admin, ['get', 'smcp', 'basic', '-n', 'istio-system', '-o', 'jsonpath={.spec.version}'])
    expect(smcp.stdout, smcp.stderr).toBe('v2.5')
    const roll = await kubectl(admin, ['get', 'smmr', 'default', '-n', 'istio-system', '-o', 'jsonpath={.metadata.name}'])
    expect(roll.stdout, roll.stderr).toBe('default')
    const ks = await kubectl(admin, ['get', 'knativeserving.operator.knative.dev', 'knative-serving', '-n', 'knative-serving', '-o', 'name'])
    expect(ks.exitCode, ks.stderr).toBe(0)
    const ns = await kubectl(admin, ['get', 'ns', 'knative-serving', '-o', 'jsonpath={.metadata.labels.knative\\.openshift\\.io/part-of}'])
    expect(ns.stdout, ns.stderr).toBe('openshift-serverless')
    const domain = await kubectl(admin, ['get', 'ingresses.config.openshift.io', 'cluster', '-o', 'jsonpath={.spec.domain}'])
    expect(domain.stdout, domain.stderr).toBe('apps.example.com')
  })

  describe('structural schema validation is ON', () => {
    it('rejects an SMMR whose spec.members is not a list (422)', async () => {
      const err = await apiError(
        customObjects(admin).createNamespacedCustomObject({
          group: 'maistra.io',
          version: 'v1',
          namespace: 'istio-system',
          plural: 'servicemeshmemberrolls',
          body: smmr('bad-members', {members: 'not-a-list'}),
        }),
      )
      expect(err.code).toBe(422)
      expect(statusMessage(err)).toMatch(
        /ServiceMeshMemberRoll\.maistra\.io "bad-members" is invalid: spec\.members: Invalid value: "string": spec\.members in body must be of type array/,
      )

      const r = await kubectl(admin, ['create', '-f', '-'], JSON.stringify(smmr('bad-members', {members: 'not-a-list'})))
      expect(r.exitCode).not.toBe(0)
      expect(r.stderr).toMatch(/is invalid: spec\.members: Invalid value: "string": spec\.members in body must be of type array/)
    })

    it('rejects an AuthorizationPolicy with spec.action BOGUS (422)', async () => {
      const body = {
        apiVersion: 'security.istio.io/v1beta1',
        kind: 'AuthorizationPolicy',
        metadata: {name: 'bogus', namespace: 'istio-system'},
        spec: {action: 'BOGUS'},
      }
      const err = await apiError(
        customObjects(admin).createNamespacedCustomObject({
          group: 'security.istio.io',
          version: 'v1beta1',
          namespace: 'istio-system',
          plural: 'authorizationpolicies',
          body,
        }),
      )
      expect(err.code).toBe(422)
      expect(statusMessage(err)).toMatch(/AuthorizationPolicy\.security\.istio\.io "bogus" is invalid: spec\.action: Unsupported value: "BOGUS"/)

      const r = await kubectl(admin, ['create', '-f', '-'], JSON.stringify(body))
      expect(r.exitCode).not.toBe(0)
      expect(r.stderr).toMatch(/spec\.action: Unsupported value: "BOGUS": supported values: "ALLOW", "DENY", "AUDIT", "CUSTOM"/)
    })

    it('rejects unknown fields with strict validation (kubectl default)', async () => {
      const r = await kubectl(admin, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(smmr('strict', {notInSchema: true})))
      expect(r.exitCode).not.toBe(0)
      expect(r.stderr).toMatch(/strict decoding error: unknown field "spec\.notInSchema"/)
    })

    it('prunes fields the schema does not know when validation is lax', async () => {
      const r = await kubectl(
        admin,
        ['create', '--dry-run=server', '--validate=ignore', '-o', 'json', '-f', '-'],
        JSON.stringify(smmr('pruned', {members: ['a'], notInSchema: true})),
      )
      expect(r.exitCode, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).spec).toEqual({members: ['a']})
    })
  })

  describe('RBAC for the restricted user ("view" only)', () => {
    it('is forbidden from creating an SMMR (403)', async () => {
      const err = await apiError(
        customObjects(restricted).createNamespacedCustomObject({
          group: 'maistra.io',
          version: 'v1',
          namespace: 'istio-system',
          plural: 'servicemeshmemberrolls',
          body: smmr('not-allowed', {members: []}),
        }),
      )
      expect(err.code).toBe(403)

      const r = await kubectl(restricted, ['create', '-f', '-'], JSON.stringify(smmr('not-allowed', {members: []})))
      expect(r.exitCode).not.toBe(0)
      expect(r.stderr).toMatch(
        /servicemeshmemberrolls\.maistra\.io is forbidden: User "restricted" cannot create resource "servicemeshmemberrolls" in API group "maistra\.io" in the namespace "istio-system"/,
      )
    })

    it('can get the SMMR', async () => {
      const obj = (await customObjects(restricted).getNamespacedCustomObject({
        group: 'maistra.io',
        version: 'v1',
        namespace: 'istio-system',
        plural: 'servicemeshmemberrolls',
        name: 'default',
      })) as {metadata: {name: string}}
      expect(obj.metadata.name).toBe('default')

      const r = await kubectl(restricted, ['get', 'smmr', 'default', '-n', 'istio-system', '-o', 'name'])
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stdout.trim()).toBe('servicemeshmemberroll.maistra.io/default')
    })

    it('cannot patch the seeded SMCP', async () => {
      const r = await kubectl(restricted, ['auth', 'can-i', 'patch', 'servicemeshcontrolplanes.maistra.io', '-n', 'istio-system'])
      expect(r.stdout.trim()).toBe('no')
    })
  })

  describe('the CRDs are the real upstream ones (test/fixtures/crds-upstream), no stand-in', () => {
    const crd = async (name: string) => {
      const r = await kubectl(admin, ['get', 'crd', name, '-o', 'json'])
      expect(r.exitCode, r.stderr).toBe(0)
      return JSON.parse(r.stdout) as {
        metadata: {annotations?: Record<string, string>}
        spec: {conversion?: {strategy: string; webhook?: unknown}; versions: {name: string; served: boolean; storage: boolean}[]}
      }
    }
    const served = (c: Awaited<ReturnType<typeof crd>>) => c.spec.versions.filter((v) => v.served).map((v) => v.name)
    const smcp = (name: string, spec: unknown) => ({
      apiVersion: 'maistra.io/v2',
      kind: 'ServiceMeshControlPlane',
      metadata: {name, namespace: 'istio-system'},
      spec,
    })

    it('no installed CRD is a stand-in; Service Mesh 3 (sailoperator.io) is not installed', async () => {
      const all = await kubectl(admin, ['get', 'crd', '-o', 'json'])
      const items = JSON.parse(all.stdout).items as {metadata: {name: string; annotations?: Record<string, string>}}[]
      expect(items.filter((c) => c.metadata.annotations?.['knmesh.dev/stand-in'])).toEqual([])
      expect(items.map((c) => c.metadata.name).filter((n) => n.endsWith('.sailoperator.io'))).toEqual([])
      expect(items.map((c) => c.metadata.name)).toContain('pipelines.tekton.dev')
    })

    it('SMCP: Maistra 2.5, v1 and v2 served, v2 stored', async () => {
      const c = await crd('servicemeshcontrolplanes.maistra.io')
      expect(c.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([
        ['v1', true, false],
        ['v2', true, true],
      ])
    })

    it('SMCP schema is enforced: a string in spec.proxy.networking.trafficControl.inbound.excludedPorts is refused (422); numbers are admitted', async () => {
      const bad = smcp('bad-ports', {version: 'v2.5', proxy: {networking: {trafficControl: {inbound: {excludedPorts: ['8444']}}}}})
      const err = await apiError(
        customObjects(admin).createNamespacedCustomObject({
          group: 'maistra.io',
          version: 'v2',
          namespace: 'istio-system',
          plural: 'servicemeshcontrolplanes',
          body: bad,
        }),
      )
      expect(err.code).toBe(422)
      expect(statusMessage(err)).toMatch(
        /ServiceMeshControlPlane\.maistra\.io "bad-ports" is invalid: spec\.proxy\.networking\.trafficControl\.inbound\.excludedPorts\[0\]: Invalid value: "string": spec\.proxy\.networking\.trafficControl\.inbound\.excludedPorts\[0\] in body must be of type integer/,
      )
      const good = smcp('good-ports', {version: 'v2.5', proxy: {networking: {trafficControl: {inbound: {excludedPorts: [8444, 8022]}}}}})
      const ok = await kubectl(admin, ['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(good))
      expect(ok.exitCode, ok.stderr).toBe(0)
      expect(JSON.parse(ok.stdout).spec.proxy.networking.trafficControl.inbound.excludedPorts).toEqual([8444, 8022])
    })

    it('SMCP schema is deep: an unknown field under spec.security.dataPlane is refused (a top-level-only stand-in accepted it)', async () => {
      const r = await kubectl(
        admin,
        ['create', '--dry-run=server', '-f', '-'],
        JSON.stringify(smcp('deep', {security: {dataPlane: {mtls: true, mtlsMode: 'STRICT'}}})),
      )
      expect(r.exitCode).not.toBe(0)
      expect(r.stderr).toMatch(/strict decoding error: unknown field "spec\.security\.dataPlane\.mtlsMode"/)
    })

    it("KnativeKafka (Serverless 1.32): the guide's object is admitted except spec.broker.sink, which the CRD has at spec.sink", async () => {
      const kafka = (spec: Record<string, unknown>) => ({
        apiVersion: 'operator.serverless.openshift.io/v1alpha1',
        kind: 'KnativeKafka',
        metadata: {name: 'knative-kafka', namespace: 'knative-eventing'},
        spec,
      })
      const workloads = ['kafka-controller', 'kafka-broker-receiver'].map((name) => ({
        name,
        annotations: {'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/rewriteAppHTTPProbers': 'true'},
      }))
      const guide = {
        channel: {enabled: true, bootstrapServers: 'my-cluster-kafka-bootstrap.kafka:9092'},
        source: {enabled: true},
        broker: {
          enabled: true,
          defaultConfig: {bootstrapServers: 'my-cluster-kafka-bootstrap.kafka:9092', numPartitions: 10, replicationFactor: 3},
          sink: {enabled: true},
        },
        workloads,
      }
      const strict = await kubectl(admin, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(kafka(guide)))
      expect(strict.exitCode).not.toBe(0)
      expect(strict.stderr).toMatch(/strict decoding error: unknown field "spec\.broker\.sink"/)
      const lax = await kubectl(admin, ['create', '--dry-run=server', '--validate=ignore', '-o', 'json', '-f', '-'], JSON.stringify(kafka(guide)))
      expect(lax.exitCode, lax.stderr).toBe(0)
      const stored = JSON.parse(lax.stdout).spec
      expect(stored.broker.sink).toBeUndefined()
      expect(stored.workloads).toEqual(workloads)
      // The CRD's own place for it, and its required fields and types.
      const moved = await kubectl(
        admin,
        ['create', '--dry-run=server', '-f', '-'],
        JSON.stringify(kafka({...guide, broker: {...guide.broker, sink: undefined}, sink: {enabled: true}})),
      )
      expect(moved.exitCode, moved.stderr).toBe(0)
      const noSource = await kubectl(admin, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(kafka({channel: {enabled: false}})))
      expect(noSource.exitCode).not.toBe(0)
      expect(noSource.stderr).toMatch(/spec\.source: Required value/)
      const badPartitions = await kubectl(
        admin,
        ['create', '--dry-run=server', '-f', '-'],
        JSON.stringify(kafka({...guide, broker: {enabled: true, defaultConfig: {numPartitions: 'ten'}}})),
      )
      expect(badPartitions.exitCode).not.toBe(0)
      expect(badPartitions.stderr).toMatch(/spec\.broker\.defaultConfig\.numPartitions: Invalid value: "string"/)
    })

    it("KnativeServing/KnativeEventing are the Serverless operator's: v1beta1 only; the conversion webhook nobody serves here is set to None at install time", async () => {
      for (const name of ['knativeservings.operator.knative.dev', 'knativeeventings.operator.knative.dev']) {
        const c = await crd(name)
        expect(served(c), name).toEqual(['v1beta1'])
        expect(c.spec.conversion, name).toEqual({strategy: 'None'})
      }
    })

    it('Tekton Pipeline: conversion None and only v1 served (install-time edit, as test/fixtures/crds-upstream/SOURCES.md advises)', async () => {
      const c = await crd('pipelines.tekton.dev')
      expect(c.spec.conversion).toEqual({strategy: 'None'})
      expect(served(c)).toEqual(['v1'])
      const body = {
        apiVersion: 'tekton.dev/v1',
        kind: 'Pipeline',
        metadata: {name: 'p', namespace: 'default', labels: {'pipeline.openshift.io/runtime': 'nodejs'}},
        spec: {tasks: []},
      }
      const ok = await kubectl(admin, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(body))
      expect(ok.exitCode, ok.stderr).toBe(0)
      const old = await kubectl(admin, ['create', '--dry-run=server', '-f', '-'], JSON.stringify({...body, apiVersion: 'tekton.dev/v1beta1'}))
      expect(old.exitCode).not.toBe(0)
    })
  })
})
