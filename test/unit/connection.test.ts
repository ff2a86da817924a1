import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {parse} from 'yaml'
import {describe, expect, it} from 'vitest'
import {inClusterConfig, loadKubeConfig, mergeKubeconfigs, parseKubeconfig, resolveConnection, type MergedKubeconfig} from '../../src/kube/config.js'
import {Credentials, impersonationHeaders, parseExecCredential} from '../../src/kube/credentials.js'

const root = mkdtempSync(join(tmpdir(), 'knmesh-conn-'))
function file(rel: string, text: string): string {
  const p = join(root, rel)
  mkdirSync(join(p, '..'), {recursive: true})
  writeFileSync(p, text)
  return p
}
const parsed = (rel: string, text: string) => parseKubeconfig(text, join(root, rel), parse)
const one = (rel: string, text: string): MergedKubeconfig => mergeKubeconfigs([{file: join(root, rel), config: parsed(rel, text)}])

const BASE = `
clusters:
- name: c1
  cluster: {server: "https://c1.example:6443", certificate-authority: ca.crt, tls-server-name: api.c1}
- name: c2
  cluster: {server: "https://c2.example:6443", certificate-authority-data: Zm9v}
users:
- name: u1
  user: {tokenFile: tok, client-certificate: pki/u.crt, client-key: pki/u.key}
- name: u2
  user:
    as: alice
    as-groups: [devs]
    exec: {command: ./bin/plugin, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never}
- name: u3
  user:
    exec: {command: my-plugin, apiVersion: client.authentication.k8s.io/v1beta1}
contexts:
- name: x1
  context: {cluster: c1, user: u1, namespace: ns1}
- name: x2
  context: {cluster: c2, user: u2}
current-context: x1
`

describe('parsing a kubeconfig file', () => {
  it("makes certificate-authority, client-certificate, client-key, tokenFile and a path-like exec command absolute against the file's folder", () => {
    const kc = parsed('conf/config', BASE)
    expect(kc.clusters.get('c1')!['certificate-authority']).toBe(join(root, 'conf', 'ca.crt'))
    expect(kc.clusters.get('c1')!['tls-server-name']).toBe('api.c1')
    expect(kc.users.get('u1')).toMatchObject({
      tokenFile: join(root, 'conf', 'tok'),
      'client-certificate': join(root, 'conf', 'pki/u.crt'),
      'client-key': join(root, 'conf', 'pki/u.key'),
    })
    expect(kc.users.get('u2')!.exec!.command).toBe(join(root, 'conf', 'bin/plugin'))
    // A bare command is looked up on PATH, as kubectl does.
    expect(kc.users.get('u3')!.exec!.command).toBe('my-plugin')
    expect(kc.currentContext).toBe('x1')
  })

  it('refuses text that is not a kubeconfig, exit 4', () => {
    expect(() => parsed('bad', 'clusters: 3')).toThrow(/clusters is not a list/)
    expect(() => parsed('bad', '- a')).toThrow(expect.objectContaining({exitCode: 4}))
  })
})

describe('merging KUBECONFIG files as kubectl does', () => {
  it('the first file to define a name wins; current-context comes from the first file that sets one', () => {
    const a = parsed('a', 'users:\n- name: shared\n  user: {token: from-a}\ncontexts:\n- name: ctx\n  context: {cluster: only-b, user: shared}\n')
    const b = parsed(
      'b',
      'clusters:\n- name: only-b\n  cluster: {server: "https://b.example"}\nusers:\n- name: shared\n  user: {token: from-b}\ncontexts:\n- name: other\n  context: {cluster: only-b, user: shared}\ncurrent-context: other\n',
    )
    const c = parsed('c', 'current-context: ignored\n')
    const m = mergeKubeconfigs([
      {file: 'a', config: a},
      {file: 'b', config: b},
      {file: 'c', config: c},
    ])
    expect(m.users.get('shared')!.token).toBe('from-a')
    expect(m.currentContext).toBe('other')
    const r = resolveConnection(m, {context: 'ctx'}, 'kc')
    expect(r.cluster.server).toBe('https://b.example')
    expect(r.user.token).toBe('from-a')
  })

  it('KUBECONFIG: missing files are skipped and a file listed twice is read once', async () => {
    const a = file(
      'm/a',
      'clusters:\n- name: c\n  cluster: {server: "https://m.example"}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n',
    )
    const loaded = await loadKubeConfig({}, {KUBECONFIG: [join(root, 'missing'), a, a].join(delimiter)})
    expect(loaded.source.what).toBe(`kubeconfig ${a}`)
    expect(loaded.server).toBe('https://m.example')
  })
})

