import type http from 'node:http'
import http2 from 'node:http2'
import {isIP} from 'node:net'
import tls from 'node:tls'
import {debug} from '../debug.js'
import {bodyText, type Exchange} from './exchange.js'

/** TLS settings of the connection (the cluster's CA, the client certificate, tls-server-name, insecure-skip-tls-verify). */
export interface H2TlsOptions {
  ca?: Buffer
  cert?: Buffer | string
  key?: Buffer | string
  rejectUnauthorized: boolean
  servername?: string
}

/**
 * Whether HTTP/2 is turned off: client-go's DISABLE_HTTP2 environment variable (any non-empty value;
 * k8s.io/apimachinery pkg/util/net/http.go SetTransportDefaults), so one switch serves kubectl and knmesh.
 */
export function http2Disabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.DISABLE_HTTP2)
}

/**
 * A connection error of a stream whose session went away (reset, closed, GOAWAY): reported as
 * ECONNRESET, as the HTTP/1.1 path reports a reset socket, so the retry rule and the messages are one.
 * A stream the server refused before processing it (REFUSED_STREAM, e.g. a GOAWAY's unprocessed streams)
 * keeps the code ERR_HTTP2_REFUSED_STREAM: it may be sent again whatever its method.
 */
function connectionError(error: NodeJS.ErrnoException | undefined, refused: boolean): NodeJS.ErrnoException {
  if (refused) return Object.assign(new Error('the API server refused the stream before processing it'), {code: 'ERR_HTTP2_REFUSED_STREAM'})
  const code = error?.code
  if (code && !code.startsWith('ERR_HTTP2')) return error!
  return Object.assign(new Error(error?.message ?? 'connection closed'), {code: 'ECONNRESET'})
}

/**
 * HTTP/2 to the API server, as client-go speaks it: one TLS connection, the requests multiplexed on it
 * (fewer connections and less CPU on both ends than one HTTP/1.1 connection per request in flight).
 * The protocol is chosen by ALPN on the first connection: a server (or a TLS-terminating proxy in front
 * of it) that does not offer h2 gets HTTP/1.1 for the rest of the run (`request` then resolves null and
 * the caller uses its HTTP/1.1 agent). A session that closes (reset, GOAWAY, idle timeout) is replaced
 * by a new one for the next request. The session keeps the process alive only while a request is in
 * flight. Not used through a proxy (proxy-url, HTTPS_PROXY) nor with DISABLE_HTTP2 set.
 */
export class H2Connection {
  /** undefined: not tried yet; null: the server chose HTTP/1.1. */
  private session?: Promise<http2.ClientHttp2Session | null>
  private h1Only = false
  /** Requests in flight per session (a new session may start while the old one's last streams settle). */
  private readonly inFlight = new Map<http2.ClientHttp2Session, number>()

  constructor(
    private readonly origin: URL,
    private readonly tlsOptions: H2TlsOptions,
  ) {}

  /** The live session, connecting (and negotiating) first when needed; null once the server chose HTTP/1.1. */
  private connect(timeoutMs: number): Promise<http2.ClientHttp2Session | null> {
    if (this.h1Only) return Promise.resolve(null)
    if (this.session) return this.session
    const p = new Promise<http2.ClientHttp2Session | null>((resolve, reject) => {
      const port = Number(this.origin.port || 443)
      const host = this.origin.hostname.replace(/^\[|\]$/g, '')
      const socket = tls.connect({
        host,
        port,
        ...this.tlsOptions,
        // SNI: tls-server-name, else the host when it is a name (never an IP address), as Node's https does.
        servername: this.tlsOptions.servername ?? (isIP(host) ? undefined : host),
        ALPNProtocols: ['h2', 'http/1.1'],
      })
      socket.once('error', reject)
      if (timeoutMs) socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`request timed out after ${timeoutMs} ms`)))
      socket.once('secureConnect', () => {
        socket.off('error', reject)
        socket.setTimeout(0)
        if (socket.alpnProtocol !== 'h2') {
          debug('HTTP/2 not offered by %s (ALPN %s): HTTP/1.1', this.origin.origin, socket.alpnProtocol || 'none')
          this.h1Only = true
          socket.destroy()
          resolve(null)
          return
        }
        const session = http2.connect(this.origin.origin, {createConnection: () => socket})
        const forget = () => {
          if (this.session === p) this.session = undefined
        }
        session.on('close', forget)
        session.on('goaway', forget)
        session.on('error', (error) => {
          debug('HTTP/2 session to %s: %s', this.origin.origin, (error as NodeJS.ErrnoException).code ?? error.message)
          forget()
        })
        session.unref()
        resolve(session)
      })
    })
    this.session = p
    // A failed connection is not kept: the next request tries again (and reports its own error).
    p.catch(() => {
      if (this.session === p) this.session = undefined
    })
    return p
  }

  /**
   * Sends one request; resolves its status, body and Retry-After, or null when the server speaks HTTP/1.1
   * only. Rejects with the connection's error (code ECONNRESET when the session went away mid-request,
   * ERR_HTTP2_REFUSED_STREAM when the server did not process it) or a timeout after `timeoutMs` (0: none).
   */
  async request(
    method: string,
    pathAndQuery: string,
    headers: http.OutgoingHttpHeaders,
    payload: Buffer | undefined,
    timeoutMs: number,
  ): Promise<Exchange | null> {
    const session = await this.connect(timeoutMs)
    if (!session) return null
    return new Promise<Exchange>((resolve, reject) => {
      const h: http2.OutgoingHttpHeaders = {':method': method, ':path': pathAndQuery}
      for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k.toLowerCase()] = v
      let stream: http2.ClientHttp2Stream
      try {
        stream = session.request(h, {endStream: !payload})
      } catch (error) {
        // The session closed between connect() and now.
        if (this.session) this.session = undefined
        reject(connectionError(error as NodeJS.ErrnoException, false))
        return
      }
      const n = (this.inFlight.get(session) ?? 0) + 1
      this.inFlight.set(session, n)
      if (n === 1) session.ref()
      let settled = false
      const done = () => {
        if (settled) return false
        settled = true
        const left = this.inFlight.get(session)! - 1
        if (left > 0) this.inFlight.set(session, left)
        else {
          this.inFlight.delete(session)
          if (!session.destroyed) session.unref()
        }
        return true
      }
      let status = 0
      let retryAfter: string | string[] | undefined
      let encoding: string | string[] | undefined
      const chunks: Buffer[] = []
      stream.on('response', (r) => {
        status = Number(r[':status'] ?? 0)
        retryAfter = r['retry-after']
        encoding = r['content-encoding']
      })
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        // Ended before any response headers: the server reset the stream.
        if (!status) {
          if (done()) reject(connectionError(undefined, stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM))
        } else if (done()) {
          try {
            resolve({status, body: bodyText(chunks, encoding), retryAfter})
          } catch (error) {
            reject(error)
          }
        }
      })
      stream.on('error', (error: NodeJS.ErrnoException) => {
        if (done()) reject(connectionError(error, stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM))
      })
      stream.on('close', () => {
        // Closed without an end or an error: reset by the server or the session went away.
        if (done()) reject(connectionError(undefined, stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM))
      })
      if (timeoutMs) {
        stream.setTimeout(timeoutMs, () => {
          if (done()) reject(new Error(`request timed out after ${timeoutMs} ms`))
          stream.close(http2.constants.NGHTTP2_CANCEL)
        })
      }
      if (payload) stream.end(payload)
    })
  }

  close(): void {
    const p = this.session
    this.session = undefined
    void p?.then((s) => s?.close()).catch(() => undefined)
  }
}
