/**
 * npm run bench:secrets [-- N]   (default N = 10000; or BENCH_SECRETS=N)
 *
 * Starts its own control plane (test/support/controlplane.ts), creates N
 * kubernetes.io/tls secrets in each of two namespaces (parallel creates), then
 * times, in the same run, the same work done two ways:
 *   knmesh  filter-secrets --all-tls -n bench-knmesh --uid bench --yes
 *   kubectl label secret --all -n bench-kubectl networking.internal.knative.dev/certificate-uid=bench
 * and prints both times, the ratio, knmesh's peak RSS (/usr/bin/time -v) and the CPU the API server
 * and etcd used during each run (/proc: whether the server was the limit).
 * Both namespaces are checked afterwards: every secret must carry the label.
 * Then the bytes the API server sent per secret: both tools again, each on
 * min(N, 2000) fresh secrets, through a recording loopback proxy
 * (test/support/recording-proxy.ts; not timed). knmesh lists metadata only, so
 * no secret data is among those bytes; kubectl downloads every secret whole.
 */
import {execa} from 'execa'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {KubeClient} from '../src/kube/client.js'
import {Kinds} from '../src/kube/kinds.js'
import {CERT_UID_LABEL} from '../src/mesh/secret-filter.js'
import {ensureBinaries, installCrds, REPO_ROOT, seedFreshServerless, startControlPlane} from '../test/support/controlplane.js'
import {recordingProxy} from '../test/support/recording-proxy.js'

const N = Number(process.argv[2] ?? process.env.BENCH_SECRETS ?? 10_000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32)
const LABEL_VALUE = 'bench'

