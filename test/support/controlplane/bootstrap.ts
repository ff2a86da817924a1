/**
 * Bootstrap of the test control plane (see ../controlplane.ts): the binaries (ensureBinaries), the users'
 * credentials and kubeconfigs, their RBAC, the HTTP helper the setup talks to the API server with, and the CRD
 * install (installCrds, with the install-time edits of localServerCrd).
 */
import {execa} from 'execa'
import {generateKeyPairSync, randomBytes} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {waitIstioWebhookLive} from '../istio-webhook.js'
import type {ControlPlane} from './process.js'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const TOOLS = path.join(REPO_ROOT, 'tools', 'controlplane')
/** kubectl the seed functions use by default: $KUBECTL, else the one build.sh put next to the server, else PATH's. */
let kubectlInUse = process.env.KUBECTL ?? 'kubectl'

export function defaultKubectl(): string {
  return kubectlInUse
}

/** Set by ensureBinaries and startControlPlane. */
export function useKubectl(bin: string): void {
  kubectlInUse = bin
}

export function kubectlFor(binDir: string): string {
  if (process.env.KUBECTL) return process.env.KUBECTL
  const own = path.join(binDir, 'kubectl')
  return existsSync(own) ? own : 'kubectl'
}
export const RESTRICTED_BINDING = 'knmesh-test-restricted-view'

export function log(msg: string): void {
  process.stderr.write(`[controlplane] ${msg}\n`)
}

