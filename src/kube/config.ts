import {existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {delimiter, dirname, isAbsolute, join, resolve, sep} from 'node:path'
import {KnmeshError, UsageError} from '../errors.js'

/**
 * How to reach the API server: kubectl's connection flags (names and meaning as in kubectl's
 * `genericclioptions.ConfigFlags`, i.e. client-go's `clientcmd.ConfigOverrides`).
 */
export interface ConnectOptions {
  /** --kubeconfig: this file only (KUBECONFIG and ~/.kube/config are then not read). */
  kubeconfig?: string
  /** --context */
  context?: string
  /** -n/--namespace */
  namespace?: string
  /** Per-request timeout in milliseconds (0: none). */
  requestTimeoutMs?: number
  /** --cluster: the kubeconfig cluster to use instead of the context's. */
  cluster?: string
  /** --user: the kubeconfig user to use instead of the context's. */
  user?: string
  /** --server/-s: the API server address (replaces the cluster's; clears its tls-server-name unless --tls-server-name is given). */
  server?: string
  /** --token: bearer token (replaces the user's token, tokenFile and exec plugin). */
  token?: string
  /** --certificate-authority: CA file (replaces the cluster's CA and insecure-skip-tls-verify). */
  certificateAuthority?: string
  /** --client-certificate / --client-key: files (replace the user's certificate/key data or files). */
  clientCertificate?: string
  clientKey?: string
  /** --insecure-skip-tls-verify: do not verify the server certificate (clears the cluster's CA). */
  insecureSkipTlsVerify?: boolean
  /** --tls-server-name: the name to verify the server certificate against (SNI too). */
  tlsServerName?: string
  /** --as / --as-group (repeatable) / --as-uid: impersonation (Impersonate-User/-Group/-Uid headers). */
  as?: string
  asGroups?: string[]
  asUid?: string
}

/** A kubeconfig `clusters[].cluster` (kubectl's field names). */
export interface KcCluster {
  server?: string
  'certificate-authority'?: string
  'certificate-authority-data'?: string
  'insecure-skip-tls-verify'?: boolean
  'tls-server-name'?: string
  'proxy-url'?: string
  'disable-compression'?: boolean
  extensions?: {name: string; extension: unknown}[]
}

/** A kubeconfig `users[].user.exec` (client.authentication.k8s.io ExecConfig). */
export interface KcExec {
  command: string
  args?: string[]
  env?: {name: string; value: string}[]
  apiVersion?: string
  installHint?: string
  provideClusterInfo?: boolean
  interactiveMode?: 'Never' | 'IfAvailable' | 'Always'
}

/** A kubeconfig `users[].user` (kubectl's field names). */
export interface KcUser {
  token?: string
  tokenFile?: string
  'client-certificate'?: string
  'client-certificate-data'?: string
  'client-key'?: string
  'client-key-data'?: string
  as?: string
  'as-uid'?: string
  'as-groups'?: string[]
  'as-user-extra'?: Record<string, string[]>
  username?: string
  password?: string
  exec?: KcExec
  'auth-provider'?: {name: string; config?: Record<string, string>}
}

export interface KcContext {
  cluster?: string
  user?: string
  namespace?: string
}

/** Kubeconfig files merged as kubectl merges them. Relative paths are already absolute. */
export interface MergedKubeconfig {
  clusters: Map<string, KcCluster>
  users: Map<string, KcUser>
  contexts: Map<string, KcContext>
  currentContext?: string
  /** The files read, in order. */
  files: string[]
}

/** Where the connection settings came from, for messages. */
export interface ConfigSource {
  /** "kubeconfig /a/config:/b/config", "in-cluster service account", or "no kubeconfig (flags only)". */
  what: string
  contextName: string
  userName: string
  clusterName: string
}

/** What one connection uses, after the flags are applied: pure data, no I/O done yet. */
export interface ResolvedConnection {
  source: ConfigSource
  namespace: string
  cluster: KcCluster & {server: string}
  user: KcUser
}

export interface LoadedConfig extends ResolvedConnection {
  /** Kept for callers of the old shape. */
  contextName: string
  server: string
}

export const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

/**
 * Files to read, as kubectl reads them: --kubeconfig alone (it must exist); else every file in
 * KUBECONFIG (missing ones skipped, duplicates read once); else ~/.kube/config.
 * Throws KnmeshError (exit 4) for a --kubeconfig that does not exist.
 */
export function kubeconfigFiles(flag: string | undefined, env = process.env): string[] {
  if (flag) {
    if (!existsSync(flag)) throw new KnmeshError(`kubeconfig ${flag} does not exist`)
    return [flag]
  }
  if (env.KUBECONFIG) {
    return [...new Set(env.KUBECONFIG.split(delimiter).filter((f) => f && existsSync(f)))]
  }
  const home = env.HOME || homedir()
  const def = join(home, '.kube', 'config')
  return existsSync(def) ? [def] : []
}

function absolute(base: string, p: string | undefined): string | undefined {
  return p && !isAbsolute(p) ? join(base, p) : p
}

/**
 * Parses one kubeconfig file's text. Relative `certificate-authority`, `client-certificate`,
 * `client-key`, `tokenFile` and `exec.command` (when it contains a path separator) are made
 * absolute against the file's folder, as kubectl does (clientcmd ResolveLocalPaths).
 * Throws KnmeshError (exit 4) when the text is not a kubeconfig.
 */
export function parseKubeconfig(text: string, file: string, parse: (s: string) => unknown): Omit<MergedKubeconfig, 'files'> {
  let doc: {clusters?: unknown; users?: unknown; contexts?: unknown; 'current-context'?: unknown} | null
  try {
    doc = parse(text) as typeof doc
  } catch (error) {
    throw new KnmeshError(`cannot read kubeconfig ${file}: ${(error as Error).message.split('\n')[0]}`)
  }
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc)))
    throw new KnmeshError(`cannot read kubeconfig ${file}: not a kubeconfig (a YAML mapping)`)
  const base = resolve(dirname(file))
  const named = <T>(key: 'clusters' | 'users' | 'contexts', inner: 'cluster' | 'user' | 'context'): Map<string, T> => {
    const out = new Map<string, T>()
    const list = doc?.[key]
    if (list === undefined || list === null) return out
    if (!Array.isArray(list)) throw new KnmeshError(`cannot read kubeconfig ${file}: ${key} is not a list`)
    for (const [i, item] of list.entries()) {
      const name = (item as {name?: unknown})?.name
      if (typeof name !== 'string' || !name) throw new KnmeshError(`cannot read kubeconfig ${file}: ${key}[${i}] has no name`)
      // Within one file the first entry of a name wins too.
      if (!out.has(name)) out.set(name, {...((item as Record<string, unknown>)[inner] as T)})
    }
    return out
  }
  const clusters = named<KcCluster>('clusters', 'cluster')
  const users = named<KcUser>('users', 'user')
  const contexts = named<KcContext>('contexts', 'context')
  for (const c of clusters.values()) c['certificate-authority'] = absolute(base, c['certificate-authority'])
  for (const u of users.values()) {
    u['client-certificate'] = absolute(base, u['client-certificate'])
    u['client-key'] = absolute(base, u['client-key'])
    u.tokenFile = absolute(base, u.tokenFile)
    if (u.exec?.command && u.exec.command.includes(sep)) u.exec = {...u.exec, command: absolute(base, u.exec.command)!}
  }
  const cc = doc?.['current-context']
  return {clusters, users, contexts, currentContext: typeof cc === 'string' && cc ? cc : undefined}
}