/** The control plane's own processes (kube-apiserver, etcd: their command lines name its folder), by /proc. */
function serverPids(dir: string): number[] {
  const pids: number[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0')
      if (/(^|\/)(kube-apiserver|etcd)$/.test(cmd[0] ?? '') && cmd.some((a) => a.includes(dir))) pids.push(Number(e))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

/** CPU seconds (user + system) the processes used so far (/proc/PID/stat utime + stime, in clock ticks of 1/100 s). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks / 100
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}

async function createSecrets(client: KubeClient, ns: string, n: number): Promise<void> {
  await client.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns}})
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      await client.create({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: {name: `cert-${String(i).padStart(6, '0')}`, namespace: ns, labels: {bench: 'true'}},
        data: {'tls.crt': Buffer.from(`certificate ${i}`).toString('base64'), 'tls.key': Buffer.from(`key ${i}`).toString('base64')},
      })
    }
  }
  await Promise.all(Array.from({length: 64}, worker))
}

async function labelled(client: KubeClient, ns: string): Promise<number> {
  let count = 0
  for await (const page of client.pages(Kinds.Secret, ns, {labelSelector: `${CERT_UID_LABEL}=${LABEL_VALUE}`})) count += page.length
  return count
}

async function main(): Promise<void> {
  if (!Number.isInteger(N) || N < 1) throw new Error(`N must be a positive integer, got ${process.argv[2]}`)
  // The shipped entry (what npm install -g runs: the esbuild bundle, npm run bundle); BENCH_ENTRY=dev: the tsc output.
  const bin = path.join(REPO_ROOT, 'bin', process.env.BENCH_ENTRY === 'dev' ? 'run.js' : 'knmesh.js')
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'commands', 'index.js'))) throw new Error('build first: npm run build')
  const t0 = performance.now()
  const {binDir, crdDir} = await ensureBinaries()
  const cp = await startControlPlane({binDir})
  try {
    await installCrds(cp, crdDir)
    // filter-secrets refuses to run without the mesh namespace (exit 6): the fresh Serverless state has it.
    await seedFreshServerless(cp.adminKubeconfig)
    const client = await KubeClient.connect({kubeconfig: cp.adminKubeconfig})
    const tc = performance.now()
    await Promise.all([createSecrets(client, 'bench-knmesh', N), createSecrets(client, 'bench-kubectl', N)])
    console.log(`control plane up in ${secs(tc - t0)}; created 2 × ${N} TLS secrets in ${secs(performance.now() - tc)}`)

    const env = {...process.env, KUBECONFIG: cp.adminKubeconfig, NO_COLOR: '1'}
    // What the API server and etcd spend during each tool's run: is the server the limit?
    const servers = serverPids(cp.dir)
    if (servers.length !== 2) throw new Error(`expected kube-apiserver and etcd under ${cp.dir}, found ${servers.length} process(es)`)
    // knmesh, under /usr/bin/time -v for the peak RSS.
    const sk = cpuSeconds(servers)
    const tk = performance.now()
    const k = await execa(
      '/usr/bin/time',
      ['-v', process.execPath, bin, 'filter-secrets', '--all-tls', '-n', 'bench-knmesh', '--uid', LABEL_VALUE, '--concurrency', String(CONCURRENCY), '--yes'],
      {env, reject: false, stdin: 'ignore'},
    )
    const knmeshMs = performance.now() - tk
    const knmeshServerCpu = cpuSeconds(servers) - sk
    if (k.exitCode !== 0) throw new Error(`knmesh failed (${k.exitCode}): ${k.stderr.split('\n').slice(-25).join('\n')}`)
    const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(k.stderr)?.[1])
    const cpuS = Number(/User time \(seconds\): ([\d.]+)/.exec(k.stderr)?.[1]) + Number(/System time \(seconds\): ([\d.]+)/.exec(k.stderr)?.[1])

    const st = cpuSeconds(servers)
    const tt = performance.now()
    const kc = await execa(cp.kubectl, ['label', 'secret', '--all', '-n', 'bench-kubectl', `${CERT_UID_LABEL}=${LABEL_VALUE}`], {
      env,
      reject: false,
      stdin: 'ignore',
    })
    const kubectlMs = performance.now() - tt
    const kubectlServerCpu = cpuSeconds(servers) - st
    if (kc.exitCode !== 0) throw new Error(`kubectl failed (${kc.exitCode}): ${kc.stderr.slice(-2000)}`)

    const [a, b] = await Promise.all([labelled(client, 'bench-knmesh'), labelled(client, 'bench-kubectl')])
    if (a !== N || b !== N) throw new Error(`not the same work: knmesh labelled ${a}/${N}, kubectl ${b}/${N}`)
    const again = performance.now()
    const second = await execa(process.execPath, [bin, 'filter-secrets', '--all-tls', '-n', 'bench-knmesh', '--uid', LABEL_VALUE, '--yes'], {
      env,
      reject: false,
      stdin: 'ignore',
    })
    const secondMs = performance.now() - again

    // Bytes received per secret, through the recording proxy (a sample of min(N, 2000) secrets per tool).
    const M = Math.min(N, 2000)
    await Promise.all([createSecrets(client, 'bytes-knmesh', M), createSecrets(client, 'bytes-kubectl', M)])
    const proxy = await recordingProxy(cp.adminKubeconfig)
    const bytesPerSecret = async (ns: string, run: () => Promise<{exitCode?: number; stderr: string}>) => {
      const before = proxy.exchanges.length
      const r = await run()
      if (r.exitCode !== 0) throw new Error(`${ns}: exit ${r.exitCode}: ${r.stderr.slice(-1000)}`)
      const got = proxy.exchanges.slice(before)
      return {perSecret: got.reduce((n, e) => n + e.bytes, 0) / M, data: got.some((e) => e.body.includes('"tls.key"'))}
    }
    const penv = {...env, KUBECONFIG: proxy.kubeconfig}
    const kb = await bytesPerSecret('bytes-knmesh', () =>
      execa(process.execPath, [bin, 'filter-secrets', '--all-tls', '-n', 'bytes-knmesh', '--uid', LABEL_VALUE, '--yes'], {
        env: penv,
        reject: false,
        stdin: 'ignore',
      }),
    )
    const cb = await bytesPerSecret('bytes-kubectl', () =>
      execa(cp.kubectl, ['label', 'secret', '--all', '-n', 'bytes-kubectl', `${CERT_UID_LABEL}=${LABEL_VALUE}`], {env: penv, reject: false, stdin: 'ignore'}),
    )
    await proxy.close()
    client.close()

    console.log(
      k.stdout
        .split('\n')
        .filter((l) => /^total|NAMESPACE|bench-/.test(l))
        .join('\n'),
    )
    console.log('')
    console.log(`secrets labelled:         ${N} (each tool, its own namespace; verified: ${a} and ${b} carry the label)`)
    console.log(`knmesh filter-secrets:    ${secs(knmeshMs)}  (--concurrency ${CONCURRENCY})`)
    console.log(`kubectl label --all:      ${secs(kubectlMs)}`)
    console.log(`ratio (kubectl / knmesh): ${(kubectlMs / knmeshMs).toFixed(1)}x`)
    console.log(`knmesh peak RSS:          ${(rssKb / 1024).toFixed(0)} MB (CPU ${cpuS.toFixed(1)} s)`)
    const cores = os.cpus().length
    const busy = (cpu: number, ms: number) => `${cpu.toFixed(1)} s CPU, ${((100 * cpu) / ((ms / 1000) * cores)).toFixed(0)}% of ${cores} cores`
    console.log(`API server + etcd:        during knmesh ${busy(knmeshServerCpu, knmeshMs)}; during kubectl ${busy(kubectlServerCpu, kubectlMs)}`)
    console.log(
      `machine:                  ${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    )
    console.log(`knmesh second run:        ${secs(secondMs)} (${second.stdout.trim().split('\n').pop() || second.stderr.trim().split('\n').pop()})`)
    console.log(
      `bytes received per secret: knmesh ${kb.perSecret.toFixed(0)} (secret data received: ${kb.data ? 'YES' : 'no'}), kubectl ${cb.perSecret.toFixed(0)} (secret data received: ${cb.data ? 'yes' : 'no'}) — ${M} secrets each, through a recording proxy`,
    )
  } finally {
    await cp.stop()
  }
}

main().catch((error) => {
  console.error(`bench:secrets failed: ${(error as Error).message}`)
  process.exit(1)
})
