import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import {BlockList, isIP} from 'node:net'
import {KnmeshError} from '../errors.js'
import type {KcCluster, KcExec, KcUser, ResolvedConnection} from './config.js'
import {H2Connection, http2Disabled} from './h2.js'

/**
 * What a request needs: the agent (TLS, client certificate, proxy) and the auth/impersonation headers; over
 * https without a proxy, the HTTP/2 connection tried first (src/kube/h2.ts), the agent being HTTP/1.1's.
 */
export interface Transport {
  agent: http.Agent
  h2?: H2Connection
  headers: http.OutgoingHttpHeaders
}

/** An ExecCredential's status (client.authentication.k8s.io v1/v1beta1). */
export interface ExecStatus {
  token?: string
  clientCertificateData?: string
  clientKeyData?: string
  /** RFC 3339; absent: valid for the life of the process. */
  expirationTimestamp?: string
}

interface CachedCredential {
  status: ExecStatus
  expiresAt?: number
}

/** Exec credentials by plugin configuration, for the life of the process (as client-go caches them). */
const execCache = new Map<string, Promise<CachedCredential>>()

/** How long a tokenFile's content is reused before the file is read again (client-go: 1 minute). */
const TOKEN_FILE_TTL_MS = 60_000

function readPem(file: string | undefined, data: string | undefined, what: string): Buffer | undefined {
  if (file) {
    try {
      return readFileSync(file)
    } catch (error) {
      throw new KnmeshError(`cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
  }
  return data ? Buffer.from(data, 'base64') : undefined
}

/**
 * Validates an exec plugin's output as client-go does (apiVersion and kind must match the
 * configuration; a token or a certificate/key pair). Throws KnmeshError (exit 4).
 */
export function parseExecCredential(stdout: string, exec: KcExec): CachedCredential {
  let obj: {apiVersion?: string; kind?: string; status?: ExecStatus}
  try {
    obj = JSON.parse(stdout)
  } catch {
    throw new KnmeshError(`exec plugin ${exec.command}: its output is not an ExecCredential (not JSON)`)
  }
  if (obj?.kind !== 'ExecCredential') throw new KnmeshError(`exec plugin ${exec.command}: returned kind ${JSON.stringify(obj?.kind)}, not ExecCredential`)
  if (obj.apiVersion !== exec.apiVersion) {
    throw new KnmeshError(`exec plugin ${exec.command} is configured to use API version ${exec.apiVersion}, plugin returned version ${obj.apiVersion}`)
  }
  const s = obj.status
  if (!s) throw new KnmeshError(`exec plugin ${exec.command} didn't return a status field`)
  const hasCert = Boolean(s.clientCertificateData)
  const hasKey = Boolean(s.clientKeyData)
  if (hasCert !== hasKey) throw new KnmeshError(`exec plugin ${exec.command} returned only certificate or key, not both`)
  if (!s.token && !hasCert) throw new KnmeshError(`exec plugin ${exec.command} didn't return a token or cert/key pair`)
  let expiresAt: number | undefined
  if (s.expirationTimestamp) {
    expiresAt = Date.parse(s.expirationTimestamp)
    if (Number.isNaN(expiresAt)) throw new KnmeshError(`exec plugin ${exec.command}: expirationTimestamp ${s.expirationTimestamp} is not an RFC 3339 time`)
  }
  return {status: s, expiresAt}
}

/** The ExecCredential given to the plugin in KUBERNETES_EXEC_INFO. */
export function execInfo(exec: KcExec, interactive: boolean, cluster: KcCluster): string {
  const spec: Record<string, unknown> = {interactive}
  if (exec.provideClusterInfo) {
    const ca = readPem(cluster['certificate-authority'], cluster['certificate-authority-data'], 'certificate-authority')
    const ext = cluster.extensions?.find((e) => e.name === 'client.authentication.k8s.io/exec')?.extension
    spec.cluster = {
      server: cluster.server,
      'tls-server-name': cluster['tls-server-name'],
      'insecure-skip-tls-verify': cluster['insecure-skip-tls-verify'] || undefined,
      'certificate-authority-data': ca?.toString('base64'),
      'proxy-url': cluster['proxy-url'],
      'disable-compression': cluster['disable-compression'] || undefined,
      config: ext,
    }
  }
  return JSON.stringify({apiVersion: exec.apiVersion, kind: 'ExecCredential', spec})
}

/**
 * Runs an exec credential plugin as client-go does: env = ours + exec.env + KUBERNETES_EXEC_INFO;
 * stdin is the terminal only when interactive (interactiveMode IfAvailable/Always and stdin is a
 * TTY; Always without a TTY is an error); the plugin's stderr passes through.
 */
export async function runExecPlugin(exec: KcExec, cluster: KcCluster, stdinIsTTY = Boolean(process.stdin.isTTY)): Promise<CachedCredential> {
  const mode = exec.interactiveMode ?? 'IfAvailable'
  if (mode === 'Always' && !stdinIsTTY) throw new KnmeshError(`exec plugin ${exec.command} cannot support interactive mode: standard input is not a terminal`)
  const interactive = mode !== 'Never' && stdinIsTTY
  const env: NodeJS.ProcessEnv = {...process.env}
  for (const v of exec.env ?? []) env[v.name] = v.value
  env.KUBERNETES_EXEC_INFO = execInfo(exec, interactive, cluster)
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(exec.command, exec.args ?? [], {env, stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'inherit']})
    const chunks: Buffer[] = []
    child.stdout!.on('data', (c: Buffer) => chunks.push(c))
    child.on('error', (error: NodeJS.ErrnoException) => {
      const hint = exec.installHint
        ? `: ${exec.installHint
            .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
            .trim()
            .split('\n')
            .join(' ')}`
        : ''
      reject(
        new KnmeshError(error.code === 'ENOENT' ? `exec plugin: executable ${exec.command} not found${hint}` : `exec plugin ${exec.command}: ${error.message}`),
      )
    })
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(chunks).toString('utf8'))
      else reject(new KnmeshError(`exec plugin ${exec.command} failed with ${signal ? `signal ${signal}` : `exit code ${code}`}`))
    })
  })
  return parseExecCredential(out, exec)
}

