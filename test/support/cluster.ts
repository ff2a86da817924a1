import {afterAll, beforeAll, inject} from 'vitest'
import {KubeClient} from '../../src/kube/client.js'
import {ensureBinaries, installCrds, seedFreshServerless, seedMesh3, startControlPlane, type ControlPlane, type MeshCrdSet} from './controlplane.js'
import {knmesh, type CliResult} from './cli.js'

export interface TestCluster {
  /** Admin kubeconfig (system:masters). */
  kubeconfig: string
  /** A user bound only to the built-in "view" ClusterRole. */
  restrictedKubeconfig: string
  /** A real client against the API server, for arranging and asserting. */
  client: KubeClient
  /** Runs the knmesh binary against this cluster. */
  run(args: string[], opts?: {input?: string; env?: Record<string, string>; kubeconfig?: string}): Promise<CliResult>
  /** isolatedCluster only: kill and start again the kube-apiserver alone (ControlPlane.apiserver). */
  apiserver?: ControlPlane['apiserver']
}

/**
 * The shared control plane started by the global setup. Use it in test files
 * that only touch namespaces of their own.
 */
export function sharedCluster(): TestCluster {
  const cluster = {} as TestCluster
  beforeAll(async () => {
    const kubeconfig = inject('adminKubeconfig')
    cluster.kubeconfig = kubeconfig
    cluster.restrictedKubeconfig = inject('restrictedKubeconfig')
    cluster.client = await KubeClient.connect({kubeconfig})
    cluster.run = (args, opts = {}) => knmesh(args, {kubeconfig: opts.kubeconfig ?? kubeconfig, input: opts.input, env: opts.env})
  })
  afterAll(() => cluster.client?.close())
  return cluster
}

/**
 * A control plane of this test file's own (fresh etcd, real CRDs, the seeded
 * fresh Serverless state). Use it in files whose verbs edit cluster-wide or
 * fixed-name objects (KnativeServing, the SMCP, knative-serving policies), so
 * files running in parallel never see each other's changes.
 */
export function isolatedCluster(opts: {seed?: boolean; crds?: boolean; mesh?: MeshCrdSet; seedMesh?: 2 | 3} = {}): TestCluster {
  const cluster = {} as TestCluster
  let cp: ControlPlane | undefined
  beforeAll(async () => {
    const {binDir, crdDir} = await ensureBinaries() // cached: built once by the global setup
    cp = await startControlPlane({binDir})
    // crds: false gives a bare Kubernetes cluster: neither Service Mesh nor Serverless installed.
    // mesh: 2 (default) the 2.x CRDs and seed; 3 the Sail + Istio 1.27 CRDs and the seedMesh3 state
    // (no SMCP); 'both' both control planes in istio-system (a migration in progress). seedMesh: 2 with mesh
    // 'both': the 2.x seed only (SMCP, SMMR, no Istio), a 2.x cluster whose Service Mesh 3 operator is installed.
    const mesh = opts.mesh ?? 2
    if (opts.crds !== false) await installCrds(cp, crdDir, {mesh})
    if (opts.seed !== false && opts.crds !== false) {
      if (mesh === 2 || opts.seedMesh === 2) await seedFreshServerless(cp.adminKubeconfig)
      else await seedMesh3(cp.adminKubeconfig, {smcp: mesh === 'both'})
    }
    cluster.kubeconfig = cp.adminKubeconfig
    cluster.restrictedKubeconfig = cp.restrictedKubeconfig
    cluster.apiserver = cp.apiserver
    cluster.client = await KubeClient.connect({kubeconfig: cp.adminKubeconfig})
    cluster.run = (args, o = {}) => knmesh(args, {kubeconfig: o.kubeconfig ?? cp!.adminKubeconfig, input: o.input, env: o.env})
  }, 180_000)
  afterAll(async () => {
    cluster.client?.close()
    await cp?.stop()
  })
  return cluster
}

let counter = 0
/** A namespace name unique to this test run. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${(counter++).toString(36)}${Math.random().toString(36).slice(2, 5)}`.slice(0, 63)
}

export async function createNamespace(client: KubeClient, name: string, labels: Record<string, string> = {}): Promise<void> {
  await client.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name, labels}})
}
