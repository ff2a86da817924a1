/**
 * Connection matrix: each way of reaching the API server, run with kubectl (`kubectl auth whoami -o json`)
 * and with knmesh (`knmesh whoami -o json`) against a control plane of this file's own that also accepts
 * client certificates (--client-ca-file). Both must get the same identity from the server
 * (SelfSubjectReview), or fail the same way.
 */
import {execa} from 'execa'
import {chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import forge from 'node-forge'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {BIN} from '../support/cli.js'
import {apiRequest, ensureBinaries, startControlPlane, type ControlPlane} from '../support/controlplane.js'

interface UserInfo {
  username?: string
  uid?: string
  groups?: string[]
  extra?: Record<string, string[]>
}
interface Outcome {
  exitCode: number
  stderr: string
  user?: UserInfo
}

let cp: ControlPlane
let work: string
let emptyHome: string
let clientCa: {cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey}
const results: string[] = []

function pem(c: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(c)
}

/** A client certificate signed by the API server's --client-ca-file: CN = user, O = groups. */
function clientCert(cn: string, orgs: string[]): {cert: string; key: string} {
  const keys = forge.pki.rsa.generateKeyPair(2048)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = '0' + forge.util.bytesToHex(forge.random.getBytesSync(8))
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000)
  cert.setSubject([{name: 'commonName', value: cn}, ...orgs.map((o) => ({name: 'organizationName', value: o}))])
  cert.setIssuer(clientCa.cert.subject.attributes)
  cert.setExtensions([
    {name: 'basicConstraints', cA: false},
    {name: 'keyUsage', digitalSignature: true, keyEncipherment: true},
    {name: 'extKeyUsage', clientAuth: true},
  ])
  cert.sign(clientCa.key, forge.md.sha256.create())
  return {cert: pem(cert), key: forge.pki.privateKeyToPem(keys.privateKey)}
}

function makeCa(): {cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey} {
  const keys = forge.pki.rsa.generateKeyPair(2048)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = '01'
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000)
  const subject = [{name: 'commonName', value: 'knmesh-test-client-ca'}]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    {name: 'basicConstraints', cA: true, critical: true},
    {name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true},
  ])
  cert.sign(keys.privateKey, forge.md.sha256.create())
  return {cert, key: keys.privateKey}
}

/** Writes `<work>/<name>/config` with one cluster, user and context ("ctx"); returns its path. */
function kubeconfig(
  name: string,
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
  extra: {files?: Record<string, string>; mode?: number} = {},
): string {
  const dir = join(work, name)
  mkdirSync(dir, {recursive: true})
  for (const [f, text] of Object.entries(extra.files ?? {})) {
    mkdirSync(join(dir, f, '..'), {recursive: true})
    writeFileSync(join(dir, f), text, {mode: extra.mode ?? 0o600})
  }
  const file = join(dir, 'config')
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{name: `${name}-cluster`, cluster: {server: cp.server, ...cluster}}],
      users: [{name: `${name}-user`, user}],
      contexts: [{name: `${name}-ctx`, context: {cluster: `${name}-cluster`, user: `${name}-user`}}],
      'current-context': `${name}-ctx`,
    }),
  )
  return file
}

interface Run {
  kubeconfig?: string
  args?: string[]
  env?: Record<string, string>
  cwd?: string
  /** Wrap both commands (e.g. in a mount namespace). */
  wrap?: string[]
}

async function run(tool: 'kubectl' | 'knmesh', r: Run): Promise<Outcome> {
  const argv = tool === 'kubectl' ? [cp.kubectl, 'auth', 'whoami', '-o', 'json', ...(r.args ?? [])] : ['node', BIN, 'whoami', '-o', 'json', ...(r.args ?? [])]
  const [cmd, ...rest] = [...(r.wrap ?? []), ...argv]
  const p = await execa(cmd, rest, {
    reject: false,
    stdin: 'ignore',
    cwd: r.cwd ?? work,
    env: {KUBECONFIG: r.kubeconfig ?? '', HOME: emptyHome, NO_COLOR: '1', KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '', ...r.env},
    extendEnv: true,
    timeout: 60_000,
  })
  let user: UserInfo | undefined
  if (p.exitCode === 0) user = (JSON.parse(p.stdout) as {status: {userInfo: UserInfo}}).status.userInfo
  return {exitCode: p.exitCode ?? -1, stderr: p.stderr, user}
}

