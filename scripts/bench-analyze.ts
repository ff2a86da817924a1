/**
 * npm run bench:analyze [-- NAMESPACES KSVCS POLICIES]   (default 200 namespaces, 2,000 Knative Services, 1,000 policies)
 *
 * Starts its own control plane, creates NAMESPACES member namespaces, KSVCS Knative Services spread over
 * them and POLICIES AuthorizationPolicies (the guide's defaults, then tenant policies rendered by knmesh's
 * own chart renderer), the guide's two Gateways, then times in the same run:
 *   peer:   kubectl get ksvc,authorizationpolicies,gateways -A -o json
 *   knmesh: knmesh analyze -o json
 * and prints both medians and the ratio (the budget is 2).
 */
import {execa} from 'execa'
import {KubeClient} from '../src/kube/client.js'
import {Kinds} from '../src/kube/kinds.js'
import type {KObject} from '../src/kube/types.js'
import {desiredIngressGateway, desiredLocalGateway} from '../src/mesh/gateways.js'
import {defaultPolicies, renderTenant} from '../src/mesh/tenant-authz.js'
import {BIN} from '../test/support/cli.js'
import {startSeededControlPlane} from '../test/support/controlplane.js'

const NAMESPACES = Number(process.argv[2] ?? 200)
const KSVCS = Number(process.argv[3] ?? 2000)
const POLICIES = Number(process.argv[4] ?? 1000)
const RUNS = 5

const {cp} = await startSeededControlPlane()
try {
  const client = await KubeClient.connect({kubeconfig: cp.adminKubeconfig})
  const namespaces = Array.from({length: NAMESPACES}, (_, i) => `bench-${i}`)
  await Promise.all(namespaces.map((name) => client.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name}})))
  await client.mergePatch(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system', {spec: {members: ['knative-serving', 'knative-eventing', ...namespaces]}})
  const objects: KObject[] = [desiredIngressGateway(null, 'wildcard-certs'), desiredLocalGateway(null)]
  const policies: KObject[] = [...defaultPolicies('istio-system')]
  // One tenant per namespace (serving only: 2 policies in its namespace + its activator policy) until POLICIES is reached.
  for (let i = 0; policies.length < POLICIES; i++) {
    for (const p of renderTenant({
      name: `t${i}`,
      namespaces: [namespaces[i % NAMESPACES]],
      meshNamespace: 'istio-system',
      clusterDomain: 'cluster.local',
      serving: true,
      eventing: false,
    })) {
      if (policies.length < POLICIES) policies.push(i < NAMESPACES ? p : {...p, metadata: {...p.metadata, name: `${p.metadata.name}-${i}`, labels: {}}})
    }
  }
  objects.push(...policies)
  for (let i = 0; i < KSVCS; i++) {
    objects.push({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {name: `svc-${i}`, namespace: namespaces[i % NAMESPACES], annotations: {'serving.knative.dev/enablePassthrough': 'true'}},
      spec: {
        template: {
          metadata: {annotations: {'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/rewriteAppHTTPProbers': 'true'}},
          spec: {containers: [{image: 'quay.io/example/app'}]},
        },
      },
    })
  }
  for (let i = 0; i < objects.length; i += 32) await Promise.all(objects.slice(i, i + 32).map((o) => client.create(o)))
  client.close()
  process.stdout.write(`${NAMESPACES} namespaces, ${KSVCS} Knative Services, ${policies.length} AuthorizationPolicies, 2 Gateways\n`)

  const env = {KUBECONFIG: cp.adminKubeconfig, NODE_ENV: ''}
  const time = async (cmd: string, args: string[]): Promise<{ms: number; stdout: string}> => {
    const t0 = performance.now()
    const r = await execa(cmd, args, {env, reject: false, maxBuffer: 1 << 30})
    const ms = performance.now() - t0
    if (r.exitCode !== 0 && !(cmd === 'node' && r.exitCode === 1)) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`)
    return {ms, stdout: r.stdout}
  }
  const peer: number[] = []
  const ours: number[] = []
  let last = ''
  for (let i = 0; i < RUNS; i++) {
    peer.push((await time(cp.kubectl, ['get', 'ksvc,authorizationpolicies,gateways', '-A', '-o', 'json'])).ms)
    const r = await time('node', [BIN, 'analyze', '-o', 'json'])
    ours.push(r.ms)
    last = r.stdout
  }
  const report = JSON.parse(last)
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  process.stdout.write(`kubectl get ksvc,authorizationpolicies,gateways -A -o json: median ${median(peer).toFixed(0)} ms\n`)
  process.stdout.write(
    `knmesh analyze -o json:                                    median ${median(ours).toFixed(0)} ms (${report.findings.length} findings: ${JSON.stringify(report.summary)})\n`,
  )
  const ratio = median(ours) / median(peer)
  process.stdout.write(`ratio knmesh/kubectl: ${ratio.toFixed(2)} (budget 2)\n`)
  if (ratio > 2) process.exitCode = 1
} finally {
  await cp.stop()
}
