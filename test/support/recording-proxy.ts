import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {gunzipSync} from 'node:zlib'
import YAML from 'yaml'

/** One request seen by the proxy: what knmesh asked for and every byte the API server answered. */
export interface Exchange {
  method: string
  path: string
  accept: string
  /** The request body knmesh sent. */
  request: string
  status: number
  /** The answer's body as text (decompressed when the server sent it gzip-compressed). */
  body: string
  /** The bytes the server sent for the body, as they crossed the wire (compressed or not). */
  bytes: number
  /** The answer's Content-Encoding ('gzip' or ''). */
  encoding: string
}

/**
 * A plain-http loopback reverse proxy in front of the test API server that
 * records every exchange. It reads the server, CA and bearer token of an
 * (admin) kubeconfig and adds the token itself, so knmesh runs with the
 * returned kubeconfig (server http://127.0.0.1:PORT, no credentials) and the
 * test sees the response bodies TLS would hide.
 */
export async function recordingProxy(kubeconfig: string): Promise<{kubeconfig: string; exchanges: Exchange[]; close(): Promise<void>}> {
  const cfg = YAML.parse(readFileSync(kubeconfig, 'utf8'))
  const cluster = cfg.clusters[0].cluster
  const upstream = new URL(cluster.server)
  const ca = readFileSync(cluster['certificate-authority'])
  const token = cfg.users[0].user.token as string
  const agent = new https.Agent({ca, keepAlive: true})
  const exchanges: Exchange[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const headers = {...req.headers, host: upstream.host, authorization: `Bearer ${token}`}
      const up = https.request({host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent}, (ur) => {
        const out: Buffer[] = []
        ur.on('data', (c: Buffer) => out.push(c))
        ur.on('end', () => {
          const body = Buffer.concat(out)
          const encoding = String(ur.headers['content-encoding'] ?? '')
          exchanges.push({
            method: req.method ?? '',
            path: req.url ?? '',
            accept: String(req.headers.accept ?? ''),
            request: Buffer.concat(chunks).toString('utf8'),
            status: ur.statusCode ?? 0,
            body: (encoding === 'gzip' ? gunzipSync(body) : body).toString('utf8'),
            bytes: body.length,
            encoding,
          })
          res.writeHead(ur.statusCode ?? 502, ur.headers)
          res.end(body)
        })
      })
      up.on('error', (e) => {
        res.writeHead(502)
        res.end(String(e))
      })
      up.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'knmesh-proxy-')), 'kubeconfig')
  writeFileSync(
    file,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{name: 'proxy', cluster: {server: `http://127.0.0.1:${port}`}}],
      users: [{name: 'nobody', user: {}}],
      contexts: [{name: 'proxy', context: {cluster: 'proxy', user: 'nobody'}}],
      'current-context': 'proxy',
    }),
    {mode: 0o600},
  )
  return {
    kubeconfig: file,
    exchanges,
    close: () =>
      new Promise<void>((r) => {
        agent.destroy()
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
