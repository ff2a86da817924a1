/**
 * npm run demo: starts the local control plane (real etcd + kube-apiserver,
 * real CRDs), seeds a fresh OpenShift Serverless state, walks through the
 * guide with knmesh --yes, and shows the result. Everything is torn down at
 * the end.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {startSeededControlPlane} from '../test/support/controlplane.js'
import {BIN} from '../test/support/cli.js'

const {cp} = await startSeededControlPlane()
const env = {KUBECONFIG: cp.adminKubeconfig, NODE_ENV: '', PATH: `${cp.binDir}:${process.env.PATH}`}
const certDir = mkdtempSync(join(tmpdir(), 'knmesh-demo-certs-'))
let failed = false

async function step(title: string, args: string[], okCodes = [0]): Promise<void> {
  process.stdout.write(`\n\u001B[1m$ kubectl knmesh ${args.join(' ')}\u001B[0m   # ${title}\n`)
  const r = await execa('node', [BIN, ...args], {env, reject: false, stdout: 'inherit', stderr: 'inherit', stdin: 'ignore'})
  if (!okCodes.includes(r.exitCode ?? -1)) {
    failed = true
    throw new Error(`step failed (exit ${r.exitCode}): ${args.join(' ')}`)
  }
}

try {
  await execa('kubectl', ['create', 'namespace', 'team-alpha-1'], {env})
  await execa('kubectl', ['create', 'namespace', 'team-bravo-1'], {env})
  await step('1.4.1 prerequisites (before: the mesh is not configured yet)', ['precheck'], [0, 1])
  await step('1.3 certificates', ['certs', '--out-dir', certDir, '--yes'])
  await step('1.4.2 step 1 the control plane', ['configure-mesh', '--yes'])
  await step('1.4.2 steps 2-3 members', ['add-namespace', 'team-alpha-1', 'team-bravo-1', '--yes'])
  await step('1.4.2 steps 4-5 gateways', ['create-gateways', '--yes'])
  await step('1.7 label the secrets net-istio must see', ['filter-secrets', '--yes'])
  await step('1.4.3 Serverless with Istio', ['enable-istio', '--yes'])
  await step('1.5 metrics', ['enable-metrics', '--yes'])
  await step('2.3 step 2 cluster-wide policies', ['tenant-authz', '--defaults', '--yes'])
  await step('2.3 step 4 tenant alpha', ['tenant-authz', 'team-alpha', '--namespaces', 'team-alpha-1', '--yes'])
  await step('2.3 step 4 tenant bravo', ['tenant-authz', 'team-bravo', '--namespaces', 'team-bravo-1', '--yes'])
  await step('2.4 verification, predicted', ['probe', '--from', 'team-alpha-1', '--to', 'team-bravo-1', '--expect', 'deny'])
  await step('second run: nothing to do', ['add-namespace', 'team-alpha-1', 'team-bravo-1'])
  await step('the whole guide, checked', ['status'])
} catch (error) {
  process.stderr.write(`demo: ${(error as Error).message}\n`)
} finally {
  await cp.stop()
}
process.exit(failed ? 1 : 0)