/** Runs both tools; both must see `expected` (username, and groups/uid when given) and the same whole userInfo. */
async function same(row: string, r: Run, expected: UserInfo): Promise<{kubectl: Outcome; knmesh: Outcome}> {
  const [k, n] = await Promise.all([run('kubectl', r), run('knmesh', r)])
  const ok = k.exitCode === 0 && n.exitCode === 0 && JSON.stringify(k.user) === JSON.stringify(n.user)
  results.push(
    `${row.padEnd(44)} kubectl: ${k.exitCode === 0 ? k.user!.username : `exit ${k.exitCode}`}  knmesh: ${n.exitCode === 0 ? n.user!.username : `exit ${n.exitCode}`}  ${ok ? 'same' : 'DIFFERENT'}`,
  )
  expect(k.exitCode, `kubectl: ${k.stderr}`).toBe(0)
  expect(n.exitCode, `knmesh: ${n.stderr}`).toBe(0)
  expect(n.user).toEqual(k.user)
  expect(k.user).toMatchObject(expected)
  return {kubectl: k, knmesh: n}
}

/** Both tools must fail; knmesh with exit 4 and a message matching `knmeshSays`. */
async function bothFail(row: string, r: Run, kubectlSays: RegExp, knmeshSays: RegExp): Promise<{kubectl: Outcome; knmesh: Outcome}> {
  const [k, n] = await Promise.all([run('kubectl', r), run('knmesh', r)])
  results.push(
    `${row.padEnd(44)} kubectl: exit ${k.exitCode}  knmesh: exit ${n.exitCode}  ${k.exitCode !== 0 && n.exitCode !== 0 ? 'both refused' : 'DIFFERENT'}`,
  )
  expect(k.exitCode).not.toBe(0)
  expect(k.stderr).toMatch(kubectlSays)
  expect(n.exitCode, n.stderr).toBe(4)
  expect(n.stderr).toMatch(knmeshSays)
  expect(n.stderr.trim().split('\n')).toHaveLength(1)
  return {kubectl: k, knmesh: n}
}

const ADMIN: UserInfo = {username: 'admin', uid: 'admin-uid', groups: ['system:masters', 'system:authenticated']}
const RESTRICTED: UserInfo = {username: 'restricted', uid: 'restricted-uid', groups: ['system:authenticated']}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'knmesh-connect-'))
  emptyHome = mkdtempSync(join(tmpdir(), 'knmesh-home-'))
  clientCa = makeCa()
  const caFile = join(work, 'client-ca.crt')
  writeFileSync(caFile, pem(clientCa.cert))
  const {binDir} = await ensureBinaries()
  cp = await startControlPlane({binDir, apiserverArgs: [`--client-ca-file=${caFile}`]})
}, 180_000)

afterAll(async () => {
  process.stderr.write(`\nconnection matrix (kubectl auth whoami vs knmesh whoami):\n${results.join('\n')}\n`)
  await cp?.stop()
})

