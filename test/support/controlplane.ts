/**
 * A throw-away Kubernetes control plane (etcd + kube-apiserver, no
 * controller-manager, no scheduler, no kubelet) for knmesh's integration tests.
 *
 * Binaries are built from Go modules by tools/controlplane/build.sh and cached
 * in ~/.cache/knmesh; CRDs are collected by tools/controlplane/crds.sh.
 *
 * What is NOT there (no kube-controller-manager runs):
 *  - no default ServiceAccounts / token controller (the ServiceAccount
 *    admission plugin is disabled so Pods could still be created);
 *  - no namespace controller: a deleted Namespace stays "Terminating" forever;
 *  - no garbage collector: ownerReference cascades never happen;
 *  - no Deployment/ReplicaSet/Job controllers, no Pods ever run;
 *  - no operators: SMCP/KnativeServing/... never get a status unless a test
 *    writes one (via the /status subresource).
 */
import { execa } from 'execa';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureIstioWebhook,
  istioWebhookArgs,
  istioWebhookCaFile,
  readIstioWebhookCa,
  validatingWebhookConfiguration,
  waitIstioWebhookLive,
} from './istio-webhook.js';

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  server: string;
  /** CA bundle for `server` (the API server's self-signed serving cert chain). */
  caFile: string;
  /** Temp folder holding data, logs, pki and kubeconfigs; removed by stop(). */
  dir: string;
  /** user "admin", group system:masters, via static token. */
  adminKubeconfig: string;
  /**
   * user "restricted": only bound to the built-in "view" ClusterRole cluster-wide.
   * ("view" is aggregated by aggregateClusterRoles(); it can read the CRD groups.)
   */
  restrictedKubeconfig: string;
  /** Bearer tokens behind the two kubeconfigs (for raw HTTP clients). */
  adminToken: string;
  restrictedToken: string;
  /**
   * Istio's validating admission webhook (tools/istio-webhook), registered as
   * ValidatingWebhookConfiguration istio-validator-istio-system: its URL and
   * the CA of its serving certificate.
   */
  istioWebhook: { url: string; caFile: string };
  /** Folder with etcd, kube-apiserver (and kubectl, unless KUBEBUILDER_ASSETS lacks it). */
  binDir: string;
  /** kubectl to use against this server (see kubectlFor). */
  kubectl: string;
  /** Kill etcd, kube-apiserver and istio-webhook (process groups) and remove `dir`. Idempotent. */
  stop(): Promise<void>;
  /**
   * The kube-apiserver process alone, for fault tests: kill() sends SIGKILL to its process group and resolves
   * once it is gone (etcd, the webhook, the data, the port and the certificates stay); start() starts it again
   * with the same flags on the same port and serving certificate (the kubeconfigs stay valid) and resolves
   * when /readyz answers 200. Both idempotent.
   */
  apiserver: { kill(): Promise<void>; start(): Promise<void> };
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOOLS = path.join(REPO_ROOT, 'tools', 'controlplane');
/** kubectl used by this module: $KUBECTL, else the one build.sh put next to the server, else PATH's. */
let defaultKubectl = process.env.KUBECTL ?? 'kubectl';

export function kubectlFor(binDir: string): string {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  const own = path.join(binDir, 'kubectl');
  return existsSync(own) ? own : 'kubectl';
}
export const RESTRICTED_BINDING = 'knmesh-test-restricted-view';

function log(msg: string): void {
  process.stderr.write(`[controlplane] ${msg}\n`);
}

