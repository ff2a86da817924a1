import http from 'node:http'
import https from 'node:https'
import {setTimeout as sleep} from 'node:timers/promises'
import {ConflictError, ForbiddenError, KnmeshError, KubeError, NotFoundError, NotServedError} from '../errors.js'
import {debug} from '../debug.js'
import {loadKubeConfig, type ConfigSource, type ConnectOptions} from './config.js'
import {Credentials} from './credentials.js'
import {bodyText, type Exchange} from './exchange.js'
import {collectionPath, kindOf, objectPath, resourceName, type KindInfo} from './kinds.js'
import type {KObject, ListResult} from './types.js'

export interface WriteOptions {
  /** Send the write with dryRun=All: validated and admitted by the server, not persisted. */
  serverDryRun?: boolean
  /** Ask for the written object back as PartialObjectMetadata (no spec/data/status: a Secret's data never comes back). */
  metadataOnly?: boolean
}

export interface ListOptions {
  labelSelector?: string
  fieldSelector?: string
  limit?: number
  continue?: string
  /**
   * Ask for PartialObjectMetadata (apiVersion/kind/metadata only, never spec,
   * data or status; `Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`).
   * Items come back with the kind's own apiVersion/kind restored.
   */
  metadataOnly?: boolean
}

/** The Accept headers of the metadata-only protocol (served by every kube-apiserver since 1.15). */
export const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1'
export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1'

export type JsonPatchOp = {op: string; path: string; value?: unknown; from?: string}

interface RequestOptions {
  query?: Record<string, string | number | undefined>
  body?: unknown
  contentType?: string
  /** Accept header (default application/json). */
  accept?: string
  /** What the request is about, for error messages: verb + resource + namespace. */
  what?: {verb: string; info?: KindInfo; namespace?: string; name?: string}
  /**
   * Sending it twice has the effect of sending it once, so a 5xx with Retry-After may be retried. Default: by
   * method (GET, HEAD, PUT, DELETE yes; POST, PATCH no); patch() sets it for a patch conditioned on a
   * resourceVersion, mergePatch() always (a merge patch sets fixed values).
   */
  idempotent?: boolean
}

/** Retries after a Retry-After response, as client-go's default (rest/request.go NewRequest: maxRetries 10). */
export const MAX_RETRIES = 10
/** The longest wait knmesh honours from one Retry-After header (client-go has no bound). */
export const MAX_RETRY_WAIT_MS = 10_000

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE'])

/**
 * How long to wait before retrying a response, in ms, or null for "do not retry". client-go's rule
 * (k8s.io/client-go rest/with_retry.go checkWait, retryAfterSeconds): a 429 or any 5xx carrying `Retry-After`
 * as whole seconds; no header, or a date, means no retry. knmesh is stricter than client-go on 5xx: only an
 * idempotent request is retried (a POST that timed out with 504 may have created its object), while a 429
 * (not processed at all) is retried for every method. The wait is capped at MAX_RETRY_WAIT_MS.
 */
export function retryWaitMs(status: number, retryAfter: string | string[] | undefined, idempotent: boolean): number | null {
  if (status !== 429 && !(status >= 500 && idempotent)) return null
  const value = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return null
  return Math.min(Number(value) * 1000, MAX_RETRY_WAIT_MS)
}

/**
 * A connection error worth one more try: on a GET only, a reset or closed connection (e.g. a keep-alive socket
 * the server closed), as client-go's isErrRetryableFunc (rest/request.go), with its artificial 1 s wait; for
 * every method, an HTTP/2 stream the server refused before processing it (REFUSED_STREAM: nothing was done).
 */
function retryableConnectionError(method: string, error: NodeJS.ErrnoException): boolean {
  return error.code === 'ERR_HTTP2_REFUSED_STREAM' || (method === 'GET' && (error.code === 'ECONNRESET' || error.code === 'EPIPE'))
}

/**
 * A Status message on one line. Admission webhooks answer with several lines
 * (istiod: "configuration is invalid: 2 errors occurred:\n\t* a\n\t* b\n\n");
 * they become "configuration is invalid: 2 errors occurred: a; b" so no reason is lost.
 */
export function oneLine(message: string): string {
  const [head = '', ...rest] = message
    .split('\n')
    .map((l) => l.trim().replace(/^\* /, ''))
    .filter(Boolean)
  return rest.length ? `${head} ${rest.join('; ')}` : head
}

/**
 * The only code that talks to the API server: HTTP/2 on one TLS connection when the server offers it (as
 * client-go; DISABLE_HTTP2 turns it off), else one keep-alive HTTP/1.1 agent per process; every error becomes a
 * typed KubeError with a one-line message.
 */
export class KubeClient {
  /** Requests sent so far (benchmarks and the bounded-request tests read this). */
  requestCount = 0
  private readonly served = new Map<string, Promise<Set<string>>>()

