/**
 * Starts the test control plane (etcd + kube-apiserver), installs the CRDs,
 * seeds the "fresh Serverless" state and stays up until Ctrl-C.
 *
 *   npm run controlplane            # or: npx tsx test/support/standalone.ts
 *   npm run controlplane -- --no-seed
 *
 * Paste the printed exports into another shell to point kubectl/knmesh (and
 * the integration tests, which then reuse this control plane) at it.
 */
import {readFileSync} from 'node:fs'
import {ensureBinaries, installCrds, seedFreshServerless, seedMesh3, startControlPlane} from './controlplane.js'

async function main(): Promise<void> {
  const t0 = performance.now()
  const seed = !process.argv.includes('--no-seed')
  // --mesh 3: the Sail + Istio 1.27 CRDs and the Service Mesh 3 seed (no SMCP); --mesh both: both planes.
  const meshArg = process.argv[process.argv.indexOf('--mesh') + 1]
  const mesh = process.argv.includes('--mesh') ? (meshArg === 'both' ? 'both' : (Number(meshArg) as 2 | 3)) : 2
  const {binDir, crdDir} = await ensureBinaries()
  const cp = await startControlPlane({binDir})
  let stopping = false
  const shutdown = (code: number): void => {
    if (stopping) return
    stopping = true
    void cp.stop().finally(() => process.exit(code))
  }
  process.on('SIGINT', () => shutdown(0))
  process.on('SIGTERM', () => shutdown(0))
  // `kill` of the npm (or npx/tsx) process that started this one does not reach it: stop when one of
  // those launchers is gone, so the control plane never outlives them.
  const launchers = launcherPids()
  setInterval(() => {
    if (launchers.some((pid) => !alive(pid))) shutdown(0)
  }, 1000).unref()
  try {
    await installCrds(cp, crdDir, {mesh})
    if (seed && mesh === 2) await seedFreshServerless(cp.adminKubeconfig)
    else if (seed) await seedMesh3(cp.adminKubeconfig, {smcp: mesh === 'both'})
  } catch (err) {
    console.error(err)
    shutdown(1)
    return
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1)
  process.stdout.write(
    [
      `# knmesh test control plane ready in ${secs}s: ${cp.server}`,
      `export KUBECONFIG=${cp.adminKubeconfig}`,
      `export PATH=${cp.binDir}:$PATH  # kubectl built with the server`,
      `export KNMESH_TEST_KUBECONFIG=${cp.adminKubeconfig}`,
      `export KNMESH_TEST_RESTRICTED_KUBECONFIG=${cp.restrictedKubeconfig}`,
      `export KNMESH_TEST_CRD_DIR=${crdDir}`,
      `# restricted user (view only): kubectl --kubeconfig=${cp.restrictedKubeconfig} ...`,
      '# Ctrl-C to stop (everything is deleted).',
      '',
    ].join('\n'),
  )
  // Stay alive until a signal arrives.
  setInterval(() => undefined, 1 << 30)
}

/** The launchers above this process (node, npm, npx, tsx, sh), from /proc; empty where there is no /proc. */
function launcherPids(): number[] {
  const out: number[] = []
  let pid = process.ppid
  for (let i = 0; i < 5 && pid > 1; i++) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      break
    }
    const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat)
    if (!m || !/^(node|npm|npx|tsx|sh|npm exec.*|npm run.*)$/.test(m[1])) break
    out.push(pid)
    pid = Number(m[2])
  }
  return out
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

void main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
