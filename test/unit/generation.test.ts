import {describe, expect, it} from 'vitest'
import {UsageError} from '../../src/errors.js'
import {decideGeneration, noControlPlaneFinding, type GenerationFacts} from '../../src/mesh/generation.js'
import type {KObject} from '../../src/kube/types.js'

const smcp = (name: string): KObject => ({apiVersion: 'maistra.io/v2', kind: 'ServiceMeshControlPlane', metadata: {name, namespace: 'istio-system'}})
const istio = (name: string, ns = 'istio-system', rev?: string): KObject => ({
  apiVersion: 'sailoperator.io/v1',
  kind: 'Istio',
  metadata: {name},
  spec: {namespace: ns},
  ...(rev ? {status: {activeRevisionName: rev}} : {}),
})
const facts = (f: Partial<GenerationFacts>): GenerationFacts => ({meshNamespace: 'istio-system', smcps: null, istios: null, ...f})

describe('decideGeneration', () => {
  it('an SMCP in the mesh namespace is Service Mesh 2', () => {
    const d = decideGeneration(facts({smcps: [smcp('basic')], istios: null}))
    expect(d.generation).toBe(2)
    expect(d.line).toBe('Service Mesh 2: ServiceMeshControlPlane basic in istio-system')
  })
  it('an Istio whose spec.namespace is the mesh namespace is Service Mesh 3; openshift-gateway and other namespaces are ignored', () => {
    const d = decideGeneration(
      facts({smcps: null, istios: [istio('openshift-gateway'), istio('other', 'elsewhere'), istio('default', 'istio-system', 'default')]}),
    )
    expect(d.generation).toBe(3)
    expect(d.istio?.metadata.name).toBe('default')
    expect(d.line).toBe('Service Mesh 3: Istio default (istio-system, revision default)')
  })
  it('only openshift-gateway: neither generation serves the mesh namespace', () => {
    const d = decideGeneration(facts({smcps: [], istios: [istio('openshift-gateway')]}))
    expect(d.generation).toBeNull()
    expect(noControlPlaneFinding(facts({smcps: [], istios: [istio('openshift-gateway')]}))).toMatch(
      /^no Service Mesh control plane serves istio-system\. Service Mesh 2\.x: knmesh configure-mesh --create; or Service Mesh 3: create an IstioCNI "default" and an Istio with spec.namespace istio-system/,
    )
  })
  it('both: a writing verb needs --mesh-version (exit 2); a read-only verb reports on 2 and says so', () => {
    const f = facts({smcps: [smcp('basic')], istios: [istio('default')]})
    expect(() => decideGeneration(f, undefined, {write: true})).toThrow(UsageError)
    expect(() => decideGeneration(f, undefined, {write: true})).toThrow('pass --mesh-version 2 or --mesh-version 3')
    expect(decideGeneration(f).generation).toBe(2)
    expect(decideGeneration(f).line).toMatch(/pass --mesh-version 3 to check that one/)
    expect(decideGeneration(f, 3, {write: true}).generation).toBe(3)
    expect(decideGeneration(f, 2, {write: true}).generation).toBe(2)
  })
  it('neither CRD served: null, and the finding says to install an operator', () => {
    expect(decideGeneration(facts({})).generation).toBeNull()
    expect(noControlPlaneFinding(facts({}))).toMatch(
      /install the Red Hat OpenShift Service Mesh Operator \(servicemeshoperator\).*install the servicemeshoperator3 operator/,
    )
  })
  it('only the Sail CRDs served and no Istio: generation 3 without an Istio', () => {
    const d = decideGeneration(facts({istios: []}))
    expect(d).toMatchObject({generation: 3, istio: null})
    expect(noControlPlaneFinding(facts({istios: []}))).toMatch(/Service Mesh 3: create an IstioCNI/)
  })
})