export function since(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)}s`
}

async function lastLine(script: string): Promise<string> {
  const r = await execa('bash', [path.join(TOOLS, script)], {
    stdin: 'ignore',
    stderr: 'inherit',
    env: {PATH: `${process.env.PATH ?? ''}:/usr/local/go/bin`},
  })
  const line = r.stdout.trim().split('\n').pop()?.trim()
  if (!line || !existsSync(line)) throw new Error(`${script} did not print an existing folder (got ${JSON.stringify(line)})`)
  return line
}

/** Builds (or reuses cached / KUBEBUILDER_ASSETS) binaries and collects CRDs. */
export async function ensureBinaries(): Promise<{binDir: string; crdDir: string}> {
  const t0 = performance.now()
  const binDir = await lastLine('build.sh')
  const crdDir = await lastLine('crds.sh')
  useKubectl(kubectlFor(binDir))
  log(`binaries ${binDir}, CRDs ${crdDir} (ready in ${since(t0)})`)
  return {binDir, crdDir}
}

export interface HttpResult {
  status: number
  body: string
}

export function apiRequest(
  server: string,
  opts: {method?: string; path: string; token?: string; caFile?: string; body?: unknown; contentType?: string; timeoutMs?: number},
): Promise<HttpResult> {
  const url = new URL(opts.path, server)
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)
  const ca = opts.caFile && existsSync(opts.caFile) ? readFileSync(opts.caFile) : undefined
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
          ...(opts.token ? {Authorization: `Bearer ${opts.token}`} : {}),
          ...(payload !== undefined ? {'Content-Type': opts.contentType ?? 'application/json'} : {}),
        },
        timeout: opts.timeoutMs ?? 5000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8')}))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`timeout ${url.href}`)))
    req.on('error', reject)
    if (payload !== undefined) req.write(payload)
    req.end()
  })
}

function kubeconfigYaml(server: string, caFile: string, user: string, token: string): string {
  // JSON strings are valid YAML scalars: quote everything.
  const q = (s: string): string => JSON.stringify(s)
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
  ].join('\n')
}

/** The tokens of the two users (static token file) and the ServiceAccount signing key pair, written into `dir`. */
export function writeCredentials(dir: string): {adminToken: string; restrictedToken: string; tokenFile: string; saPub: string; saKey: string} {
  const adminToken = randomBytes(24).toString('hex')
  const restrictedToken = randomBytes(24).toString('hex')
  const tokenFile = path.join(dir, 'tokens.csv')
  writeFileSync(tokenFile, `${adminToken},admin,admin-uid,"system:masters"\n${restrictedToken},restricted,restricted-uid\n`, {
    mode: 0o600,
  })
  const {publicKey, privateKey} = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: {type: 'spki', format: 'pem'},
    privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
  })
  const saPub = path.join(dir, 'sa.pub')
  const saKey = path.join(dir, 'sa.key')
  writeFileSync(saPub, publicKey)
  writeFileSync(saKey, privateKey, {mode: 0o600})
  return {adminToken, restrictedToken, tokenFile, saPub, saKey}
}

/** admin.kubeconfig and restricted.kubeconfig in `dir` (mode 0600), for the two users of writeCredentials. */
export function writeKubeconfigs(
  dir: string,
  server: string,
  caFile: string,
  tokens: {adminToken: string; restrictedToken: string},
): {adminKubeconfig: string; restrictedKubeconfig: string} {
  const adminKubeconfig = path.join(dir, 'admin.kubeconfig')
  const restrictedKubeconfig = path.join(dir, 'restricted.kubeconfig')
  writeFileSync(adminKubeconfig, kubeconfigYaml(server, caFile, 'admin', tokens.adminToken), {mode: 0o600})
  writeFileSync(restrictedKubeconfig, kubeconfigYaml(server, caFile, 'restricted', tokens.restrictedToken), {mode: 0o600})
  return {adminKubeconfig, restrictedKubeconfig}
}

/**
 * The RBAC of the users: "restricted" bound to the built-in "view" ClusterRole (RESTRICTED_BINDING), "view"
 * extended to every API group knmesh reads (AGGREGATE_TO_VIEW), and the aggregation done (aggregateClusterRoles).
 * Run once the bootstrap ClusterRole "view" exists.
 */
export async function createUsers(server: string, caFile: string, adminToken: string): Promise<void> {
  const kreq = (o: Parameters<typeof apiRequest>[1]): Promise<HttpResult> => apiRequest(server, {caFile, token: adminToken, ...o})
  const crb = await kreq({
    method: 'POST',
    path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: {name: RESTRICTED_BINDING},
      roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view'},
      subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'restricted'}],
    },
  })
  if (crb.status !== 201 && crb.status !== 409) throw new Error(`creating ClusterRoleBinding: HTTP ${crb.status} ${crb.body}`)

  await kreq({method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles', body: AGGREGATE_TO_VIEW}).then((r) => {
    if (r.status !== 201 && r.status !== 409) throw new Error(`creating ClusterRole: HTTP ${r.status} ${r.body}`)
  })
  await aggregateClusterRoles(server, caFile, adminToken)
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
    labels: {'rbac.authorization.k8s.io/aggregate-to-view': 'true'},
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
}

interface ClusterRole {
  metadata: {name: string; labels?: Record<string, string>; resourceVersion?: string}
  rules?: unknown[]
  aggregationRule?: {clusterRoleSelectors?: {matchLabels?: Record<string, string>}[]}
}

/**
 * Does what kube-controller-manager's clusterrole-aggregation controller would
 * (it is not running here): fills the rules of every ClusterRole that has an
 * aggregationRule (admin, edit, view, ...) from the ClusterRoles its selectors
 * match (matchLabels only). Run it again after creating aggregated roles.
 */
export async function aggregateClusterRoles(server: string, caFile: string, adminToken: string): Promise<void> {
  const base = '/apis/rbac.authorization.k8s.io/v1/clusterroles'
  const list = await apiRequest(server, {path: base, caFile, token: adminToken})
  if (list.status !== 200) throw new Error(`listing ClusterRoles: HTTP ${list.status} ${list.body}`)
  const roles = (JSON.parse(list.body) as {items: ClusterRole[]}).items
  for (const role of roles) {
    const selectors = role.aggregationRule?.clusterRoleSelectors
    if (!selectors?.length) continue
    const rules: unknown[] = []
    for (const src of roles) {
      if (src.metadata.name === role.metadata.name) continue
      const labels = src.metadata.labels ?? {}
      const matches = selectors.some((sel) => Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v))
      if (matches) rules.push(...(src.rules ?? []))
    }
    const r = await apiRequest(server, {
      method: 'PUT',
      path: `${base}/${role.metadata.name}`,
      caFile,
      token: adminToken,
      body: {...role, apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', rules},
    })
    if (r.status !== 200) throw new Error(`aggregating ClusterRole ${role.metadata.name}: HTTP ${r.status} ${r.body}`)
  }
}

export async function kubectl(bin: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await execa(bin, [`--kubeconfig=${kubeconfig}`, ...args], {
    ...(input === undefined ? {stdin: 'ignore' as const} : {input}),
    reject: false,
  })
  if (r.exitCode !== 0) {
    throw new Error(`kubectl ${args.join(' ')} failed (exit ${String(r.exitCode)}):\n${r.stderr}\n${r.stdout}`)
  }
  return r.stdout
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
  const spec = doc.spec as {conversion?: {strategy?: string}; versions?: {name: string; served: boolean; storage: boolean}[]} | undefined
  if (doc.kind !== 'CustomResourceDefinition' || spec?.conversion?.strategy !== 'Webhook') return doc
  const out = structuredClone(doc) as typeof doc & {spec: NonNullable<typeof spec>}
  out.spec.conversion = {strategy: 'None'}
  const served = (out.spec.versions ?? []).filter((v) => v.served)
  if (served.length > 1) for (const v of out.spec.versions ?? []) v.served = v.storage
  return out
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
export type MeshCrdSet = 2 | 3 | 'both'

/** The vendored Sail + Istio 1.27 CRDs (byte-for-byte upstream; SOURCES.md one folder up). */
export const OSSM3_CRD_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'crds-upstream', 'ossm3')

/** The CRD files to install for a mesh CRD set, in install order (absolute paths). */
export function crdFiles(crdDir: string, mesh: MeshCrdSet): string[] {
  const base = readdirSync(crdDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
  const keep = base.filter((f) => {
    if (mesh === 2) return true
    if (f === '10-istio.yaml') return false // the Istio 1.19 set: replaced by the 1.27 set below
    return mesh === 'both' || !f.includes('maistra.io_')
  })
  const files = keep.map((f) => path.join(crdDir, f))
  if (mesh !== 2)
    files.push(
      ...readdirSync(OSSM3_CRD_DIR)
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => path.join(OSSM3_CRD_DIR, f)),
    )
  return files
}

/**
 * Server-side applies every CRD file in crdDir (collected by tools/controlplane/crds.sh), after the
 * install-time edits of localServerCrd (only files that name a conversion webhook are parsed: the 1.1 MB
 * SMCP CRD is sent as read), then waits until all CRDs are Established.
 */
export async function installCrds(cp: ControlPlane, crdDir: string, opts: {mesh?: MeshCrdSet} = {}): Promise<void> {
  const t0 = performance.now()
  const {parseAllDocuments, stringify} = await import('yaml')
  const parts: string[] = []
  for (const file of crdFiles(crdDir, opts.mesh ?? 2)) {
    const text = readFileSync(file, 'utf8')
    if (!/^\s*conversion:/m.test(text)) {
      parts.push(text)
      continue
    }
    for (const d of parseAllDocuments(text)) {
      const doc = d.toJS() as Record<string, unknown> | null
      if (doc) parts.push(stringify(localServerCrd(doc)))
    }
  }
  await kubectl(
    cp.kubectl,
    cp.adminKubeconfig,
    ['apply', '--server-side', '--force-conflicts', '--field-manager=knmesh-test', '-f', '-'],
    parts.map((p) => `---\n${p}\n`).join(''),
  )
  await kubectl(cp.kubectl, cp.adminKubeconfig, ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s'])
  // Istio objects written from now on go through Istio's validation, as on a real mesh.
  await waitIstioWebhookLive(
    (p, body) => apiRequest(cp.server, {method: 'POST', path: p, body, caFile: cp.caFile, token: cp.adminToken}),
    30_000,
    (opts.mesh ?? 2) === 2 ? 'istio-1.19' : 'istio-1.27',
  )
  log(`CRDs installed and Established in ${since(t0)} (mesh CRD set ${opts.mesh ?? 2})`)
}