/**
 * The proxy Go's http.ProxyFromEnvironment (what kubectl uses when the cluster has no proxy-url) picks
 * for `server`: HTTPS_PROXY/https_proxy for https, HTTP_PROXY/http_proxy for http; none for localhost and
 * loopback addresses or a NO_PROXY/no_proxy match (`*`, a host or domain suffix with an optional port,
 * `.domain`, an IP or a CIDR). A proxy without a scheme is http://.
 */
export function proxyFromEnvironment(server: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = new URL(server)
  const raw = url.protocol === 'https:' ? env.HTTPS_PROXY || env.https_proxy : env.HTTP_PROXY || env.http_proxy
  if (!raw) return undefined
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  if (host === 'localhost' || (isIP(host) && isLoopback(host))) return undefined
  for (let entry of (env.NO_PROXY || env.no_proxy || '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean)) {
    if (entry === '*') return undefined
    if (entry.includes('/')) {
      if (isIP(host) && inCidr(host, entry)) return undefined
      continue
    }
    let entryPort: string | undefined
    const m = /^(.*):(\d+)$/.exec(entry)
    if (m && !isIP(entry)) [, entry, entryPort] = m
    entry = entry.replace(/^\[|\]$/g, '')
    if (entryPort && entryPort !== port) continue
    if (isIP(entry)) {
      if (entry === host) return undefined
      continue
    }
    // "example.com" matches it and its subdomains; ".example.com" and "*.example.com" only subdomains.
    const subdomainsOnly = entry.startsWith('.') || entry.startsWith('*.')
    const domain = entry.replace(/^\*?\./, '')
    if ((!subdomainsOnly && host === domain) || host.endsWith(`.${domain}`)) return undefined
  }
  return raw.includes('://') ? raw : `http://${raw}`
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.')
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/')
  const bits = Number(bitsText)
  if (!base || Number.isNaN(bits) || isIP(base) !== isIP(ip)) return false
  const list = new BlockList()
  try {
    list.addSubnet(base, bits, isIP(base) === 6 ? 'ipv6' : 'ipv4')
  } catch {
    return false
  }
  return list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4')
}

/** Impersonation headers (client-go's ImpersonatingRoundTripper). */
export function impersonationHeaders(user: KcUser): http.OutgoingHttpHeaders {
  const h: http.OutgoingHttpHeaders = {}
  if (!user.as) return h
  h['Impersonate-User'] = user.as
  if (user['as-uid']) h['Impersonate-Uid'] = user['as-uid']
  if (user['as-groups']?.length) h['Impersonate-Group'] = [...user['as-groups']]
  for (const [k, v] of Object.entries(user['as-user-extra'] ?? {})) {
    // Header names carry only token characters: anything else is percent-encoded, as client-go does.
    const key = k.replace(/[^!#$&'*+\-.^_`|~0-9A-Za-z]/g, (c) => [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''))
    h[`Impersonate-Extra-${key}`] = [...v]
  }
  return h
}

/**
 * The credentials and TLS settings of one resolved connection, as client-go applies them: a
 * bearer token (tokenFile re-read every minute, else token), else the exec plugin (cached until its
 * expirationTimestamp), else basic auth, else a legacy auth-provider; a client certificate; the
 * cluster's CA, insecure-skip-tls-verify, tls-server-name and proxy-url; impersonation headers.
 * Over plain http no credentials are sent (client-go sends them only over TLS).
 */
export class Credentials {
  private agents = new Map<string, {agent: http.Agent; h2?: H2Connection}>()
  private tokenFileCache?: {token: string; at: number}
  /** The user's own client certificate and key, read once. */
  private staticPair?: {cert?: Buffer; key?: Buffer}
  private lastAgent?: {cert?: Buffer | string; key?: Buffer | string; agent: http.Agent; h2?: H2Connection}
  private readonly execKey?: string

  constructor(
    readonly conn: ResolvedConnection,
    private readonly now: () => number = Date.now,
  ) {
    if (conn.user.exec) this.execKey = JSON.stringify([conn.user.exec, conn.cluster.server])
  }

  /** Whether requests carry any credential at all (for the anonymous message). */
  describe(): string {
    const u = this.conn.user
    if (new URL(this.conn.cluster.server).protocol === 'http:') return 'none (plain http: credentials are only sent over https)'
    const parts: string[] = []
    if (u.tokenFile) parts.push(`tokenFile ${u.tokenFile}`)
    else if (u.token) parts.push('token')
    if (u.exec) parts.push(`exec plugin ${u.exec.command}`)
    if (u['client-certificate'] || u['client-certificate-data']) parts.push('client certificate')
    if (u.username) parts.push('basic auth')
    if (u['auth-provider']) parts.push(`auth-provider ${u['auth-provider'].name}`)
    return parts.length ? parts.join(', ') : 'none'
  }

  /** Forgets a cached exec credential (after a 401), as client-go does. */
  invalidate(): void {
    if (this.execKey) execCache.delete(this.execKey)
    this.tokenFileCache = undefined
  }

  private async execCredential(): Promise<ExecStatus> {
    const key = this.execKey!
    let p = execCache.get(key)
    if (p) {
      const c = await p.catch(() => undefined)
      if (!c || (c.expiresAt !== undefined && this.now() >= c.expiresAt)) p = undefined
    }
    if (!p) {
      p = runExecPlugin(this.conn.user.exec!, this.conn.cluster)
      execCache.set(key, p)
      p.catch(() => execCache.delete(key))
    }
    return (await p).status
  }

  private bearerFromFile(file: string): string | undefined {
    const c = this.tokenFileCache
    if (c && this.now() - c.at < TOKEN_FILE_TTL_MS) return c.token
    let token: string
    try {
      token = readFileSync(file, 'utf8').trim()
    } catch (error) {
      // client-go falls back to a token given beside the file.
      if (this.conn.user.token) return this.conn.user.token
      throw new KnmeshError(`cannot read tokenFile ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    this.tokenFileCache = {token, at: this.now()}
    return token
  }

  /** The agent and headers for the next request. Throws KnmeshError (exit 4) when credentials cannot be had. */
  async transport(): Promise<Transport> {
    const {cluster, user} = this.conn
    const secure = new URL(cluster.server).protocol === 'https:'
    const headers: http.OutgoingHttpHeaders = {...impersonationHeaders(user)}
    let cert: Buffer | string | undefined
    let key: Buffer | string | undefined
    if (secure) {
      this.staticPair ??= {
        cert: readPem(user['client-certificate'], user['client-certificate-data'], 'client-certificate'),
        key: readPem(user['client-key'], user['client-key-data'], 'client-key'),
      }
      ;({cert, key} = this.staticPair)
      if (user.tokenFile) headers.Authorization = `Bearer ${this.bearerFromFile(user.tokenFile)}`
      else if (user.token) headers.Authorization = `Bearer ${user.token}`
      else if (user.exec) {
        const s = await this.execCredential()
        if (s.token) headers.Authorization = `Bearer ${s.token}`
        if (s.clientCertificateData) {
          if (cert) throw new KnmeshError('the exec plugin returned a client certificate but the user also has one: pass one')
          cert = s.clientCertificateData
          key = s.clientKeyData
        }
      } else if (user.username || user.password) {
        headers.Authorization = `Basic ${Buffer.from(`${user.username ?? ''}:${user.password ?? ''}`).toString('base64')}`
      } else if (user['auth-provider']) {
        headers.Authorization = await this.authProvider()
      }
    }
    return {...(await this.agent(cert, key)), headers}
  }

  /** Legacy auth-provider plugins (oidc, …), through @kubernetes/client-node. */
  private async authProvider(): Promise<string | undefined> {
    const {KubeConfig} = await import('@kubernetes/client-node')
    const kc = new KubeConfig()
    kc.loadFromOptions({
      clusters: [{name: 'c', server: this.conn.cluster.server, skipTLSVerify: true}],
      users: [{name: 'u', authProvider: this.conn.user['auth-provider']}],
      contexts: [{name: 'x', cluster: 'c', user: 'u'}],
      currentContext: 'x',
    })
    const opts: https.RequestOptions = {headers: {}}
    try {
      await kc.applyToHTTPSOptions(opts)
    } catch (error) {
      throw new KnmeshError(`auth-provider ${this.conn.user['auth-provider']!.name}: ${(error as Error).message.split('\n')[0]}`)
    }
    return (opts.headers as Record<string, string>).Authorization
  }

  private async agent(cert: Buffer | string | undefined, key: Buffer | string | undefined): Promise<{agent: http.Agent; h2?: H2Connection}> {
    // Same certificate as the last request (the usual case): same agent, without comparing contents.
    if (this.lastAgent && this.lastAgent.cert === cert && this.lastAgent.key === key) return this.lastAgent
    const id = `${cert?.toString() ?? ''}\0${key?.toString() ?? ''}`
    const known = this.agents.get(id)
    if (known) {
      this.lastAgent = {cert, key, ...known}
      return known
    }
    let agent: http.Agent
    let h2: H2Connection | undefined
    const c = this.conn.cluster
    const secure = new URL(c.server).protocol === 'https:'
    const tls = {
      ca: secure ? readPem(c['certificate-authority'], c['certificate-authority-data'], 'certificate-authority') : undefined,
      cert,
      key,
      rejectUnauthorized: !c['insecure-skip-tls-verify'],
      servername: c['tls-server-name'],
    }
    const proxyUrl = c['proxy-url'] || proxyFromEnvironment(c.server)
    if (proxyUrl) {
      // Proxy agents (HTTP CONNECT, SOCKS5) come with @kubernetes/client-node.
      const {KubeConfig} = await import('@kubernetes/client-node')
      const kc = new KubeConfig()
      const b64 = (v: Buffer | string | undefined) => (v === undefined ? undefined : Buffer.from(v).toString('base64'))
      kc.loadFromOptions({
        clusters: [
          {
            name: 'c',
            server: c.server,
            proxyUrl,
            skipTLSVerify: !secure || Boolean(c['insecure-skip-tls-verify']),
            caData: b64(tls.ca),
            tlsServerName: tls.servername,
          },
        ],
        users: [{name: 'u', certData: b64(cert), keyData: b64(key)}],
        contexts: [{name: 'x', cluster: 'c', user: 'u'}],
        currentContext: 'x',
      })
      const opts: https.RequestOptions = {}
      await kc.applyToHTTPSOptions(opts)
      agent = opts.agent as http.Agent
    } else if (!secure) {
      agent = new http.Agent({keepAlive: true, maxSockets: 32})
    } else {
      agent = new https.Agent({keepAlive: true, maxSockets: 32, ...tls})
      if (!http2Disabled()) h2 = new H2Connection(new URL(c.server), tls)
    }
    this.agents.set(id, {agent, h2})
    this.lastAgent = {cert, key, agent, h2}
    return {agent, h2}
  }

  close(): void {
    for (const a of this.agents.values()) {
      a.agent.destroy()
      a.h2?.close()
    }
    this.agents.clear()
    this.lastAgent = undefined
  }
}