describe("kubectl's connection flags", () => {
  const kc = () => one('f/config', BASE)

  it('--context, --cluster and --user pick entries; unknown names exit 4', () => {
    const r = resolveConnection(kc(), {cluster: 'c2', user: 'u2'}, 'kc')
    expect(r.cluster.server).toBe('https://c2.example:6443')
    expect(r.user.as).toBe('alice')
    expect(r.namespace).toBe('ns1')
    expect(r.source).toEqual({what: 'kc', contextName: 'x1', userName: 'u2', clusterName: 'c2'})
    expect(() => resolveConnection(kc(), {cluster: 'nope'}, 'kc')).toThrow(
      expect.objectContaining({exitCode: 4, message: 'cluster "nope" not found in kubeconfig'}),
    )
    expect(() => resolveConnection(kc(), {user: 'nope'}, 'kc')).toThrow(expect.objectContaining({exitCode: 4}))
    expect(() => resolveConnection(kc(), {context: 'nope'}, 'kc')).toThrow(
      expect.objectContaining({exitCode: 4, message: 'context "nope" not found in kubeconfig (available: x1, x2)'}),
    )
  })

  it("--server replaces the server and clears the kubeconfig's tls-server-name unless --tls-server-name is given", () => {
    expect(resolveConnection(kc(), {server: 'https://other:6443'}, 'kc').cluster).toMatchObject({server: 'https://other:6443', 'tls-server-name': undefined})
    expect(resolveConnection(kc(), {server: 'other:6443', tlsServerName: 'n'}, 'kc').cluster).toMatchObject({
      server: 'https://other:6443',
      'tls-server-name': 'n',
    })
    expect(resolveConnection(kc(), {tlsServerName: 'n2'}, 'kc').cluster['tls-server-name']).toBe('n2')
    expect(() => resolveConnection(kc(), {server: 'ftp://x'}, 'kc')).toThrow(expect.objectContaining({exitCode: 2}))
  })

  it('--certificate-authority and --insecure-skip-tls-verify replace both the CA and the insecure setting; together they are refused (exit 2)', () => {
    const ca = resolveConnection(kc(), {context: 'x2', certificateAuthority: 'rel/ca.pem'}, 'kc').cluster
    expect(ca['certificate-authority']).toBe(join(process.cwd(), 'rel/ca.pem'))
    expect(ca['certificate-authority-data']).toBeUndefined()
    const insecure = resolveConnection(kc(), {insecureSkipTlsVerify: true}, 'kc').cluster
    expect(insecure).toMatchObject({'insecure-skip-tls-verify': true, 'certificate-authority': undefined})
    expect(() => resolveConnection(kc(), {insecureSkipTlsVerify: true, certificateAuthority: 'x'}, 'kc')).toThrow(expect.objectContaining({exitCode: 2}))
  })

  it('a kubeconfig setting both a CA and insecure-skip-tls-verify is refused as kubectl refuses it (exit 4)', () => {
    const bad = one(
      'g/config',
      'clusters:\n- name: c\n  cluster: {server: "https://x", certificate-authority-data: Zm9v, insecure-skip-tls-verify: true}\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n',
    )
    expect(() => resolveConnection(bad, {}, 'kc')).toThrow(
      expect.objectContaining({exitCode: 4, message: expect.stringContaining('insecure flag is not allowed')}),
    )
  })

  it("--token replaces the token, tokenFile and exec plugin; --client-certificate/--client-key replace the user's", () => {
    const t = resolveConnection(kc(), {context: 'x2', token: 'flag'}, 'kc').user
    expect(t.token).toBe('flag')
    expect(t.tokenFile).toBeUndefined()
    expect(t.exec).toBeUndefined()
    const c = resolveConnection(kc(), {clientCertificate: '/a.crt', clientKey: '/a.key'}, 'kc').user
    expect(c).toMatchObject({'client-certificate': '/a.crt', 'client-key': '/a.key'})
  })

  it('--as, --as-group (repeatable), --as-uid become the Impersonate-* headers; groups or uid without --as are refused (exit 2)', () => {
    const u = resolveConnection(kc(), {as: 'system:admin', asGroups: ['g1', 'g2'], asUid: 'u-1'}, 'kc').user
    expect(impersonationHeaders(u)).toEqual({'Impersonate-User': 'system:admin', 'Impersonate-Uid': 'u-1', 'Impersonate-Group': ['g1', 'g2']})
    // The kubeconfig's own as/as-groups are used when no flag is given.
    expect(impersonationHeaders(resolveConnection(kc(), {context: 'x2'}, 'kc').user)).toEqual({'Impersonate-User': 'alice', 'Impersonate-Group': ['devs']})
    expect(impersonationHeaders({as: 'a', 'as-user-extra': {'example.com/scope s': ['x', 'y']}})).toEqual({
      'Impersonate-User': 'a',
      'Impersonate-Extra-example.com%2Fscope%20s': ['x', 'y'],
    })
    expect(() => resolveConnection(kc(), {asGroups: ['g']}, 'kc')).toThrow(expect.objectContaining({exitCode: 2}))
    expect(() => resolveConnection(kc(), {asUid: 'u'}, 'kc')).toThrow(expect.objectContaining({exitCode: 2}))
  })

  it('no kubeconfig at all: --server (with --token) is enough, as with kubectl', async () => {
    const home = mkdtempSync(join(tmpdir(), 'knmesh-home-'))
    const r = await loadKubeConfig({server: 'https://flags.example:6443', token: 't', insecureSkipTlsVerify: true}, {HOME: home})
    expect(r).toMatchObject({
      server: 'https://flags.example:6443',
      namespace: 'default',
      user: {token: 't'},
      source: {what: 'no kubeconfig (flags only)', contextName: ''},
    })
  })
})

