/**
 * Seed states of the test control plane (see ../controlplane.ts): the fresh OpenShift Serverless + Service Mesh 2
 * state (seedFreshServerless), the Service Mesh 3 state (seedMesh3) and their YAML; startSeededControlPlane puts
 * binaries, processes, CRDs and the fresh state together.
 */
import {defaultKubectl, ensureBinaries, installCrds, kubectl, log, since} from './bootstrap.js'
import {startControlPlane, type ControlPlane} from './process.js'

const SEED_NAMESPACES = `
apiVersion: v1
kind: Namespace
metadata:
  name: istio-system
---
apiVersion: v1
kind: Namespace
metadata:
  name: knative-serving
  labels:
    knative.openshift.io/part-of: openshift-serverless
---
apiVersion: v1
kind: Namespace
metadata:
  name: knative-eventing
`

const SEED_OBJECTS = `
apiVersion: operator.knative.dev/v1beta1
kind: KnativeServing
metadata:
  name: knative-serving
  namespace: knative-serving
spec: {}
---
apiVersion: maistra.io/v2
kind: ServiceMeshControlPlane
metadata:
  name: basic
  namespace: istio-system
spec:
  version: v2.5
  profiles:
  - default
---
apiVersion: maistra.io/v1
kind: ServiceMeshMemberRoll
metadata:
  name: default
  namespace: istio-system
spec:
  members: []
---
apiVersion: config.openshift.io/v1
kind: Ingress
metadata:
  name: cluster
spec:
  domain: apps.example.com
`

/**
 * "Fresh OpenShift Serverless + Service Mesh" state: namespaces istio-system,
 * knative-serving (labelled part-of openshift-serverless), knative-eventing;
 * KnativeServing knative-serving; SMCP basic (v2.5, default profile); SMMR
 * default with no members; cluster Ingress config with domain apps.example.com.
 * Idempotent (server-side apply).
 */
export async function seedFreshServerless(kubeconfig: string, opts: {kubectl?: string} = {}): Promise<void> {
  const t0 = performance.now()
  const bin = opts.kubectl ?? defaultKubectl()
  const apply = ['apply', '--server-side', '--force-conflicts', '--field-manager=knmesh-test-seed', '-f', '-']
  await kubectl(bin, kubeconfig, apply, SEED_NAMESPACES)
  await kubectl(bin, kubeconfig, apply, SEED_OBJECTS)
  log(`seeded fresh Serverless state in ${since(t0)}`)
}

const SEED_MESH3 = `
apiVersion: v1
kind: Namespace
metadata:
  name: istio-cni
---
apiVersion: v1
kind: Namespace
metadata:
  name: knative-serving-ingress
---
apiVersion: sailoperator.io/v1
kind: Istio
metadata:
  name: default
spec:
  namespace: istio-system
  version: v1.27-latest
  updateStrategy:
    type: InPlace
---
apiVersion: sailoperator.io/v1
kind: IstioCNI
metadata:
  name: default
spec:
  namespace: istio-cni
  version: v1.27-latest
`

/** The status the Sail operator writes on a healthy Istio (InPlace: revision name = Istio name). */
export function healthyIstioStatus(revision = 'default'): Record<string, unknown> {
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  const cond = (type: string) => ({type, status: 'True', lastTransitionTime: at})
  return {
    status: {
      state: 'Healthy',
      activeRevisionName: revision,
      revisions: {total: 1, ready: 1, inUse: 1},
      conditions: [cond('Reconciled'), cond('Ready'), cond('DependenciesHealthy')],
    },
  }
}

/**
 * "Service Mesh 3" state, on a control plane with the mesh CRD set 3 (or 'both'): the fresh Serverless
 * namespaces, KnativeServing and Ingress config of seedFreshServerless without SMCP/SMMR, plus namespaces
 * istio-cni and knative-serving-ingress, the cluster-scoped Istio "default" (spec.namespace istio-system,
 * InPlace) and IstioCNI "default", both with a Ready status (Istio: activeRevisionName default).
 * With `smcp: true` (mesh CRD set 'both') the SMCP/SMMR of the 2.x seed are added too.
 */
export async function seedMesh3(kubeconfig: string, opts: {kubectl?: string; smcp?: boolean} = {}): Promise<void> {
  const t0 = performance.now()
  const bin = opts.kubectl ?? defaultKubectl()
  const apply = ['apply', '--server-side', '--force-conflicts', '--field-manager=knmesh-test-seed', '-f', '-']
  await kubectl(bin, kubeconfig, apply, SEED_NAMESPACES + '---' + SEED_MESH3.split('---').slice(0, 2).join('---'))
  const objects = opts.smcp
    ? SEED_OBJECTS
    : SEED_OBJECTS.split('---')
        .filter((d) => !d.includes('maistra.io'))
        .join('---')
  await kubectl(bin, kubeconfig, apply, objects + '---' + SEED_MESH3.split('---').slice(2).join('---'))
  const status = JSON.stringify(healthyIstioStatus())
  await kubectl(bin, kubeconfig, ['patch', 'istios.sailoperator.io', 'default', '--subresource=status', '--type=merge', '-p', status])
  const cni = JSON.stringify({
    status: {
      state: 'Healthy',
      conditions: [
        {type: 'Ready', status: 'True'},
        {type: 'Reconciled', status: 'True'},
      ],
    },
  })
  await kubectl(bin, kubeconfig, ['patch', 'istiocnis.sailoperator.io', 'default', '--subresource=status', '--type=merge', '-p', cni])
  log(`seeded Service Mesh 3 state in ${since(t0)}`)
}

/** ensureBinaries + startControlPlane + installCrds + seedFreshServerless, timed. */
export async function startSeededControlPlane(): Promise<{cp: ControlPlane; crdDir: string}> {
  const t0 = performance.now()
  const {binDir, crdDir} = await ensureBinaries()
  const cp = await startControlPlane({binDir})
  try {
    await installCrds(cp, crdDir)
    await seedFreshServerless(cp.adminKubeconfig, {kubectl: cp.kubectl})
  } catch (err) {
    await cp.stop()
    throw err
  }
  log(`ready for tests in ${since(t0)} (process start -> CRDs installed + seeded)`)
  return {cp, crdDir}
}