function since(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)}s`;
}

async function lastLine(script: string): Promise<string> {
  const r = await execa('bash', [path.join(TOOLS, script)], {
    stdin: 'ignore',
    stderr: 'inherit',
    env: { PATH: `${process.env.PATH ?? ''}:/usr/local/go/bin` },
  });
  const line = r.stdout.trim().split('\n').pop()?.trim();
  if (!line || !existsSync(line)) throw new Error(`${script} did not print an existing folder (got ${JSON.stringify(line)})`);
  return line;
}

/** Builds (or reuses cached / KUBEBUILDER_ASSETS) binaries and collects CRDs. */
export async function ensureBinaries(): Promise<{ binDir: string; crdDir: string }> {
  const t0 = performance.now();
  const binDir = await lastLine('build.sh');
  const crdDir = await lastLine('crds.sh');
  defaultKubectl = kubectlFor(binDir);
  log(`binaries ${binDir}, CRDs ${crdDir} (ready in ${since(t0)})`);
  return { binDir, crdDir };
}

// ---------------------------------------------------------------------------
// process bookkeeping: nothing may outlive the Node process

interface Running {
  pgids: number[];
  dir: string;
  keepDir: boolean;
}
const running = new Set<Running>();
let hooksInstalled = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

function killAllSync(): void {
  for (const r of running) {
    for (const pgid of r.pgids) killGroup(pgid, 'SIGKILL');
    if (!r.keepDir) rmSync(r.dir, { recursive: true, force: true });
  }
  running.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      killAllSync();
      // If nobody else handles the signal, behave like the default: die.
      if (process.listenerCount(sig) <= 1) {
        process.removeListener(sig, handler);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, handler);
  }
}

// ---------------------------------------------------------------------------
// helpers

async function freePorts(n: number): Promise<number[]> {
  // Hold all listeners open at once so the OS hands out n distinct ports.
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(s);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

interface HttpResult {
  status: number;
  body: string;
}

export function apiRequest(
  server: string,
  opts: { method?: string; path: string; token?: string; caFile?: string; body?: unknown; contentType?: string; timeoutMs?: number },
): Promise<HttpResult> {
  const url = new URL(opts.path, server);
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const ca = opts.caFile && existsSync(opts.caFile) ? readFileSync(opts.caFile) : undefined;
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: opts.method ?? 'GET',
        ca,
        // Only the readiness poll runs before the CA file exists.
        rejectUnauthorized: ca !== undefined,
        headers: {
          Accept: 'application/json',
          ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
          ...(payload !== undefined ? { 'Content-Type': opts.contentType ?? 'application/json' } : {}),
        },
        timeout: opts.timeoutMs ?? 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout ${url.href}`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  died: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    const dead = died();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      if (await check()) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
}

function kubeconfigYaml(server: string, caFile: string, user: string, token: string): string {
  // JSON strings are valid YAML scalars: quote everything.
  const q = (s: string): string => JSON.stringify(s);
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: knmesh-test',
    '  cluster:',
    `    server: ${q(server)}`,
    `    certificate-authority: ${q(caFile)}`,
    'users:',
    `- name: ${q(user)}`,
    '  user:',
    `    token: ${q(token)}`,
    'contexts:',
    `- name: ${q(user)}`,
    '  context:',
    '    cluster: knmesh-test',
    `    user: ${q(user)}`,
    '    namespace: default',
    `current-context: ${q(user)}`,
    'preferences: {}',
    '',
  ].join('\n');
}

interface Proc {
  name: string;
  pid: number;
  exited?: string;
  log: string;
}

function spawnLogged(name: string, bin: string, args: string[], dir: string): Proc {
  const logFile = path.join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  // execa passes a file descriptor number straight to spawn (the child writes
  // to the log itself, nothing flows through Node); its typings reject a plain
  // `number` here, hence the cast.
  const out = fd as unknown as 'inherit';
  try {
    const sub = execa(bin, args, {
      cwd: dir,
      detached: true, // own process group: we kill the whole group
      cleanup: false, // we do it ourselves (execa skips detached children anyway)
      stdin: 'ignore',
      stdout: out,
      stderr: out,
      reject: false,
    });
    if (sub.pid === undefined) throw new Error(`failed to spawn ${bin}`);
    const proc: Proc = { name, pid: sub.pid, log: logFile };
    void sub.then((r) => {
      proc.exited = `${name} exited (code ${String(r.exitCode)}, signal ${String(r.signal)}); log tail:\n${tail(logFile)}`;
    });
    return proc;
  } finally {
    closeSync(fd);
  }
}

