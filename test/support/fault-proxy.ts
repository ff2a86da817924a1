/**
 * FaultProxy (test double): a loopback HTTPS proxy in front of the real test API server. For each request it
 * asks `fault` whether to answer it itself — e.g. `429 storage is (re)initializing` with `Retry-After: 1`, as a
 * kube-apiserver does right after a CRD is installed — or to reset the connection; every other request is
 * forwarded unchanged to the real server. It serves the API server's own self-signed certificate, so a copy of
 * the kubeconfig pointing at the proxy verifies with the same CA. Every request is logged in order.
 * `fault` may be async (e.g. it kills the real API server first: ControlPlane.apiserver.kill()). When the real
 * server cannot be reached, the client's connection is reset, as a client talking to it directly would see.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import http2 from 'node:http2'
import https from 'node:https'
import type {Socket} from 'node:net'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {parse, stringify} from 'yaml'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection'])

/** Resets the client's TCP connection: with HTTP/2 the whole session and its socket (request.socket would reset only the stream). */
function resetConnection(req: http2.Http2ServerRequest | import('node:http').IncomingMessage): void {
  if ('stream' in req) req.stream.session?.destroy()
  else req.socket.destroy()
}

/** 'refuse-stream' (HTTP/2 only): RST_STREAM REFUSED_STREAM, the server's "not processed, send it again". */
export type Fault = {status: number; retryAfter?: string; message: string} | 'reset' | 'refuse-stream'

export interface ProxiedRequest {
  method: string
  path: string
  /** 1-based index of this request among all the proxy saw. */
  n: number
}

export interface LogEntry extends ProxiedRequest {
  /** The status sent back; 0 for a reset connection. */
  status: number
  faulted: boolean
  /** ms since the proxy started. */
  at: number
  /** '2.0' or '1.1': the protocol the client spoke. */
  httpVersion: string
}

export interface FaultProxy {
  kubeconfig: string
  log: LogEntry[]
  /** TLS connections the clients opened so far. */
  connections(): number
  close(): Promise<void>
}

export async function startFaultProxy(
  kubeconfig: string,
  fault: (r: ProxiedRequest) => Fault | undefined | Promise<Fault | undefined>,
  opts: {http1Only?: boolean} = {},
): Promise<FaultProxy> {
  const kc = parse(readFileSync(kubeconfig, 'utf8'))
  const cluster = kc.clusters[0].cluster
  const upstream = new URL(cluster.server)
  const caFile: string = cluster['certificate-authority']
  const ca = readFileSync(caFile)
  // kube-apiserver --cert-dir writes apiserver.crt (the CA in the kubeconfig: self-signed) and apiserver.key.
  const key = readFileSync(join(dirname(caFile), 'apiserver.key'))
  const log: LogEntry[] = []
  const t0 = Date.now()
  let n = 0
  const upstreamAgent = new https.Agent({ca, keepAlive: true})

  const handler = async (
    req: http2.Http2ServerRequest | import('node:http').IncomingMessage,
    res: http2.Http2ServerResponse | import('node:http').ServerResponse,
  ) => {
    const r = {method: req.method ?? 'GET', path: req.url ?? '/', n: ++n}
    const httpVersion = req.httpVersion
    const f = await fault(r)
    if (f === 'reset') {
      log.push({...r, status: 0, faulted: true, at: Date.now() - t0, httpVersion})
      resetConnection(req)
      return
    }
    if (f === 'refuse-stream') {
      log.push({...r, status: 0, faulted: true, at: Date.now() - t0, httpVersion})
      // HTTP/1.1 has no such answer: the connection is reset instead.
      if ('stream' in req) req.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM)
      else resetConnection(req)
      return
    }
    if (f) {
      req.resume()
      log.push({...r, status: f.status, faulted: true, at: Date.now() - t0, httpVersion})
      const body = JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: f.message,
        reason: f.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable',
        code: f.status,
      })
      res.writeHead(f.status, {'Content-Type': 'application/json', ...(f.retryAfter === undefined ? {} : {'Retry-After': f.retryAfter})})
      res.end(body)
      return
    }
    // HTTP/2's pseudo-headers and HTTP/1.1's connection headers do not cross protocols.
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(':')))
    const up = https.request(new URL(r.path, upstream), {method: r.method, headers: {...headers, host: upstream.host}, agent: upstreamAgent}, (ur) => {
      log.push({...r, status: ur.statusCode ?? 0, faulted: false, at: Date.now() - t0, httpVersion})
      const back = Object.fromEntries(Object.entries(ur.headers).filter(([k]) => !HOP_BY_HOP.has(k)))
      res.writeHead(ur.statusCode ?? 502, back)
      ur.pipe(res as NodeJS.WritableStream)
    })
    up.on('error', () => {
      // The real server is gone (killed, restarting): reset the client's connection, as the server's own would be.
      log.push({...r, status: 0, faulted: false, at: Date.now() - t0, httpVersion})
      resetConnection(req)
    })
    req.pipe(up)
  }
  const server = opts.http1Only ? https.createServer({cert: ca, key}, handler) : http2.createSecureServer({cert: ca, key, allowHTTP1: true}, handler)
  const sockets = new Set<Socket>()
  let connections = 0
  server.on('secureConnection', (s: Socket) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  cluster.server = `https://127.0.0.1:${port}`
  const dir = mkdtempSync(join(tmpdir(), 'knmesh-fault-proxy-'))
  const proxied = join(dir, 'kubeconfig')
  writeFileSync(proxied, stringify(kc), {mode: 0o600})
  return {
    kubeconfig: proxied,
    log,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        upstreamAgent.destroy()
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