describe('connection matrix: kubectl and knmesh see the same identity', {timeout: 120_000}, () => {
  it('token in the kubeconfig', async () => {
    await same('token', {kubeconfig: kubeconfig('token', {'certificate-authority': cp.caFile}, {token: cp.adminToken})}, ADMIN)
  })

  it('tokenFile (relative to the kubeconfig, trailing newline)', async () => {
    const kc = kubeconfig('tokenfile', {'certificate-authority': cp.caFile}, {tokenFile: 'secret/token'}, {files: {'secret/token': `${cp.restrictedToken}\n`}})
    await same('tokenFile', {kubeconfig: kc}, RESTRICTED)
  })

  it('client certificate and key files (relative paths)', async () => {
    const {cert, key} = clientCert('cert-user', ['cert-group'])
    const kc = kubeconfig(
      'certfiles',
      {'certificate-authority': cp.caFile},
      {'client-certificate': 'pki/user.crt', 'client-key': 'pki/user.key'},
      {files: {'pki/user.crt': cert, 'pki/user.key': key}},
    )
    await same('client-certificate/client-key files', {kubeconfig: kc}, {username: 'cert-user', groups: ['cert-group', 'system:authenticated']})
  })

  it('client certificate and key data', async () => {
    const {cert, key} = clientCert('cert-data-user', ['g1', 'g2'])
    const b64 = (s: string) => Buffer.from(s).toString('base64')
    const kc = kubeconfig(
      'certdata',
      {'certificate-authority-data': b64(readFileSync(cp.caFile, 'utf8'))},
      {'client-certificate-data': b64(cert), 'client-key-data': b64(key)},
    )
    await same('client-certificate-data/client-key-data', {kubeconfig: kc}, {username: 'cert-data-user', groups: ['g1', 'g2', 'system:authenticated']})
  })

  it('exec plugin, client.authentication.k8s.io/v1 (token, env, interactiveMode Never)', async () => {
    const script = `#!/bin/sh\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$PLUGIN_TOKEN"\n`
    const kc = kubeconfig(
      'execv1',
      {'certificate-authority': cp.caFile},
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: './bin/token-plugin',
          interactiveMode: 'Never',
          env: [{name: 'PLUGIN_TOKEN', value: cp.restrictedToken}],
        },
      },
      {files: {'bin/token-plugin': script}, mode: 0o755},
    )
    await same('exec v1 (token)', {kubeconfig: kc}, RESTRICTED)
  })

  it('exec plugin, client.authentication.k8s.io/v1beta1 (client certificate, args)', async () => {
    const {cert, key} = clientCert('exec-cert-user', ['exec-group'])
    const cred = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      kind: 'ExecCredential',
      status: {clientCertificateData: cert, clientKeyData: key},
    })
    const kc = kubeconfig(
      'execv1beta1',
      {'certificate-authority': cp.caFile},
      {exec: {apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'sh', args: ['-c', 'cat "$0"', join(work, 'execv1beta1', 'cred.json')]}},
      {files: {'cred.json': cred}},
    )
    await same('exec v1beta1 (client certificate)', {kubeconfig: kc}, {username: 'exec-cert-user', groups: ['exec-group', 'system:authenticated']})
  })

  it('exec credentials are cached until expirationTimestamp (one plugin run for a verb of many requests)', async () => {
    const counter = join(work, 'exec-count')
    const script = `#!/bin/sh\necho run >> "${counter}"\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' "$PLUGIN_TOKEN" "$EXPIRES"\n`
    const runs = async (expires: string): Promise<{plugin: number; requests: number}> => {
      writeFileSync(counter, '')
      const kc = kubeconfig(
        `execcache-${expires.slice(0, 4)}`,
        {'certificate-authority': cp.caFile},
        {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: './plugin',
            interactiveMode: 'IfAvailable',
            env: [
              {name: 'PLUGIN_TOKEN', value: cp.adminToken},
              {name: 'EXPIRES', value: expires},
            ],
          },
        },
        {files: {plugin: script}, mode: 0o755},
      )
      // precheck on a cluster without the operators' CRDs: several discovery requests.
      const p = await execa('node', [BIN, 'precheck'], {reject: false, stdin: 'ignore', env: {KUBECONFIG: kc, HOME: emptyHome, DEBUG: 'knmesh'}})
      const requests = p.stderr.split('\n').filter((l) => /^knmesh (GET|POST) /.test(l)).length
      return {plugin: readFileSync(counter, 'utf8').split('\n').filter(Boolean).length, requests}
    }
    const future = await runs(new Date(Date.now() + 3600_000).toISOString())
    expect(future.requests).toBeGreaterThan(2)
    expect(future.plugin).toBe(1)
    // Already expired: run again for every request.
    const past = await runs('2000-01-01T00:00:00Z')
    // One run when connecting (credentials are checked before the first request), then one per request.
    expect(past.plugin).toBe(past.requests + 1)
    results.push(
      `${'exec cache (precheck, many requests)'.padEnd(44)} knmesh: ${future.plugin} plugin run for ${future.requests} requests; expired: ${past.plugin} for ${past.requests}`,
    )
  })

  it('certificate-authority relative to the kubeconfig file, run from another folder', async () => {
    const kc = kubeconfig(
      'relca',
      {'certificate-authority': 'ca/server.crt'},
      {token: cp.adminToken},
      {files: {'ca/server.crt': readFileSync(cp.caFile, 'utf8')}},
    )
    await same('relative certificate-authority', {kubeconfig: kc, cwd: emptyHome}, ADMIN)
  })

  it('KUBECONFIG with several files: first file wins per name, current-context from the first that sets it', async () => {
    const a = join(work, 'merge-a')
    const b = join(work, 'merge-b')
    writeFileSync(
      a,
      stringify({users: [{name: 'shared', user: {token: cp.restrictedToken}}], contexts: [{name: 'm', context: {cluster: 'only-in-b', user: 'shared'}}]}),
    )
    writeFileSync(
      b,
      stringify({
        clusters: [{name: 'only-in-b', cluster: {server: cp.server, 'certificate-authority': cp.caFile}}],
        users: [{name: 'shared', user: {token: cp.adminToken}}],
        contexts: [{name: 'm', context: {cluster: 'only-in-b', user: 'nobody'}}],
        'current-context': 'm',
      }),
    )
    await same('merged KUBECONFIG (a:missing:b)', {kubeconfig: [a, join(work, 'missing'), b].join(delimiter)}, RESTRICTED)
  })

  it('--as, --as-group (twice), --as-uid', async () => {
    const kc = kubeconfig('impersonate', {'certificate-authority': cp.caFile}, {token: cp.adminToken})
    await same(
      '--as/--as-group/--as-uid',
      {kubeconfig: kc, args: ['--as', 'alice', '--as-group', 'devs', '--as-group', 'ops', '--as-uid', 'alice-uid']},
      {username: 'alice', uid: 'alice-uid', groups: ['devs', 'ops', 'system:authenticated']},
    )
  })

  it('impersonation from the kubeconfig (as, as-groups)', async () => {
    const kc = kubeconfig('impersonate-kc', {'certificate-authority': cp.caFile}, {token: cp.adminToken, as: 'bob', 'as-groups': ['g-bob']})
    await same('kubeconfig as/as-groups', {kubeconfig: kc}, {username: 'bob', groups: ['g-bob', 'system:authenticated']})
  })

  it('--server, --token and --certificate-authority with no kubeconfig at all', async () => {
    await same(
      '--server/--token/--certificate-authority',
      {args: ['--server', cp.server, '--token', cp.adminToken, '--certificate-authority', cp.caFile]},
      ADMIN,
    )
  })

  it('--token and --user/--cluster override the context', async () => {
    const file = join(work, 'override')
    writeFileSync(
      file,
      stringify({
        clusters: [
          {name: 'dead', cluster: {server: 'https://127.0.0.1:1', 'certificate-authority': cp.caFile}},
          {name: 'live', cluster: {server: cp.server, 'certificate-authority': cp.caFile}},
        ],
        users: [
          {name: 'admin', user: {token: cp.adminToken}},
          {name: 'restricted', user: {token: cp.restrictedToken}},
        ],
        contexts: [{name: 'c', context: {cluster: 'dead', user: 'admin'}}],
        'current-context': 'c',
      }),
    )
    await same('--cluster/--user', {kubeconfig: file, args: ['--cluster', 'live', '--user', 'restricted']}, RESTRICTED)
    await same('--cluster + --token', {kubeconfig: file, args: ['--cluster', 'live', '--token', cp.restrictedToken]}, RESTRICTED)
  })

  it('--insecure-skip-tls-verify (and insecure-skip-tls-verify in the kubeconfig); without either, both refuse the unknown CA', async () => {
    const kc = kubeconfig('noca', {}, {token: cp.adminToken})
    await bothFail('no CA, no insecure: refused', {kubeconfig: kc}, /x509|certificate/, /cannot reach the API server.*(UNABLE_TO_VERIFY|SELF_SIGNED|CERT)/)
    await same('--insecure-skip-tls-verify', {kubeconfig: kc, args: ['--insecure-skip-tls-verify']}, ADMIN)
    await same('kubeconfig insecure-skip-tls-verify', {kubeconfig: kubeconfig('insecure', {'insecure-skip-tls-verify': true}, {token: cp.adminToken})}, ADMIN)
  })

  it('--tls-server-name and tls-server-name: a name in the server certificate works, another is refused by both', async () => {
    const kc = kubeconfig('sni', {'certificate-authority': cp.caFile}, {token: cp.adminToken})
    await same('--tls-server-name kubernetes.default', {kubeconfig: kc, args: ['--tls-server-name', 'kubernetes.default']}, ADMIN)
    await bothFail(
      '--tls-server-name wrong.example: refused',
      {kubeconfig: kc, args: ['--tls-server-name', 'wrong.example']},
      /wrong\.example/,
      /cannot reach the API server.*ERR_TLS_CERT_ALTNAME_INVALID/,
    )
    const kcWrong = kubeconfig('sni-kc', {'certificate-authority': cp.caFile, 'tls-server-name': 'wrong.example'}, {token: cp.adminToken})
    await bothFail('kubeconfig tls-server-name wrong: refused', {kubeconfig: kcWrong}, /wrong\.example/, /ERR_TLS_CERT_ALTNAME_INVALID/)
  })

  it('proxy-url: both go through the HTTP CONNECT proxy', async () => {
    const connects: string[] = []
    const proxy = net.createServer((sock) => {
      sock.once('data', (head: Buffer) => {
        const m = /^CONNECT (\S+):(\d+) HTTP/.exec(head.toString('latin1'))
        if (!m) return sock.destroy()
        connects.push(`${m[1]}:${m[2]}`)
        const up = net.connect(Number(m[2]), m[1], () => {
          sock.write('HTTP/1.1 200 Connection established\r\n\r\n')
          up.pipe(sock)
          sock.pipe(up)
        })
        up.on('error', () => sock.destroy())
        sock.on('error', () => up.destroy())
      })
    })
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()))
    try {
      const port = (proxy.address() as net.AddressInfo).port
      const kc = kubeconfig('proxy', {'certificate-authority': cp.caFile, 'proxy-url': `http://127.0.0.1:${port}`}, {token: cp.adminToken})
      const target = new URL(cp.server).host
      const k = await run('kubectl', {kubeconfig: kc})
      const viaKubectl = connects.splice(0).filter((c) => c === target).length
      const n = await run('knmesh', {kubeconfig: kc})
      const viaKnmesh = connects.splice(0).filter((c) => c === target).length
      results.push(
        `${'proxy-url (HTTP CONNECT)'.padEnd(44)} kubectl: ${k.user?.username ?? `exit ${k.exitCode}`} (${viaKubectl} CONNECT)  knmesh: ${n.user?.username ?? `exit ${n.exitCode}`} (${viaKnmesh} CONNECT)`,
      )
      expect(k.exitCode, k.stderr).toBe(0)
      expect(n.exitCode, n.stderr).toBe(0)
      expect(n.user).toEqual(k.user)
      expect(viaKubectl).toBeGreaterThan(0)
      expect(viaKnmesh).toBeGreaterThan(0)
    } finally {
      proxy.close()
    }
  })

  it('in-cluster service account (KUBERNETES_SERVICE_HOST/PORT + /var/run/secrets/kubernetes.io/serviceaccount, in a private mount namespace)', async () => {
    const admin = (o: Parameters<typeof apiRequest>[1]) => apiRequest(cp.server, {caFile: cp.caFile, token: cp.adminToken, ...o})
    const sa = await admin({
      method: 'POST',
      path: '/api/v1/namespaces/default/serviceaccounts',
      body: {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'incluster'}},
    })
    expect([201, 409]).toContain(sa.status)
    const tr = await admin({
      method: 'POST',
      path: '/api/v1/namespaces/default/serviceaccounts/incluster/token',
      body: {apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {expirationSeconds: 3600}},
    })
    expect(tr.status, tr.body).toBe(201)
    const src = join(work, 'sa-src')
    mkdirSync(src, {recursive: true})
    writeFileSync(join(src, 'token'), (JSON.parse(tr.body) as {status: {token: string}}).status.token)
    copyFileSync(cp.caFile, join(src, 'ca.crt'))
    writeFileSync(join(src, 'namespace'), 'default')
    const wrapper = join(work, 'in-pod.sh')
    writeFileSync(
      wrapper,
      `#!/bin/sh\nset -e\nmount -t tmpfs tmpfs /run\nmkdir -p /var/run/secrets/kubernetes.io/serviceaccount\ncp "${src}"/* /var/run/secrets/kubernetes.io/serviceaccount/\nexec "$@"\n`,
    )
    chmodSync(wrapper, 0o755)
    const url = new URL(cp.server)
    await same(
      'in-cluster service account',
      {wrap: ['unshare', '-m', '--propagation', 'private', wrapper], env: {KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port}},
      {username: 'system:serviceaccount:default:incluster', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']},
    )
  })

  it('anonymous: both are refused as system:anonymous; knmesh says which credentials were not recognised and what it read', async () => {
    // The API server has no basic-auth authenticator (removed in Kubernetes 1.19): the request is anonymous.
    const kc = kubeconfig('anon-basic', {'certificate-authority': cp.caFile}, {username: 'someone', password: 'secret'})
    // kubectl auth whoami hides the 403's text; kubectl get shows the server took it for system:anonymous.
    const {knmesh} = await bothFail(
      'anonymous (basic auth, not recognised)',
      {kubeconfig: kc},
      /the selfsubjectreviews API is not enabled in the cluster or you do not have permission to call it/,
      /system:anonymous/,
    )
    const get = await execa(cp.kubectl, ['get', '--raw', '/api/v1/namespaces'], {reject: false, stdin: 'ignore', env: {KUBECONFIG: kc, HOME: emptyHome}})
    expect(get.stderr).toContain('User "system:anonymous" cannot list resource "namespaces"')
    // whoami -o json: the error is one JSON line ({"error": {"message", "exitCode"}}).
    const said = (JSON.parse(knmesh.stderr.trim()) as {error: {message: string; exitCode: number}}).error
    expect(said.exitCode).toBe(4)
    expect(said.message).toContain('treated the request as anonymous (system:anonymous): the credentials sent (basic auth) were not recognised')
    expect(said.message).toContain(`read kubeconfig ${kc}, context "anon-basic-ctx" (user "anon-basic-user", cluster "anon-basic-cluster")`)
  })

  it('a user without credentials: knmesh says no credentials were used (kubectl asks for a basic-auth user name on stdin instead)', async () => {
    const kc = kubeconfig('anon', {'certificate-authority': cp.caFile}, {})
    const [k, n] = await Promise.all([run('kubectl', {kubeconfig: kc}), run('knmesh', {kubeconfig: kc})])
    results.push(
      `${'user without credentials'.padEnd(44)} kubectl: exit ${k.exitCode} (${k.stderr.trim()}: it prompts for a user name)  knmesh: exit ${n.exitCode} (anonymous, said so)`,
    )
    // kubectl falls back to prompting for basic auth; with no terminal it reads EOF.
    expect(k.exitCode).not.toBe(0)
    expect(k.stderr.trim()).toBe('error: EOF')
    expect(n.exitCode).toBe(4)
    // whoami -o json: the error is one JSON line.
    expect(JSON.parse(n.stderr.trim())).toEqual({
      error: {
        message: `forbidden: the API server at ${cp.server} treated the request as anonymous (system:anonymous): no credentials were used; read kubeconfig ${kc}, context "anon-ctx" (user "anon-user", cluster "anon-cluster") (selfsubjectreviews.authentication.k8s.io is forbidden: User "system:anonymous" cannot create resource "selfsubjectreviews" in API group "authentication.k8s.io" at the cluster scope)`,
        exitCode: 4,
      },
    })
  })
})