/** Kills the groups and removes dir if this Node process dies without stop() (even SIGKILL). */
function spawnWatchdog(pgids: number[], dir: string, keepDir: boolean): number | undefined {
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
    ...pgids.map((g) => `kill -KILL -${g} 2>/dev/null`),
    keepDir ? 'true' : `rm -rf '${dir.replace(/'/g, `'\\''`)}'`,
  ].join('; ');
  const sub = execa('sh', ['-c', script], { detached: true, cleanup: false, stdio: 'ignore', reject: false });
  sub.unref();
  void sub.catch(() => undefined);
  return sub.pid;
}

// ---------------------------------------------------------------------------

/** apiserverArgs: extra kube-apiserver flags (e.g. `--client-ca-file=…` for client-certificate users). */
export async function startControlPlane(opts: { binDir?: string; apiserverArgs?: string[] } = {}): Promise<ControlPlane> {
  const t0 = performance.now();
  const binDir = opts.binDir ?? (await ensureBinaries()).binDir;
  const webhookBin = await ensureIstioWebhook();
  let lastErr: unknown;
  // Ports come from the OS, but another process may grab one between our
  // probe and the bind: retry the whole start a couple of times.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(binDir, webhookBin, t0, opts.apiserverArgs ?? []);
    } catch (err) {
      lastErr = err;
      log(`start attempt ${attempt} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw lastErr;
}

