/**
 * The processes of the test control plane (see ../controlplane.ts): etcd, kube-apiserver and Istio's validating
 * webhook, each in its own process group: started (startControlPlane), stopped, and the kube-apiserver alone killed
 * and restarted for fault tests. Nothing outlives the Node process (exit and signal hooks, and a watchdog).
 */
import {execa} from 'execa'
import {closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {ensureIstioWebhook, istioWebhookArgs, istioWebhookCaFile, readIstioWebhookCa, validatingWebhookConfiguration} from '../istio-webhook.js'
import {apiRequest, createUsers, ensureBinaries, kubectlFor, log, since, useKubectl, writeCredentials, writeKubeconfigs, type HttpResult} from './bootstrap.js'

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  server: string
  /** CA bundle for `server` (the API server's self-signed serving cert chain). */
  caFile: string
  /** Temp folder holding data, logs, pki and kubeconfigs; removed by stop(). */
  dir: string
  /** user "admin", group system:masters, via static token. */
  adminKubeconfig: string
  /**
   * user "restricted": only bound to the built-in "view" ClusterRole cluster-wide.
   * ("view" is aggregated by aggregateClusterRoles(); it can read the CRD groups.)
   */
  restrictedKubeconfig: string
  /** Bearer tokens behind the two kubeconfigs (for raw HTTP clients). */
  adminToken: string
  restrictedToken: string
  /**
   * Istio's validating admission webhook (tools/istio-webhook), registered as
   * ValidatingWebhookConfiguration istio-validator-istio-system: its URL and
   * the CA of its serving certificate.
   */
  istioWebhook: {url: string; caFile: string}
  /** Folder with etcd, kube-apiserver (and kubectl, unless KUBEBUILDER_ASSETS lacks it). */
  binDir: string
  /** kubectl to use against this server (see kubectlFor). */
  kubectl: string
  /** Kill etcd, kube-apiserver and istio-webhook (process groups) and remove `dir`. Idempotent. */
  stop(): Promise<void>
  /**
   * The kube-apiserver process alone, for fault tests: kill() sends SIGKILL to its process group and resolves
   * once it is gone (etcd, the webhook, the data, the port and the certificates stay); start() starts it again
   * with the same flags on the same port and serving certificate (the kubeconfigs stay valid) and resolves
   * when /readyz answers 200. Both idempotent.
   */
  apiserver: {kill(): Promise<void>; start(): Promise<void>}
}

// ---------------------------------------------------------------------------
// process bookkeeping: nothing may outlive the Node process

interface Running {
  pgids: number[]
  dir: string
  keepDir: boolean
}
const running = new Set<Running>()
let hooksInstalled = false

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {
    /* already gone */
  }
}

function killAllSync(): void {
  for (const r of running) {
    for (const pgid of r.pgids) killGroup(pgid, 'SIGKILL')
    if (!r.keepDir) rmSync(r.dir, {recursive: true, force: true})
  }
  running.clear()
}

function installHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', killAllSync)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      killAllSync()
      // If nobody else handles the signal, behave like the default: die.
      if (process.listenerCount(sig) <= 1) {
        process.removeListener(sig, handler)
        process.kill(process.pid, sig)
      }
    }
    process.on(sig, handler)
  }
}

// ---------------------------------------------------------------------------
// helpers

async function freePorts(n: number): Promise<number[]> {
  // Hold all listeners open at once so the OS hands out n distinct ports.
  const servers: net.Server[] = []
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer()
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(0, '127.0.0.1', () => resolve())
      })
      servers.push(s)
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port)
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))))
  }
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, died: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let delay = 50
  for (;;) {
    const dead = died()
    if (dead) throw new Error(`${what}: ${dead}`)
    try {
      if (await check()) return
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)
    await sleep(delay)
    delay = Math.min(delay * 2, 500)
  }
}

interface Proc {
  name: string
  pid: number
  exited?: string
  log: string
}

function spawnLogged(name: string, bin: string, args: string[], dir: string): Proc {
  const logFile = path.join(dir, `${name}.log`)
  const fd = openSync(logFile, 'a')
  // execa passes a file descriptor number straight to spawn (the child writes
  // to the log itself, nothing flows through Node); its typings reject a plain
  // `number` here, hence the cast.
  const out = fd as unknown as 'inherit'
  try {
    const sub = execa(bin, args, {
      cwd: dir,
      detached: true, // own process group: we kill the whole group
      cleanup: false, // we do it ourselves (execa skips detached children anyway)
      stdin: 'ignore',
      stdout: out,
      stderr: out,
      reject: false,
    })
    if (sub.pid === undefined) throw new Error(`failed to spawn ${bin}`)
    const proc: Proc = {name, pid: sub.pid, log: logFile}
    void sub.then((r) => {
      proc.exited = `${name} exited (code ${String(r.exitCode)}, signal ${String(r.signal)}); log tail:\n${tail(logFile)}`
    })
    return proc
  } finally {
    closeSync(fd)
  }
}

