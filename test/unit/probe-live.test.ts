import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseTermination, PROBE_SCRIPT, probePod, verdictOf} from '../../src/mesh/probe-live.js'

describe('probe pod', () => {
  const pod = probePod({namespace: 'team-alpha-1', url: 'http://test-webapp.team-bravo-1:80', timeoutSeconds: 20})
  it('is created in --from with sidecar injection, waiting for the proxy', () => {
    expect(pod.metadata.namespace).toBe('team-alpha-1')
    expect(pod.metadata.generateName).toBe('knmesh-probe-')
    expect(pod.metadata.labels).toMatchObject({'knmesh.openshift.io/probe': 'true', 'app.kubernetes.io/managed-by': 'knmesh'})
    expect(pod.metadata.annotations).toEqual({'sidecar.istio.io/inject': 'true', 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}'})
  })
  it('is locked down: non-root, no privilege escalation, no capabilities, read-only root, limits, a deadline, never restarts', () => {
    expect(pod.spec.restartPolicy).toBe('Never')
    expect(pod.spec.activeDeadlineSeconds).toBe(50)
    expect(pod.spec.automountServiceAccountToken).toBe(false)
    expect(pod.spec.securityContext).toEqual({runAsNonRoot: true, seccompProfile: {type: 'RuntimeDefault'}})
    const c = pod.spec.containers[0]
    expect(c.securityContext).toEqual({allowPrivilegeEscalation: false, capabilities: {drop: ['ALL']}, runAsNonRoot: true, readOnlyRootFilesystem: true})
    expect(c.resources).toEqual({requests: {cpu: '10m', memory: '16Mi'}, limits: {cpu: '100m', memory: '64Mi'}})
    expect(c.env).toEqual([
      {name: 'PROBE_URL', value: 'http://test-webapp.team-bravo-1:80'},
      {name: 'PROBE_TIMEOUT', value: '20'},
    ])
  })
})

describe('termination message', () => {
  it('parses status, curl exit and body head', () => {
    expect(parseTermination('status=403 curl=0\nRBAC: access denied')).toEqual({status: '403', curlExit: 0, body: 'RBAC: access denied', verdict: 'deny'})
    expect(parseTermination('status=200 curl=0\nHello Serverless!\n')).toMatchObject({status: '200', verdict: 'allow', body: 'Hello Serverless!'})
    expect(parseTermination('status=000 curl=56\ncurl: (56) Recv failure: Connection reset by peer')).toMatchObject({
      status: '000',
      curlExit: 56,
      verdict: 'deny',
    })
    expect(parseTermination('status=000 curl=6\ncurl: (6) Could not resolve host')).toMatchObject({verdict: 'unknown'})
    expect(parseTermination(undefined, 137)).toMatchObject({status: '000', curlExit: 137, verdict: 'unknown'})
  })
  it('reads HTTP answers: 403 denied, other answers through, 5xx undetermined', () => {
    expect(verdictOf('404', 0, '')).toBe('allow')
    expect(verdictOf('503', 0, 'no healthy upstream')).toBe('unknown')
    expect(verdictOf('403', 0, 'RBAC: access denied')).toBe('deny')
  })
})

describe('the probe script, run by sh with the real curl against a local server', () => {
  let server: Server
  let base = ''
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/deny') res.writeHead(403, {'content-type': 'text/plain'}).end('RBAC: access denied')
      else res.writeHead(200, {'content-type': 'text/plain'}).end('Hello Serverless!\n' + 'x'.repeat(2000))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as {port: number}).port}`
  })
  afterAll(() => server.close())

  /** Runs the pod's script with the termination log redirected to a temp file. */
  function runScript(url: string): Promise<{code: number; message: string}> {
    const log = join(mkdtempSync(join(tmpdir(), 'knmesh-probe-')), 'termination-log')
    const script = PROBE_SCRIPT.replace('/dev/termination-log', log).replace('http://127.0.0.1:15020/quitquitquit', `${base}/quitquitquit`)
    return new Promise((resolve) => {
      execFile('sh', ['-c', script], {env: {...process.env, PROBE_URL: url, PROBE_TIMEOUT: '5'}}, (err) => {
        resolve({code: (err as {code?: number} | null)?.code ?? 0, message: readFileSync(log, 'utf8')})
      })
    })
  }

  it('writes "status=403" and the body for a denied request', async () => {
    const r = await runScript(`${base}/deny`)
    expect(r.code).toBe(0)
    expect(parseTermination(r.message)).toEqual({status: '403', curlExit: 0, body: 'RBAC: access denied', verdict: 'deny'})
  })

  it('writes "status=200" and at most 512 bytes of the body', async () => {
    const r = await runScript(`${base}/ok`)
    expect(r.message.startsWith('status=200 curl=0\nHello Serverless!')).toBe(true)
    expect(Buffer.byteLength(r.message.split('\n').slice(1).join('\n'))).toBeLessThanOrEqual(512)
    expect(parseTermination(r.message).verdict).toBe('allow')
  })

  it('writes "status=000" and curl\'s exit code when nothing answers, and exits with it', async () => {
    const r = await runScript('http://127.0.0.1:1/')
    expect(r.code).toBe(7)
    expect(parseTermination(r.message)).toMatchObject({status: '000', curlExit: 7})
  })
})