  private constructor(
    readonly server: URL,
    private readonly credentials: Credentials,
    readonly namespace: string,
    readonly contextName: string,
    private readonly timeoutMs: number,
  ) {}

  /** Connects as kubectl would with the same flags (see loadKubeConfig); fetches exec credentials now. */
  static async connect(opts: ConnectOptions): Promise<KubeClient> {
    const loaded = await loadKubeConfig(opts)
    const credentials = new Credentials(loaded)
    try {
      await credentials.transport()
    } catch (error) {
      credentials.close()
      throw new KnmeshError(`cannot connect with ${describeSource(loaded.source)}: ${(error as Error).message.split('\n')[0]}`)
    }
    return new KubeClient(new URL(loaded.server), credentials, loaded.namespace, loaded.contextName, opts.requestTimeoutMs ?? 30_000)
  }

  close(): void {
    this.credentials.close()
  }

  /** GET answers shared for the rest of the run, by Accept and URL (see readOnce); undefined: every GET is sent. */
  private memo?: Map<string, Promise<unknown>>

  /**
   * For a read-only verb that gathers its state through several readers (status): from now on a GET of the same
   * URL (path, query and Accept) is sent once and its answer, or its error, is shared; each caller gets its own copy
   * (structuredClone), so no reader sees another's edits. Writes are not affected. Not for a verb that writes: the
   * engine re-reads after a 409 and must see the live objects. Returns this client.
   */
  readOnce(): this {
    this.memo ??= new Map()
    return this
  }

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    if (method !== 'GET' || !this.memo) return this.send<T>(method, path, opts)
    const query = Object.entries(opts.query ?? {})
      .filter(([, v]) => v !== undefined && v !== '')
      .sort(([a], [b]) => a.localeCompare(b))
    const key = `${opts.accept ?? ''} ${path} ${new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)])).toString()}`
    let answer = this.memo.get(key)
    if (!answer) {
      answer = this.send(method, path, opts)
      this.memo.set(key, answer)
    }
    return structuredClone(await answer) as T
  }

  private async send<T>(method: string, path: string, opts: RequestOptions): Promise<T> {
    const url = new URL(path, this.server)
    if (this.server.pathname && this.server.pathname !== '/') url.pathname = this.server.pathname.replace(/\/$/, '') + path.split('?')[0]
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v))
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body))
    const transport = await this.credentials.transport()
    // gzip: as client-go asks (bodyText); the server compresses only large answers.
    const headers: http.OutgoingHttpHeaders = {Accept: opts.accept ?? 'application/json', 'Accept-Encoding': 'gzip', ...transport.headers}
    if (payload) {
      headers['Content-Type'] = opts.contentType ?? 'application/json'
      headers['Content-Length'] = String(payload.length)
    }
    const idempotent = opts.idempotent ?? IDEMPOTENT_METHODS.has(method)
    for (let retries = 0; ; retries++) {
      this.requestCount++
      debug('%s %s', method, url.pathname + url.search)
      let res: Exchange
      try {
        // HTTP/2 when the server offers it (src/kube/h2.ts), else HTTP/1.1 through the keep-alive agent.
        res =
          (await transport.h2?.request(method, url.pathname + url.search, headers, payload, this.timeoutMs)) ??
          (await this.http1(url, method, headers, transport.agent, payload))
      } catch (err) {
        const error = err as NodeJS.ErrnoException
        if (retries < MAX_RETRIES && retryableConnectionError(method, error)) {
          debug('%s %s: %s; retry %d/%d in 1s', method, url.pathname, error.code, retries + 1, MAX_RETRIES)
          await sleep(1000)
          continue
        }
        throw new KubeError(
          `cannot reach the API server at ${this.server.origin} (${describeSource(this.credentials.conn.source)}): ${error.code ?? error.message}`,
        )
      }
      const {status, body} = res
      if (status >= 200 && status < 300) return (body ? JSON.parse(body) : undefined) as T
      const wait = retryWaitMs(status, res.retryAfter, idempotent)
      if (wait !== null && retries < MAX_RETRIES) {
        debug('%s %s: %d with Retry-After %s; retry %d/%d in %d ms', method, url.pathname, status, res.retryAfter, retries + 1, MAX_RETRIES, wait)
        await sleep(wait)
        continue
      }
      const error = await this.toError(status, body, opts.what)
      if (wait !== null) error.message += ` (still ${status} after ${MAX_RETRIES} retries honouring Retry-After)`
      throw error
    }
  }

  private http1(url: URL, method: string, headers: http.OutgoingHttpHeaders, agent: http.Agent, payload: Buffer | undefined): Promise<Exchange> {
    const mod = url.protocol === 'http:' ? http : https
    return new Promise<Exchange>((resolve, reject) => {
      const req = mod.request(url, {method, headers, agent, timeout: this.timeoutMs || undefined}, (r) => {
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => chunks.push(c))
        r.on('end', () => {
          try {
            resolve({status: r.statusCode ?? 0, body: bodyText(chunks, r.headers['content-encoding']), retryAfter: r.headers['retry-after']})
          } catch (error) {
            reject(error)
          }
        })
        r.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new Error(`request timed out after ${this.timeoutMs} ms`)))
      req.on('error', reject)
      if (payload) req.write(payload)
      req.end()
    })
  }

  private async toError(status: number, body: string, what: RequestOptions['what']): Promise<KubeError> {
    let st: {message?: string; reason?: string; details?: {name?: string; kind?: string}}
    try {
      st = JSON.parse(body)
    } catch {
      st = {message: body.trim().split('\n')[0]}
    }
    const res = what?.info ? resourceName(what.info) : 'resource'
    const where = what?.namespace ? ` in namespace ${what.namespace}` : ''
    const message = oneLine(st.message ?? `HTTP ${status}`)
    switch (status) {
      case 401:
        this.credentials.invalidate()
        return new KubeError(
          `unauthorized: the API server at ${this.server.origin} rejected the credentials (${this.credentials.describe()}) of ${describeSource(this.credentials.conn.source)}; log in again`,
          status,
          st.reason,
        )
      case 403:
        if (/"system:anonymous"/.test(message)) return this.anonymous(message, status, st.reason)
        return new ForbiddenError(`forbidden: you cannot ${what?.verb ?? 'access'} ${res}${where} (${message})`, status, st.reason)
      case 404: {
        if (what?.info && !(await this.isServed(what.info))) return this.notServed(what.info)
        return new NotFoundError(message, status, st.reason)
      }
      case 409:
        return new ConflictError(message, status, st.reason)
      case 422:
        return new KubeError(`the API server refused the ${what?.info?.kind ?? 'object'}${what?.name ? ` ${what.name}` : ''}: ${message}`, status, st.reason)
      default:
        return new KubeError(`${what?.verb ?? 'request'} ${res}${where} failed: ${message}`, status, st.reason)
    }
  }

  /** A 403 for system:anonymous: the server saw no credentials it recognises; say what was read and sent. */
  private anonymous(message: string, status: number, reason?: string): ForbiddenError {
    const sent = this.credentials.describe()
    const what = sent.startsWith('none')
      ? `no credentials were used${sent === 'none' ? '' : sent.slice(4)}`
      : `the credentials sent (${sent}) were not recognised`
    return new ForbiddenError(
      `forbidden: the API server at ${this.server.origin} treated the request as anonymous (system:anonymous): ${what}; read ${describeSource(this.credentials.conn.source)} (${message})`,
      status,
      reason,
    )
  }

  notServed(info: KindInfo): NotServedError {
    return new NotServedError(
      `${info.kind} (${resourceName(info)}/${info.version}) is not served by this cluster${info.installedBy ? `: is ${info.installedBy} installed?` : ''}`,
      404,
      'NotServed',
    )
  }

  /** Whether the cluster serves a kind (one discovery request per group/version, cached). */
  async isServed(info: KindInfo): Promise<boolean> {
    const gv = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`
    let p = this.served.get(gv)
    if (!p) {
      p = this.request<{resources?: {name: string}[]}>('GET', gv)
        .then((r) => new Set((r.resources ?? []).map((x) => x.name)))
        .catch((error) => {
          if (error instanceof KubeError && error.status === 404) return new Set<string>()
          throw error
        })
      this.served.set(gv, p)
    }
    return (await p).has(info.plural)
  }

  /** null when absent; `metadataOnly`: PartialObjectMetadata (no spec/data/status), the kind's apiVersion/kind restored. */
  async get<T extends KObject = KObject>(info: KindInfo, name: string, namespace?: string, opts: {metadataOnly?: boolean} = {}): Promise<T | null> {
    try {
      const obj = await this.request<T>('GET', objectPath(info, name, namespace), {
        what: {verb: 'get', info, namespace, name},
        accept: opts.metadataOnly ? METADATA_ACCEPT : undefined,
      })
      if (opts.metadataOnly && obj) {
        obj.apiVersion = info.group ? `${info.group}/${info.version}` : info.version
        obj.kind = info.kind
      }
      return obj
    } catch (error) {
      if (error instanceof NotFoundError) return null
      throw error
    }
  }

  async list<T extends KObject = KObject>(info: KindInfo, namespace?: string, opts: ListOptions = {}): Promise<ListResult<T>> {
    const res = await this.request<ListResult<T>>('GET', collectionPath(info, namespace), {
      query: {labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit, continue: opts.continue},
      what: {verb: 'list', info, namespace},
      accept: opts.metadataOnly ? METADATA_LIST_ACCEPT : undefined,
    })
    // Lists carry no apiVersion/kind per item (metadata lists: meta.k8s.io's); restore the kind's own.
    for (const item of res.items ?? []) {
      if (opts.metadataOnly) {
        item.apiVersion = info.group ? `${info.group}/${info.version}` : info.version
        item.kind = info.kind
      }
      item.apiVersion ??= info.group ? `${info.group}/${info.version}` : info.version
      item.kind ??= info.kind
    }
    res.items ??= []
    return res
  }

  /** Pages through a list (limit/continue), yielding one page at a time. */
  async *pages<T extends KObject = KObject>(info: KindInfo, namespace?: string, opts: ListOptions = {}): AsyncGenerator<T[]> {
    let cont: string | undefined
    do {
      const page: ListResult<T> = await this.list<T>(info, namespace, {limit: 500, ...opts, continue: cont})
      yield page.items
      cont = page.metadata?.continue || undefined
    } while (cont)
  }

  async listAll<T extends KObject = KObject>(info: KindInfo, namespace?: string, opts: ListOptions = {}): Promise<T[]> {
    const all: T[] = []
    for await (const page of this.pages<T>(info, namespace, opts)) all.push(...page)
    return all
  }

  /** Lists, or returns null when the kind is not served (for optional components). */
  async listIfServed<T extends KObject = KObject>(info: KindInfo, namespace?: string, opts: ListOptions = {}): Promise<T[] | null> {
    try {
      return await this.listAll<T>(info, namespace, opts)
    } catch (error) {
      if (error instanceof NotServedError) return null
      throw error
    }
  }

  async create<T extends KObject = KObject>(obj: KObject, opts: WriteOptions = {}): Promise<T> {
    const info = kindOf(obj)
    const ns = obj.metadata.namespace
    return this.request<T>('POST', collectionPath(info, ns), {
      body: obj,
      query: {dryRun: opts.serverDryRun ? 'All' : undefined, fieldManager: 'knmesh'},
      what: {verb: 'create', info, namespace: ns, name: obj.metadata.name},
      accept: opts.metadataOnly ? METADATA_ACCEPT : undefined,
    })
  }

  /** A JSON patch (RFC 6902). Include a resourceVersion op to make it conditional. */
  async patch<T extends KObject = KObject>(
    info: KindInfo,
    name: string,
    namespace: string | undefined,
    ops: JsonPatchOp[],
    opts: WriteOptions = {},
  ): Promise<T> {
    return this.request<T>('PATCH', objectPath(info, name, namespace), {
      body: ops,
      contentType: 'application/json-patch+json',
      query: {dryRun: opts.serverDryRun ? 'All' : undefined, fieldManager: 'knmesh'},
      what: {verb: 'patch', info, namespace, name},
      // Conditioned on a resourceVersion: a repeat after a success is a 409, never a second change.
      idempotent: ops.some((op) => op.path === '/metadata/resourceVersion' && (op.op === 'replace' || op.op === 'test')),
      accept: opts.metadataOnly ? METADATA_ACCEPT : undefined,
    })
  }

  async mergePatch<T extends KObject = KObject>(
    info: KindInfo,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    opts: WriteOptions = {},
  ): Promise<T> {
    return this.request<T>('PATCH', objectPath(info, name, namespace), {
      body: patch,
      contentType: 'application/merge-patch+json',
      query: {dryRun: opts.serverDryRun ? 'All' : undefined, fieldManager: 'knmesh'},
      what: {verb: 'patch', info, namespace, name},
      idempotent: true,
      accept: opts.metadataOnly ? METADATA_ACCEPT : undefined,
    })
  }

  async delete(info: KindInfo, name: string, namespace?: string, opts: WriteOptions & {resourceVersion?: string; uid?: string} = {}): Promise<void> {
    const preconditions: Record<string, string> = {}
    if (opts.resourceVersion) preconditions.resourceVersion = opts.resourceVersion
    if (opts.uid) preconditions.uid = opts.uid
    try {
      await this.request('DELETE', objectPath(info, name, namespace), {
        body: {kind: 'DeleteOptions', apiVersion: 'v1', preconditions, dryRun: opts.serverDryRun ? ['All'] : undefined},
        what: {verb: 'delete', info, namespace, name},
      })
    } catch (error) {
      if (error instanceof NotFoundError) return
      throw error
    }
  }
}

/** "kubeconfig /a:/b, context "x" (user "u", cluster "c")", for messages. */
export function describeSource(s: ConfigSource): string {
  const names = [s.userName && `user "${s.userName}"`, s.clusterName && `cluster "${s.clusterName}"`].filter(Boolean).join(', ')
  return `${s.what}${s.contextName ? `, context "${s.contextName}"` : ''}${names ? ` (${names})` : ''}`
}