async function startOnce(binDir: string, webhookBin: string, t0: number, apiserverArgs: string[]): Promise<ControlPlane> {
  installHooks();
  const keepDir = process.env.KNMESH_KEEP_CONTROLPLANE_DIR === '1';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knmesh-cp-'));
  const entry: Running = { pgids: [], dir, keepDir };
  running.add(entry);
  let watchdogPid: number | undefined;
  const extraWatchdogs: number[] = [];
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const t = performance.now();
    for (const pgid of entry.pgids) killGroup(pgid, 'SIGTERM');
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && entry.pgids.some((g) => groupAlive(g))) await sleep(50);
    for (const pgid of entry.pgids) killGroup(pgid, 'SIGKILL');
    while (entry.pgids.some((g) => groupAlive(g))) await sleep(20);
    if (watchdogPid) killGroup(watchdogPid, 'SIGKILL');
    for (const w of extraWatchdogs) killGroup(w, 'SIGKILL');
    running.delete(entry);
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
    log(`stopped in ${since(t)}`);
  };

  try {
    const [etcdClient, etcdPeer, apiPort, webhookPort] = await freePorts(4);
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;

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
    );
    entry.pgids.push(etcd.pid);

    // --- Istio's validating webhook (its own self-signed serving cert)
    const webhookCertDir = path.join(dir, 'istio-webhook-pki');
    const webhook = spawnLogged('istio-webhook', webhookBin, istioWebhookArgs(webhookPort, webhookCertDir), dir);
    entry.pgids.push(webhook.pid);
    const webhookUrl = `https://127.0.0.1:${webhookPort}/validate`;
    const webhookCaFile = istioWebhookCaFile(webhookCertDir);

    // --- credentials
    const adminToken = randomBytes(24).toString('hex');
    const restrictedToken = randomBytes(24).toString('hex');
    const tokenFile = path.join(dir, 'tokens.csv');
    writeFileSync(tokenFile, `${adminToken},admin,admin-uid,"system:masters"\n${restrictedToken},restricted,restricted-uid\n`, {
      mode: 0o600,
    });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const saPub = path.join(dir, 'sa.pub');
    const saKey = path.join(dir, 'sa.key');
    writeFileSync(saPub, publicKey);
    writeFileSync(saKey, privateKey, { mode: 0o600 });

    const tEtcd = performance.now();
    await waitFor(
      'etcd /health',
      30_000,
      async () => {
        const r = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) });
        return r.ok && ((await r.json()) as { health?: string }).health === 'true';
      },
      () => etcd.exited,
    );
    const etcdReady = since(tEtcd);

    // --- kube-apiserver
    const certDir = path.join(dir, 'pki');
    const caFile = path.join(certDir, 'apiserver.crt');
    const server = `https://127.0.0.1:${apiPort}`;
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
    ];
    let apiserver = spawnLogged('kube-apiserver', path.join(binDir, 'kube-apiserver'), apiserverArgv(), dir);
    entry.pgids.push(apiserver.pid);
    watchdogPid = spawnWatchdog(entry.pgids, dir, keepDir);

    const tApi = performance.now();
    await waitFor(
      'kube-apiserver /readyz',
      90_000,
      async () => {
        const r = await apiRequest(server, { path: '/readyz', token: adminToken, caFile, timeoutMs: 2000 });
        return r.status === 200;
      },
      () => apiserver.exited ?? etcd.exited,
    );
    const apiReady = since(tApi);

    await waitFor(
      'istio-webhook /readyz',
      30_000,
      async () => existsSync(webhookCaFile) && (await apiRequest(`https://127.0.0.1:${webhookPort}`, { path: '/readyz', caFile: webhookCaFile, timeoutMs: 2000 })).status === 200,
      () => webhook.exited,
    );

    const kreq = (o: Parameters<typeof apiRequest>[1]): Promise<HttpResult> =>
      apiRequest(server, { caFile, token: adminToken, ...o });

    // The bootstrap "view" ClusterRole is created by a post-start hook.
    await waitFor(
      'bootstrap ClusterRole "view"',
      30_000,
      async () => (await kreq({ path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/view' })).status === 200,
      () => apiserver.exited,
    );

    const crb = await kreq({
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: RESTRICTED_BINDING },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'restricted' }],
      },
    });
    if (crb.status !== 201 && crb.status !== 409) throw new Error(`creating ClusterRoleBinding: HTTP ${crb.status} ${crb.body}`);

    await kreq({ method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles', body: AGGREGATE_TO_VIEW }).then((r) => {
      if (r.status !== 201 && r.status !== 409) throw new Error(`creating ClusterRole: HTTP ${r.status} ${r.body}`);
    });
    await aggregateClusterRoles(server, caFile, adminToken);

    const vwc = await kreq({
      method: 'POST',
      path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
      body: validatingWebhookConfiguration(webhookUrl, readIstioWebhookCa(webhookCertDir)),
    });
    if (vwc.status !== 201) throw new Error(`registering the Istio validating webhook: HTTP ${vwc.status} ${vwc.body}`);

    const adminKubeconfig = path.join(dir, 'admin.kubeconfig');
    const restrictedKubeconfig = path.join(dir, 'restricted.kubeconfig');
    writeFileSync(adminKubeconfig, kubeconfigYaml(server, caFile, 'admin', adminToken), { mode: 0o600 });
    writeFileSync(restrictedKubeconfig, kubeconfigYaml(server, caFile, 'restricted', restrictedToken), { mode: 0o600 });

    // Fault tests: the kube-apiserver alone goes away and comes back on the same port, certs and etcd.
    let apiserverUp = true;
    const killApiserver = async (): Promise<void> => {
      if (!apiserverUp) return;
      apiserverUp = false;
      killGroup(apiserver.pid, 'SIGKILL');
      while (groupAlive(apiserver.pid)) await sleep(20);
      entry.pgids = entry.pgids.filter((g) => g !== apiserver.pid);
      log('kube-apiserver killed');
    };
    const startApiserver = async (): Promise<void> => {
      if (apiserverUp || stopped) return;
      apiserverUp = true;
      const t = performance.now();
      apiserver = spawnLogged('kube-apiserver', path.join(binDir, 'kube-apiserver'), apiserverArgv(), dir);
      entry.pgids.push(apiserver.pid);
      // The first watchdog knows the old process group only.
      const extra = spawnWatchdog([apiserver.pid], dir, keepDir);
      if (extra) extraWatchdogs.push(extra);
      await waitFor(
        'kube-apiserver /readyz (restart)',
        90_000,
        async () => (await apiRequest(server, { path: '/readyz', token: adminToken, caFile, timeoutMs: 2000 })).status === 200,
        () => apiserver.exited ?? etcd.exited,
      );
      log(`kube-apiserver restarted in ${since(t)}`);
    };

    log(`up at ${server} in ${since(t0)} (etcd ${etcdReady}, kube-apiserver ${apiReady}); dir ${dir}`);
    const kubectl = kubectlFor(binDir);
    defaultKubectl = kubectl;
    return {
      server,
      caFile,
      dir,
      adminKubeconfig,
      restrictedKubeconfig,
      adminToken,
      restrictedToken,
      istioWebhook: { url: webhookUrl, caFile: webhookCaFile },
      binDir,
      kubectl,
      stop,
      apiserver: { kill: killApiserver, start: startApiserver },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * On OpenShift the operators ship ClusterRoles labelled aggregate-to-view so the
 * built-in "view" role can read their resources (e.g. Maistra's maistra-view).
 * This is the test control plane's equivalent for every API group knmesh reads.
 */
const AGGREGATE_TO_VIEW = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: {
    name: 'knmesh-test-aggregate-to-view',
    labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' },
  },
  rules: [
    {
      apiGroups: [
        'maistra.io',
        'networking.istio.io',
        'security.istio.io',
        'telemetry.istio.io',
        'extensions.istio.io',
        'operator.knative.dev',
        'serving.knative.dev',
        'networking.internal.knative.dev',
        'operator.serverless.openshift.io',
        'route.openshift.io',
        'config.openshift.io',
      ],
      resources: ['*'],
      verbs: ['get', 'list', 'watch'],
    },
  ],
};

interface ClusterRole {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  rules?: unknown[];
  aggregationRule?: { clusterRoleSelectors?: { matchLabels?: Record<string, string> }[] };
}

/**
 * Does what kube-controller-manager's clusterrole-aggregation controller would
 * (it is not running here): fills the rules of every ClusterRole that has an
 * aggregationRule (admin, edit, view, ...) from the ClusterRoles its selectors
 * match (matchLabels only). Run it again after creating aggregated roles.
 */
export async function aggregateClusterRoles(server: string, caFile: string, adminToken: string): Promise<void> {
  const base = '/apis/rbac.authorization.k8s.io/v1/clusterroles';
  const list = await apiRequest(server, { path: base, caFile, token: adminToken });
  if (list.status !== 200) throw new Error(`listing ClusterRoles: HTTP ${list.status} ${list.body}`);
  const roles = (JSON.parse(list.body) as { items: ClusterRole[] }).items;
  for (const role of roles) {
    const selectors = role.aggregationRule?.clusterRoleSelectors;
    if (!selectors?.length) continue;
    const rules: unknown[] = [];
    for (const src of roles) {
      if (src.metadata.name === role.metadata.name) continue;
      const labels = src.metadata.labels ?? {};
      const matches = selectors.some((sel) =>
        Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
      );
      if (matches) rules.push(...(src.rules ?? []));
    }
    const r = await apiRequest(server, {
      method: 'PUT',
      path: `${base}/${role.metadata.name}`,
      caFile,
      token: adminToken,
      body: { ...role, apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', rules },
    });
    if (r.status !== 200) throw new Error(`aggregating ClusterRole ${role.metadata.name}: HTTP ${r.status} ${r.body}`);
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function kubectl(bin: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await execa(bin, [`--kubeconfig=${kubeconfig}`, ...args], {
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
    reject: false,
  });
  if (r.exitCode !== 0) {
    throw new Error(`kubectl ${args.join(' ')} failed (exit ${String(r.exitCode)}):\n${r.stderr}\n${r.stdout}`);
  }
  return r.stdout;
}

/**
 * The install-time edits to upstream CRDs, for a control plane where no operator runs. The files in
 * test/fixtures/crds-upstream stay byte-for-byte upstream; only what is sent to the API server changes.
 *
 * A CRD whose `spec.conversion.strategy` is `Webhook` names a conversion webhook of its operator
 * (KnativeServing/KnativeEventing: the Knative operator's `operator-webhook`; Tekton's Pipeline:
 * `tekton-pipelines-webhook`). None runs here, so:
 *  - the strategy becomes `None` (no dangling reference to a Service that does not exist);
 *  - when several versions are served, only the storage version stays served: with `None` the API
 *    server "converts" by rewriting apiVersion alone, which would hand a v1beta1 client a v1-shaped
 *    Tekton Pipeline. (KnativeServing/KnativeEventing serve v1beta1 only, so only the strategy changes.)
 * Every other document is returned unchanged. Pure; `docs` are parsed YAML objects (not mutated).
 * Source of the advice: test/fixtures/crds-upstream/SOURCES.md.
 */
export function localServerCrd(doc: Record<string, unknown>): Record<string, unknown> {
  const spec = doc.spec as { conversion?: { strategy?: string }; versions?: { name: string; served: boolean; storage: boolean }[] } | undefined;
  if (doc.kind !== 'CustomResourceDefinition' || spec?.conversion?.strategy !== 'Webhook') return doc;
  const out = structuredClone(doc) as typeof doc & { spec: NonNullable<typeof spec> };
  out.spec.conversion = { strategy: 'None' };
  const served = (out.spec.versions ?? []).filter((v) => v.served);
  if (served.length > 1) for (const v of out.spec.versions ?? []) v.served = v.storage;
  return out;
}

/**
 * Which mesh generation's CRDs a control plane gets:
 * - 2 (default): the Istio 1.19 CRDs (istio.io/api) and the Maistra 2.5 SMCP/SMMR/SMM;
 * - 3: the Sail operator CRDs and the Istio 1.27 CRDs they ship with (test/fixtures/crds-upstream/ossm3/,
 *   sail-operator release-1.27 chart/crds/), no Maistra CRDs;
 * - 'both': the Maistra CRDs and the Sail + Istio 1.27 set (a cluster in the middle of a 2 → 3 migration).
 * The Istio 1.19 and 1.27 sets define the same CRD names (gateways.networking.istio.io, ...), so a
 * control plane has exactly one of them: the 1.27 set whenever Sail is there, as on a real Service Mesh 3.
 */
export type MeshCrdSet = 2 | 3 | 'both';

/** The vendored Sail + Istio 1.27 CRDs (byte-for-byte upstream; SOURCES.md one folder up). */
export const OSSM3_CRD_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'crds-upstream', 'ossm3');

/** The CRD files to install for a mesh CRD set, in install order (absolute paths). */
export function crdFiles(crdDir: string, mesh: MeshCrdSet): string[] {
  const base = readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort();
  const keep = base.filter((f) => {
    if (mesh === 2) return true;
    if (f === '10-istio.yaml') return false; // the Istio 1.19 set: replaced by the 1.27 set below
    return mesh === 'both' || !f.includes('maistra.io_');
  });
  const files = keep.map((f) => path.join(crdDir, f));
  if (mesh !== 2) files.push(...readdirSync(OSSM3_CRD_DIR).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(OSSM3_CRD_DIR, f)));
  return files;
}

/**
 * Server-side applies every CRD file in crdDir (collected by tools/controlplane/crds.sh), after the
 * install-time edits of localServerCrd (only files that name a conversion webhook are parsed: the 1.1 MB
 * SMCP CRD is sent as read), then waits until all CRDs are Established.
 */
export async function installCrds(cp: ControlPlane, crdDir: string, opts: { mesh?: MeshCrdSet } = {}): Promise<void> {
  const t0 = performance.now();
  const { parseAllDocuments, stringify } = await import('yaml');
  const parts: string[] = [];
  for (const file of crdFiles(crdDir, opts.mesh ?? 2)) {
    const text = readFileSync(file, 'utf8');
    if (!/^\s*conversion:/m.test(text)) {
      parts.push(text);
      continue;
    }
    for (const d of parseAllDocuments(text)) {
      const doc = d.toJS() as Record<string, unknown> | null;
      if (doc) parts.push(stringify(localServerCrd(doc)));
    }
  }
  await kubectl(cp.kubectl, cp.adminKubeconfig, ['apply', '--server-side', '--force-conflicts', '--field-manager=knmesh-test', '-f', '-'], parts.map((p) => `---\n${p}\n`).join(''));
  await kubectl(cp.kubectl, cp.adminKubeconfig, ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  // Istio objects written from now on go through Istio's validation, as on a real mesh.
  await waitIstioWebhookLive((p, body) => apiRequest(cp.server, { method: 'POST', path: p, body, caFile: cp.caFile, token: cp.adminToken }), 30_000, (opts.mesh ?? 2) === 2 ? 'istio-1.19' : 'istio-1.27');
  log(`CRDs installed and Established in ${since(t0)} (mesh CRD set ${opts.mesh ?? 2})`);
}

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
`;

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
`;

/**
 * "Fresh OpenShift Serverless + Service Mesh" state: namespaces istio-system,
 * knative-serving (labelled part-of openshift-serverless), knative-eventing;
 * KnativeServing knative-serving; SMCP basic (v2.5, default profile); SMMR
 * default with no members; cluster Ingress config with domain apps.example.com.
 * Idempotent (server-side apply).
 */
export async function seedFreshServerless(kubeconfig: string, opts: { kubectl?: string } = {}): Promise<void> {
  const t0 = performance.now();
  const bin = opts.kubectl ?? defaultKubectl;
  const apply = ['apply', '--server-side', '--force-conflicts', '--field-manager=knmesh-test-seed', '-f', '-'];
  await kubectl(bin, kubeconfig, apply, SEED_NAMESPACES);
  await kubectl(bin, kubeconfig, apply, SEED_OBJECTS);
  log(`seeded fresh Serverless state in ${since(t0)}`);
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
`;

/** The status the Sail operator writes on a healthy Istio (InPlace: revision name = Istio name). */
export function healthyIstioStatus(revision = 'default'): Record<string, unknown> {
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = (type: string) => ({ type, status: 'True', lastTransitionTime: at });
  return {
    status: {
      state: 'Healthy',
      activeRevisionName: revision,
      revisions: { total: 1, ready: 1, inUse: 1 },
      conditions: [cond('Reconciled'), cond('Ready'), cond('DependenciesHealthy')],
    },
  };
}

/**
 * "Service Mesh 3" state, on a control plane with the mesh CRD set 3 (or 'both'): the fresh Serverless
 * namespaces, KnativeServing and Ingress config of seedFreshServerless without SMCP/SMMR, plus namespaces
 * istio-cni and knative-serving-ingress, the cluster-scoped Istio "default" (spec.namespace istio-system,
 * InPlace) and IstioCNI "default", both with a Ready status (Istio: activeRevisionName default).
 * With `smcp: true` (mesh CRD set 'both') the SMCP/SMMR of the 2.x seed are added too.
 */
export async function seedMesh3(kubeconfig: string, opts: { kubectl?: string; smcp?: boolean } = {}): Promise<void> {
  const t0 = performance.now();
  const bin = opts.kubectl ?? defaultKubectl;
  const apply = ['apply', '--server-side', '--force-conflicts', '--field-manager=knmesh-test-seed', '-f', '-'];
  await kubectl(bin, kubeconfig, apply, SEED_NAMESPACES + '---' + SEED_MESH3.split('---').slice(0, 2).join('---'));
  const objects = opts.smcp ? SEED_OBJECTS : SEED_OBJECTS.split('---').filter((d) => !d.includes('maistra.io')).join('---');
  await kubectl(bin, kubeconfig, apply, objects + '---' + SEED_MESH3.split('---').slice(2).join('---'));
  const status = JSON.stringify(healthyIstioStatus());
  await kubectl(bin, kubeconfig, ['patch', 'istios.sailoperator.io', 'default', '--subresource=status', '--type=merge', '-p', status]);
  const cni = JSON.stringify({ status: { state: 'Healthy', conditions: [{ type: 'Ready', status: 'True' }, { type: 'Reconciled', status: 'True' }] } });
  await kubectl(bin, kubeconfig, ['patch', 'istiocnis.sailoperator.io', 'default', '--subresource=status', '--type=merge', '-p', cni]);
  log(`seeded Service Mesh 3 state in ${since(t0)}`);
}

/** ensureBinaries + startControlPlane + installCrds + seedFreshServerless, timed. */
export async function startSeededControlPlane(): Promise<{ cp: ControlPlane; crdDir: string }> {
  const t0 = performance.now();
  const { binDir, crdDir } = await ensureBinaries();
  const cp = await startControlPlane({ binDir });
  try {
    await installCrds(cp, crdDir);
    await seedFreshServerless(cp.adminKubeconfig, { kubectl: cp.kubectl });
  } catch (err) {
    await cp.stop();
    throw err;
  }
  log(`ready for tests in ${since(t0)} (process start -> CRDs installed + seeded)`);
  return { cp, crdDir };
}