/**
 * kubectl's merge of several kubeconfig files: for clusters, users and contexts the first file
 * to define a name wins; current-context comes from the first file that sets one.
 */
export function mergeKubeconfigs(parts: {file: string; config: Omit<MergedKubeconfig, 'files'>}[]): MergedKubeconfig {
  const merged: MergedKubeconfig = {clusters: new Map(), users: new Map(), contexts: new Map(), files: []}
  for (const {file, config} of parts) {
    merged.files.push(file)
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      const into = merged[key] as Map<string, unknown>
      for (const [name, v] of config[key]) if (!into.has(name)) into.set(name, v)
    }
    merged.currentContext ??= config.currentContext
  }
  return merged
}

/**
 * The in-cluster configuration kubectl uses when no kubeconfig gives a server: KUBERNETES_SERVICE_HOST
 * and KUBERNETES_SERVICE_PORT set and `<dir>/token` present. Namespace: POD_NAMESPACE, else
 * `<dir>/namespace`. Returns undefined when not in a pod.
 */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SERVICEACCOUNT_DIR): MergedKubeconfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST
  const port = env.KUBERNETES_SERVICE_PORT
  if (!host || !port || !existsSync(join(dir, 'token'))) return undefined
  const hostPart = host.includes(':') ? `[${host}]` : host
  let namespace = env.POD_NAMESPACE
  if (!namespace && existsSync(join(dir, 'namespace'))) namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim() || undefined
  const name = 'in-cluster'
  return {
    clusters: new Map([[name, {server: `https://${hostPart}:${port}`, 'certificate-authority': join(dir, 'ca.crt')}]]),
    users: new Map([[name, {tokenFile: join(dir, 'token')}]]),
    contexts: new Map([[name, {cluster: name, user: name, namespace}]]),
    currentContext: name,
    files: [],
  }
}

