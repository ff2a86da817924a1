/**
 * npm run bench:matrix [-- TENANTS]   (default 100 tenants × 2 namespaces)
 *
 * Starts its own control plane, installs TENANTS tenants with knmesh's own
 * policy renderer (plus the cluster-wide defaults), then times in the same run:
 *   peer:   kubectl get authorizationpolicies -A -o json   (just fetching the policies)
 *   knmesh: knmesh probe --matrix -o json                  (fetching them and predicting every pair)
 * and prints both medians and the ratio. Every pair must come out as isolation expects.
 */
import {execa} from 'execa'
import {KubeClient} from '../src/kube/client.js'
import {Kinds} from '../src/kube/kinds.js'
import {defaultPolicies, renderTenant} from '../src/mesh/tenant-authz.js'
import {BIN} from '../test/support/cli.js'
import {startSeededControlPlane} from '../test/support/controlplane.js'

const TENANTS = Number(process.argv[2] ?? 100)
const RUNS = 5

const {cp} = await startSeededControlPlane()
try {
  const client = await KubeClient.connect({kubeconfig: cp.adminKubeconfig})
  const namespaces: string[] = []
  const objects = [...defaultPolicies('istio-system')]
  for (let i = 0; i < TENANTS; i++) {
    const ns = [`t${i}-a`, `t${i}-b`]
    namespaces.push(...ns)
    objects.push(...renderTenant({name: `t${i}`, namespaces: ns, meshNamespace: 'istio-system', clusterDomain: 'cluster.local', serving: true, eventing: true}))
  }
  await Promise.all(namespaces.map((name) => client.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name}})))
  await client.mergePatch(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system', {
    spec: {members: ['knative-serving', 'knative-eventing', ...namespaces]},
  })
  for (let i = 0; i < objects.length; i += 32) await Promise.all(objects.slice(i, i + 32).map((o) => client.create(o)))
  client.close()
  process.stdout.write(`${TENANTS} tenants, ${namespaces.length} namespaces, ${objects.length} AuthorizationPolicies, ${namespaces.length ** 2} pairs\n`)

  const env = {KUBECONFIG: cp.adminKubeconfig, NODE_ENV: ''}
  const time = async (cmd: string, args: string[]): Promise<{ms: number; stdout: string}> => {
    const t0 = performance.now()
    const r = await execa(cmd, args, {env, reject: false, maxBuffer: 1 << 30})
    const ms = performance.now() - t0
    if (cmd === 'kubectl' && r.exitCode !== 0) throw new Error(`${cmd} failed: ${r.stderr}`)
    return {ms, stdout: r.stdout}
  }
  const peer: number[] = []
  const ours: number[] = []
  let last = ''
  for (let i = 0; i < RUNS; i++) {
    peer.push((await time(cp.kubectl, ['get', 'authorizationpolicies', '-A', '-o', 'json'])).ms)
    const r = await time('node', [BIN, 'probe', '--matrix', '-o', 'json'])
    ours.push(r.ms)
    last = r.stdout
  }
  const report = JSON.parse(last)
  const cells = report.cells?.length ?? report.pairs ?? 0
  const violations = report.violations?.length ?? 0
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  process.stdout.write(`kubectl get authorizationpolicies -A -o json: median ${median(peer).toFixed(0)} ms\n`)
  process.stdout.write(`knmesh probe --matrix -o json:                median ${median(ours).toFixed(0)} ms (${cells} pairs, ${violations} violations)\n`)
  process.stdout.write(`ratio knmesh/kubectl: ${(median(ours) / median(peer)).toFixed(2)}\n`)
  if (violations !== 0) process.exitCode = 1
} finally {
  await cp.stop()
}