describe('user entries kubectl refuses (exit 4)', () => {
  const user = (u: string) =>
    one(
      'v/config',
      `clusters:\n- name: c\n  cluster: {server: "https://x"}\nusers:\n- name: u\n  user: ${u}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
    )
  it.each([
    ['{client-certificate-data: Zm9v}', /client-key-data or client-key must be specified/],
    ['{exec: {command: p, apiVersion: client.authentication.k8s.io/v1}}', /interactiveMode must be specified/],
    ['{exec: {command: p, apiVersion: client.authentication.k8s.io/v1alpha1}}', /v1alpha1 is not supported/],
    ['{exec: {command: p, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Sometimes}}', /invalid interactiveMode "Sometimes"/],
    ['{exec: {command: p}}', /apiVersion must be specified/],
  ])('%s', (u, msg) => {
    expect(() => resolveConnection(user(u), {}, 'kc')).toThrow(expect.objectContaining({exitCode: 4, message: expect.stringMatching(msg)}))
  })
})

describe('in-cluster service account', () => {
  it('KUBERNETES_SERVICE_HOST/PORT and the token file; namespace from POD_NAMESPACE, else the namespace file', () => {
    const sa = join(root, 'sa')
    mkdirSync(sa, {recursive: true})
    expect(inClusterConfig({KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443'}, sa)).toBeUndefined()
    writeFileSync(join(sa, 'token'), 'tok\n')
    writeFileSync(join(sa, 'namespace'), 'pod-ns\n')
    const kc = inClusterConfig({KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443'}, sa)!
    const r = resolveConnection(kc, {}, 'in-cluster')
    expect(r.cluster).toEqual({server: 'https://[fd00::1]:443', 'certificate-authority': join(sa, 'ca.crt')})
    expect(r.user).toEqual({tokenFile: join(sa, 'token')})
    expect(r.namespace).toBe('pod-ns')
    expect(
      resolveConnection(inClusterConfig({KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '6443', POD_NAMESPACE: 'env-ns'}, sa)!, {}, 'i').namespace,
    ).toBe('env-ns')
    expect(inClusterConfig({KUBERNETES_SERVICE_PORT: '443'}, sa)).toBeUndefined()
  })

  it('is used only when no kubeconfig gives a cluster', async () => {
    const sa = join(root, 'sa2')
    mkdirSync(sa, {recursive: true})
    writeFileSync(join(sa, 'token'), 't')
    const home = mkdtempSync(join(tmpdir(), 'knmesh-home-'))
    const env = {HOME: home, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443'}
    const r = await loadKubeConfig({}, env, sa)
    expect(r.source.what).toBe(`in-cluster service account (${sa})`)
    expect(r.server).toBe('https://10.0.0.1:443')
    await expect(loadKubeConfig({}, {HOME: home}, sa)).rejects.toMatchObject({exitCode: 4, message: expect.stringContaining('no kubeconfig found')})
  })
})

describe('exec credential plugins', () => {
  const exec = {command: 'p', apiVersion: 'client.authentication.k8s.io/v1'}
  const cred = (o: unknown) => JSON.stringify(o)

  it('checks apiVersion, kind, status and the token or certificate/key pair as client-go does', () => {
    expect(
      parseExecCredential(cred({apiVersion: exec.apiVersion, kind: 'ExecCredential', status: {token: 't', expirationTimestamp: '2030-01-01T00:00:00Z'}}), exec),
    ).toEqual({
      status: {token: 't', expirationTimestamp: '2030-01-01T00:00:00Z'},
      expiresAt: Date.parse('2030-01-01T00:00:00Z'),
    })
    expect(() => parseExecCredential(cred({apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: {token: 't'}}), exec)).toThrow(
      'exec plugin p is configured to use API version client.authentication.k8s.io/v1, plugin returned version client.authentication.k8s.io/v1beta1',
    )
    expect(() => parseExecCredential(cred({apiVersion: exec.apiVersion, kind: 'ExecCredential'}), exec)).toThrow("didn't return a status field")
    expect(() => parseExecCredential(cred({apiVersion: exec.apiVersion, kind: 'ExecCredential', status: {clientCertificateData: 'x'}}), exec)).toThrow(
      'only certificate or key',
    )
    expect(() => parseExecCredential(cred({apiVersion: exec.apiVersion, kind: 'ExecCredential', status: {}}), exec)).toThrow(
      "didn't return a token or cert/key pair",
    )
    expect(() => parseExecCredential('not json', exec)).toThrow(expect.objectContaining({exitCode: 4}))
  })

  it('runs the plugin with KUBERNETES_EXEC_INFO and exec.env, caches the credential until expirationTimestamp', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'knmesh-exec-'))
    const count = join(dir, 'count')
    const info = join(dir, 'info')
    writeFileSync(count, '')
    // The plugin's expiry comes from its environment: EXPIRY (RFC 3339).
    const plugin = file(
      'exec/plugin.sh',
      `#!/bin/sh\necho x >> "${count}"\nprintf '%s' "$KUBERNETES_EXEC_INFO" > "${info}"\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s","expirationTimestamp":"%s"}}' "$SUFFIX" "$EXPIRY"\n`,
    )
    const {chmodSync} = await import('node:fs')
    chmodSync(plugin, 0o755)
    let now = Date.parse('2030-01-01T00:00:00Z')
    const conn = resolveConnection(
      one(
        'exec/config',
        `clusters:\n- name: c\n  cluster: {server: "https://x.example"}\nusers:\n- name: u\n  user:\n    exec:\n      command: ./plugin.sh\n      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Never\n      provideClusterInfo: true\n      env: [{name: SUFFIX, value: a}, {name: EXPIRY, value: "2030-01-01T00:10:00Z"}]\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
      ),
      {},
      'kc',
    )
    const creds = new Credentials(conn, () => now)
    expect((await creds.transport()).headers.Authorization).toBe('Bearer tok-a')
    expect((await creds.transport()).headers.Authorization).toBe('Bearer tok-a')
    expect(readFileSync(count, 'utf8').split('\n').filter(Boolean)).toHaveLength(1)
    expect(JSON.parse(readFileSync(info, 'utf8'))).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: {interactive: false, cluster: {server: 'https://x.example'}},
    })
    now = Date.parse('2030-01-01T00:10:00Z')
    await creds.transport()
    expect(readFileSync(count, 'utf8').split('\n').filter(Boolean)).toHaveLength(2)
    // A 401 forgets the credential too.
    now = Date.parse('2030-01-01T00:00:00Z')
    creds.invalidate()
    await creds.transport()
    expect(readFileSync(count, 'utf8').split('\n').filter(Boolean)).toHaveLength(3)
    creds.close()
  })

  it('interactiveMode Always without a terminal is an error, as in kubectl', async () => {
    const conn = resolveConnection(
      one(
        'exec2/config',
        `clusters:\n- name: c\n  cluster: {server: "https://x.example"}\nusers:\n- name: u2\n  user:\n    exec: {command: "true", apiVersion: client.authentication.k8s.io/v1, interactiveMode: Always}\ncontexts:\n- name: x\n  context: {cluster: c, user: u2}\ncurrent-context: x\n`,
      ),
      {},
      'kc',
    )
    await expect(new Credentials(conn).transport()).rejects.toThrow('cannot support interactive mode: standard input is not a terminal')
  })
})

describe('tokens', () => {
  it('tokenFile is read trimmed, re-read after a minute, and wins over token as in client-go', async () => {
    const tok = file('t/tok', 'first\n')
    let now = 0
    const conn = resolveConnection(
      one(
        't/config',
        `clusters:\n- name: c\n  cluster: {server: "https://x.example"}\nusers:\n- name: u\n  user: {tokenFile: tok, token: static}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
      ),
      {},
      'kc',
    )
    const creds = new Credentials(conn, () => now)
    expect((await creds.transport()).headers.Authorization).toBe('Bearer first')
    writeFileSync(tok, 'second')
    now = 30_000
    expect((await creds.transport()).headers.Authorization).toBe('Bearer first')
    now = 61_000
    expect((await creds.transport()).headers.Authorization).toBe('Bearer second')
    creds.close()
  })

  it('over plain http no credentials are sent (client-go sends them only over TLS)', async () => {
    const conn = resolveConnection(
      one(
        'h/config',
        `clusters:\n- name: c\n  cluster: {server: "http://x.example"}\nusers:\n- name: u\n  user: {token: t, as: a}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
      ),
      {},
      'kc',
    )
    const creds = new Credentials(conn)
    expect((await creds.transport()).headers).toEqual({'Impersonate-User': 'a'})
    creds.close()
  })
})

describe('proxy from the environment (kubectl: Go http.ProxyFromEnvironment, when the cluster has no proxy-url)', () => {
  it('HTTPS_PROXY for https, never for loopback, NO_PROXY hosts, domains, ports, IPs and CIDRs', async () => {
    const {proxyFromEnvironment} = await import('../../src/kube/credentials.js')
    const env = {HTTPS_PROXY: 'proxy.corp:3128', NO_PROXY: 'skip.example,.internal,10.1.0.0/16,192.168.1.5,api.port.example:7443'}
    expect(proxyFromEnvironment('https://api.example:6443', env)).toBe('http://proxy.corp:3128')
    expect(proxyFromEnvironment('http://api.example:6443', env)).toBeUndefined()
    expect(proxyFromEnvironment('http://api.example', {http_proxy: 'http://p:1'})).toBe('http://p:1')
    for (const s of [
      'https://127.0.0.1:6443',
      'https://localhost:6443',
      'https://[::1]:6443',
      'https://skip.example',
      'https://a.skip.example',
      'https://x.internal:6443',
      'https://10.1.2.3:6443',
      'https://192.168.1.5',
      'https://api.port.example:7443',
    ]) {
      expect(proxyFromEnvironment(s, env), s).toBeUndefined()
    }
    expect(proxyFromEnvironment('https://api.port.example:6443', env)).toBe('http://proxy.corp:3128')
    expect(proxyFromEnvironment('https://10.2.0.1', env)).toBe('http://proxy.corp:3128')
    expect(proxyFromEnvironment('https://internal', env)).toBe('http://proxy.corp:3128')
    expect(proxyFromEnvironment('https://anything', {HTTPS_PROXY: 'http://p:1', NO_PROXY: '*'})).toBeUndefined()
  })
})