/**
 * Applies kubectl's connection flags to a merged kubeconfig, as client-go's DirectClientConfig does:
 * --context picks the context; --cluster/--user replace the context's; --server replaces the server
 * (and the tls-server-name, with --tls-server-name's value); --certificate-authority or
 * --insecure-skip-tls-verify replace both the CA and insecure-skip-tls-verify; --token replaces the
 * user's token, tokenFile and exec plugin; --client-certificate/--client-key replace the user's
 * certificate/key; --as/--as-group/--as-uid replace the user's impersonation.
 *
 * Throws UsageError (exit 2) for contradictory flags, KnmeshError (exit 4) for an unknown
 * context/cluster/user, no server, or an invalid user/cluster entry. Pure: reads no file.
 */
export function resolveConnection(config: MergedKubeconfig, opts: ConnectOptions, what: string): ResolvedConnection {
  if (opts.insecureSkipTlsVerify && opts.certificateAuthority) {
    throw new UsageError('--insecure-skip-tls-verify and --certificate-authority contradict each other: pass one')
  }
  if (opts.asGroups?.length && !opts.as) throw new UsageError('--as-group needs --as: the API server impersonates groups only together with a user')
  if (opts.asUid && !opts.as) throw new UsageError('--as-uid needs --as: the API server impersonates a UID only together with a user')
  if (opts.server !== undefined) {
    let url: URL
    try {
      url = new URL(opts.server.includes('://') ? opts.server : `https://${opts.server}`)
    } catch {
      throw new UsageError(`--server ${opts.server} is not a URL (https://host:port)`)
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--server ${opts.server}: only https:// and http:// are supported`)
  }

  const contextName = opts.context ?? config.currentContext ?? ''
  let ctx: KcContext = {}
  if (contextName) {
    const found = config.contexts.get(contextName)
    if (!found) {
      const names = [...config.contexts.keys()]
      throw new KnmeshError(`context "${contextName}" not found in kubeconfig (available: ${names.join(', ') || 'none'})`)
    }
    ctx = found
  }
  const clusterName = opts.cluster ?? ctx.cluster ?? ''
  const userName = opts.user ?? ctx.user ?? ''
  let cluster: KcCluster = {}
  if (clusterName) {
    const found = config.clusters.get(clusterName)
    if (found) cluster = {...found}
    else if (opts.cluster !== undefined || opts.server === undefined) {
      throw new KnmeshError(
        `cluster "${clusterName}" not found in kubeconfig${contextName && opts.cluster === undefined ? ` (named by context "${contextName}")` : ''}`,
      )
    }
  }
  let user: KcUser = {}
  if (userName) {
    const found = config.users.get(userName)
    if (found) user = {...found}
    else
      throw new KnmeshError(`user "${userName}" not found in kubeconfig${contextName && opts.user === undefined ? ` (named by context "${contextName}")` : ''}`)
  }

  // Cluster flags (client-go DirectClientConfig.getCluster).
  if (opts.server !== undefined) cluster.server = opts.server.includes('://') ? opts.server : `https://${opts.server}`
  if (opts.certificateAuthority || opts.insecureSkipTlsVerify) {
    cluster['insecure-skip-tls-verify'] = Boolean(opts.insecureSkipTlsVerify)
    cluster['certificate-authority'] = opts.certificateAuthority ? resolve(opts.certificateAuthority) : undefined
    delete cluster['certificate-authority-data']
  }
  if (opts.tlsServerName !== undefined || opts.server !== undefined) cluster['tls-server-name'] = opts.tlsServerName || undefined
  // User flags.
  if (opts.token !== undefined) {
    user.token = opts.token
    delete user.tokenFile
    delete user.exec
    delete user['auth-provider']
  }
  if (opts.clientCertificate) {
    user['client-certificate'] = resolve(opts.clientCertificate)
    delete user['client-certificate-data']
  }
  if (opts.clientKey) {
    user['client-key'] = resolve(opts.clientKey)
    delete user['client-key-data']
  }
  if (opts.as) {
    user.as = opts.as
    if (opts.asGroups?.length) user['as-groups'] = [...opts.asGroups]
    if (opts.asUid) user['as-uid'] = opts.asUid
  }

  const where = `${what}${contextName ? `, context "${contextName}"` : ''}`
  if (!cluster.server) {
    throw new KnmeshError(
      contextName
        ? `context "${contextName}" names no cluster with a server address (${where})`
        : `no server to connect to: ${what} names no context; pass --context or --server`,
    )
  }
  validateCluster(cluster, clusterName || '(flags)')
  validateUser(user, userName || '(flags)')
  return {
    source: {what, contextName, userName, clusterName},
    namespace: opts.namespace ?? ctx.namespace ?? 'default',
    cluster: cluster as KcCluster & {server: string},
    user,
  }
}

/** kubectl's validation of a cluster entry (clientcmd validateClusterInfo). Throws KnmeshError (exit 4). */
function validateCluster(c: KcCluster, name: string): void {
  try {
    const url = new URL(c.server!)
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme')
  } catch {
    throw new KnmeshError(`cluster "${name}": server ${c.server} is not an http(s) URL`)
  }
  if (c['insecure-skip-tls-verify'] && (c['certificate-authority'] || c['certificate-authority-data'])) {
    throw new KnmeshError(
      `cluster "${name}": specifying a root certificates file with the insecure flag is not allowed (kubeconfig sets both certificate-authority and insecure-skip-tls-verify)`,
    )
  }
  if (c['proxy-url']) {
    let p: URL
    try {
      p = new URL(c['proxy-url'])
    } catch {
      throw new KnmeshError(`cluster "${name}": proxy-url ${c['proxy-url']} is not a URL`)
    }
    if (!['http:', 'https:', 'socks5:', 'socks5h:'].includes(p.protocol)) {
      throw new KnmeshError(`cluster "${name}": proxy-url scheme ${p.protocol.replace(/:$/, '')} is not supported (http, https, socks5)`)
    }
  }
}

/** kubectl's validation of a user entry (clientcmd validateAuthInfo). Throws KnmeshError (exit 4). */
function validateUser(u: KcUser, name: string): void {
  const hasCert = Boolean(u['client-certificate'] || u['client-certificate-data'])
  const hasKey = Boolean(u['client-key'] || u['client-key-data'])
  if (hasCert && !hasKey) throw new KnmeshError(`user "${name}": client-key-data or client-key must be specified to use the clientCert authentication method`)
  if (hasKey && !hasCert)
    throw new KnmeshError(`user "${name}": client-certificate-data or client-certificate must be specified to use the clientCert authentication method`)
  if (u['client-certificate'] && u['client-certificate-data'])
    throw new KnmeshError(`user "${name}": client-certificate-data and client-certificate are both specified; pass one`)
  if (u['client-key'] && u['client-key-data']) throw new KnmeshError(`user "${name}": client-key-data and client-key are both specified; pass one`)
  const e = u.exec
  if (e) {
    if (u['auth-provider']) throw new KnmeshError(`user "${name}": authProvider cannot be provided in combination with an exec plugin`)
    if (!e.command) throw new KnmeshError(`user "${name}": command must be specified to use the exec authentication plugin`)
    if (!e.apiVersion) throw new KnmeshError(`user "${name}": apiVersion must be specified to use the exec authentication plugin`)
    if (e.apiVersion !== 'client.authentication.k8s.io/v1' && e.apiVersion !== 'client.authentication.k8s.io/v1beta1') {
      throw new KnmeshError(`user "${name}": exec plugin apiVersion ${e.apiVersion} is not supported (client.authentication.k8s.io/v1 or v1beta1)`)
    }
    if (e.interactiveMode !== undefined && !['Never', 'IfAvailable', 'Always'].includes(e.interactiveMode)) {
      throw new KnmeshError(`user "${name}": invalid interactiveMode "${e.interactiveMode}" (Never, IfAvailable or Always)`)
    }
    if (e.apiVersion === 'client.authentication.k8s.io/v1' && !e.interactiveMode) {
      throw new KnmeshError(`user "${name}": interactiveMode must be specified to use the exec plugin with client.authentication.k8s.io/v1`)
    }
    for (const [i, v] of (e.env ?? []).entries()) {
      if (!v?.name) throw new KnmeshError(`user "${name}": exec env[${i}] has no name`)
    }
  }
}

/**
 * Loads the kubeconfig files (or the in-cluster service account) and applies the flags, as kubectl
 * does; never falls back to localhost:8080. See resolveConnection for the rules and errors.
 * Throws KnmeshError (exit 4) when there is no kubeconfig, a file cannot be read, or the
 * context/cluster/user is unknown; UsageError (exit 2) for contradictory flags.
 */
export async function loadKubeConfig(
  opts: ConnectOptions,
  env: NodeJS.ProcessEnv = process.env,
  serviceAccountDir = SERVICEACCOUNT_DIR,
): Promise<LoadedConfig> {
  const {parse} = await import('yaml')
  const files = kubeconfigFiles(opts.kubeconfig, env)
  const parts = files.map((file) => {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      throw new KnmeshError(`cannot read kubeconfig ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    return {file, config: parseKubeconfig(text, file, parse)}
  })
  let merged = mergeKubeconfigs(parts)
  let what = files.length ? `kubeconfig ${files.join(delimiter)}` : 'no kubeconfig (flags only)'
  const empty = merged.clusters.size === 0 && merged.contexts.size === 0 && !merged.currentContext
  // kubectl uses the in-cluster configuration when the kubeconfig (with the flags) gives no server.
  if (empty && !opts.kubeconfig && opts.server === undefined) {
    const pod = inClusterConfig(env, serviceAccountDir)
    if (pod) {
      merged = pod
      what = `in-cluster service account (${serviceAccountDir})`
    } else {
      throw new KnmeshError(
        `no kubeconfig found (read ${env.KUBECONFIG ? `KUBECONFIG=${env.KUBECONFIG}` : join(env.HOME || homedir(), '.kube', 'config')}): pass --kubeconfig, set KUBECONFIG, or log in with \`oc login\``,
      )
    }
  }
  const resolved = resolveConnection(merged, opts, what)
  return {...resolved, contextName: resolved.source.contextName, server: resolved.cluster.server}
}