/** Kills the groups and removes dir if this Node process dies without stop() (even SIGKILL). */
function spawnWatchdog(pgids: number[], dir: string, keepDir: boolean): number | undefined {
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
    ...pgids.map((g) => `kill -KILL -${g} 2>/dev/null`),
    keepDir ? 'true' : `rm -rf '${dir.replace(/'/g, `'\\''`)}'`,
  ].join('; ')
  const sub = execa('sh', ['-c', script], {detached: true, cleanup: false, stdio: 'ignore', reject: false})
  sub.unref()
  void sub.catch(() => undefined)
  return sub.pid
}

// ---------------------------------------------------------------------------

/** apiserverArgs: extra kube-apiserver flags (e.g. `--client-ca-file=…` for client-certificate users). */
export async function startControlPlane(opts: {binDir?: string; apiserverArgs?: string[]} = {}): Promise<ControlPlane> {
  const t0 = performance.now()
  const binDir = opts.binDir ?? (await ensureBinaries()).binDir
  const webhookBin = await ensureIstioWebhook()
  let lastErr: unknown
  // Ports come from the OS, but another process may grab one between our
  // probe and the bind: retry the whole start a couple of times.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(binDir, webhookBin, t0, opts.apiserverArgs ?? [])
    } catch (err) {
      lastErr = err
      log(`start attempt ${attempt} failed: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  throw lastErr
}

async function startOnce(binDir: string, webhookBin: string, t0: number, apiserverArgs: string[]): Promise<ControlPlane> {
  installHooks()
  const keepDir = process.env.KNMESH_KEEP_CONTROLPLANE_DIR === '1'
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knmesh-cp-'))
  const entry: Running = {pgids: [], dir, keepDir}
  running.add(entry)
  let watchdogPid: number | undefined
  const extraWatchdogs: number[] = []
  let stopped = false

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    const t = performance.now()
    for (const pgid of entry.pgids) killGroup(pgid, 'SIGTERM')
    const deadline = Date.now() + 2000
    while (Date.now() < deadline && entry.pgids.some((g) => groupAlive(g))) await sleep(50)
    for (const pgid of entry.pgids) killGroup(pgid, 'SIGKILL')
    while (entry.pgids.some((g) => groupAlive(g))) await sleep(20)
    if (watchdogPid) killGroup(watchdogPid, 'SIGKILL')
    for (const w of extraWatchdogs) killGroup(w, 'SIGKILL')
    running.delete(entry)
    if (!keepDir) rmSync(dir, {recursive: true, force: true})
    else log(`kept ${dir}`)
    log(`stopped in ${since(t)}`)
  }

  try {
    const [etcdClient, etcdPeer, apiPort, webhookPort] = await freePorts(4)
    const etcdUrl = `http://127.0.0.1:${etcdClient}`
    const peerUrl = `http://127.0.0.1:${etcdPeer}`

    // --- etcd
    const etcd = spawnLogged(
      'etcd',
      path.join(binDir, 'etcd'),
      [
        '--name=knmesh',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=knmesh=${peerUrl}`,
        '--initial-cluster-state=new',
        '--unsafe-no-fsync=true', // throw-away data: skip fsync, much faster
        '--log-level=warn',
      ],
      dir,
    )
    entry.pgids.push(etcd.pid)

    // --- Istio's validating webhook (its own self-signed serving cert)
    const webhookCertDir = path.join(dir, 'istio-webhook-pki')
    const webhook = spawnLogged('istio-webhook', webhookBin, istioWebhookArgs(webhookPort, webhookCertDir), dir)
    entry.pgids.push(webhook.pid)
    const webhookUrl = `https://127.0.0.1:${webhookPort}/validate`
    const webhookCaFile = istioWebhookCaFile(webhookCertDir)

    // --- credentials (tokens of the two users, the ServiceAccount signing key)
    const {adminToken, restrictedToken, tokenFile, saPub, saKey} = writeCredentials(dir)

    const tEtcd = performance.now()
    await waitFor(
      'etcd /health',
      30_000,
      async () => {
        const r = await fetch(`${etcdUrl}/health`, {signal: AbortSignal.timeout(2000)})
        return r.ok && ((await r.json()) as {health?: string}).health === 'true'
      },
      () => etcd.exited,
    )
    const etcdReady = since(tEtcd)

    // --- kube-apiserver
    const certDir = path.join(dir, 'pki')
    const caFile = path.join(certDir, 'apiserver.crt')
    const server = `https://127.0.0.1:${apiPort}`
    const apiserverArgv = (): string[] => [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      '--authorization-mode=RBAC',
      `--token-auth-file=${tokenFile}`,
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.0.0.0/24',
      // No kube-controller-manager creates the "default" ServiceAccount.
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      '--enable-priority-and-fairness=false',
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=0',
      ...apiserverArgs,
    ]
    let apiserver = spawnLogged('kube-apiserver', path.join(binDir, 'kube-apiserver'), apiserverArgv(), dir)
    entry.pgids.push(apiserver.pid)
    watchdogPid = spawnWatchdog(entry.pgids, dir, keepDir)

    const tApi = performance.now()
    await waitFor(
      'kube-apiserver /readyz',
      90_000,
      async () => {
        const r = await apiRequest(server, {path: '/readyz', token: adminToken, caFile, timeoutMs: 2000})
        return r.status === 200
      },
      () => apiserver.exited ?? etcd.exited,
    )
    const apiReady = since(tApi)

    await waitFor(
      'istio-webhook /readyz',
      30_000,
      async () =>
        existsSync(webhookCaFile) &&
        (await apiRequest(`https://127.0.0.1:${webhookPort}`, {path: '/readyz', caFile: webhookCaFile, timeoutMs: 2000})).status === 200,
      () => webhook.exited,
    )

    const kreq = (o: Parameters<typeof apiRequest>[1]): Promise<HttpResult> => apiRequest(server, {caFile, token: adminToken, ...o})

    // The bootstrap "view" ClusterRole is created by a post-start hook.
    await waitFor(
      'bootstrap ClusterRole "view"',
      30_000,
      async () => (await kreq({path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/view'})).status === 200,
      () => apiserver.exited,
    )

    await createUsers(server, caFile, adminToken)

    const vwc = await kreq({
      method: 'POST',
      path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
      body: validatingWebhookConfiguration(webhookUrl, readIstioWebhookCa(webhookCertDir)),
    })
    if (vwc.status !== 201) throw new Error(`registering the Istio validating webhook: HTTP ${vwc.status} ${vwc.body}`)

    const {adminKubeconfig, restrictedKubeconfig} = writeKubeconfigs(dir, server, caFile, {adminToken, restrictedToken})

    // Fault tests: the kube-apiserver alone goes away and comes back on the same port, certs and etcd.
    let apiserverUp = true
    const killApiserver = async (): Promise<void> => {
      if (!apiserverUp) return
      apiserverUp = false
      killGroup(apiserver.pid, 'SIGKILL')
      while (groupAlive(apiserver.pid)) await sleep(20)
      entry.pgids = entry.pgids.filter((g) => g !== apiserver.pid)
      log('kube-apiserver killed')
    }
    const startApiserver = async (): Promise<void> => {
      if (apiserverUp || stopped) return
      apiserverUp = true
      const t = performance.now()
      apiserver = spawnLogged('kube-apiserver', path.join(binDir, 'kube-apiserver'), apiserverArgv(), dir)
      entry.pgids.push(apiserver.pid)
      // The first watchdog knows the old process group only.
      const extra = spawnWatchdog([apiserver.pid], dir, keepDir)
      if (extra) extraWatchdogs.push(extra)
      await waitFor(
        'kube-apiserver /readyz (restart)',
        90_000,
        async () => (await apiRequest(server, {path: '/readyz', token: adminToken, caFile, timeoutMs: 2000})).status === 200,
        () => apiserver.exited ?? etcd.exited,
      )
      log(`kube-apiserver restarted in ${since(t)}`)
    }

    log(`up at ${server} in ${since(t0)} (etcd ${etcdReady}, kube-apiserver ${apiReady}); dir ${dir}`)
    const kubectl = kubectlFor(binDir)
    useKubectl(kubectl)
    return {
      server,
      caFile,
      dir,
      adminKubeconfig,
      restrictedKubeconfig,
      adminToken,
      restrictedToken,
      istioWebhook: {url: webhookUrl, caFile: webhookCaFile},
      binDir,
      kubectl,
      stop,
      apiserver: {kill: killApiserver, start: startApiserver},
    }
  } catch (err) {
    await stop()
    throw err
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}
