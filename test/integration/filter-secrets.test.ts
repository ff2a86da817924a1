import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import type {KubeClient} from '../../src/kube/client.js'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {BIN} from '../support/cli.js'
import {recordingProxy} from '../support/recording-proxy.js'
import {knmeshOnTty} from '../support/tty.js'
import {createNamespace, isolatedCluster, uniqueName} from '../support/cluster.js'

// --enable/--disable edit KnativeServing: a control plane of this file's own.
const cluster = isolatedCluster()

const LABEL = 'networking.internal.knative.dev/certificate-uid'

function tlsSecret(namespace: string, name: string, labels?: Record<string, string>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {name, namespace, ...(labels ? {labels} : {})},
    data: {'tls.crt': Buffer.from(`crt ${name}`).toString('base64'), 'tls.key': Buffer.from(`key ${name}`).toString('base64')},
  }
}

async function createMany(client: KubeClient, namespace: string, n: number): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      await client.create(tlsSecret(namespace, `s-${String(i).padStart(5, '0')}`, {keep: 'me'}))
    }
  }
  await Promise.all(Array.from({length: 32}, worker))
}

async function labelCounts(client: KubeClient, namespace: string): Promise<{labelled: number; total: number; bad: string[]}> {
  let labelled = 0
  let total = 0
  const bad: string[] = []
  for await (const page of client.pages(Kinds.Secret, namespace)) {
    for (const s of page) {
      total++
      const v = s.metadata.labels?.[LABEL]
      if (v) labelled++
      // Never half-written: the other label and the data are always intact; the value, if any, is the own UID.
      if (s.metadata.labels?.keep !== 'me' || Buffer.from(s.data['tls.key'], 'base64').toString() !== `key ${s.metadata.name}` || (v && v !== s.metadata.uid))
        bad.push(s.metadata.name)
    }
  }
  return {labelled, total, bad}
}

describe('filter-secrets against a real API server (guide 1.7)', () => {
  it('labels the secrets of Gateways, DomainMappings and KIngresses; --check before and after; second run: nothing to do', async () => {
    const c = cluster.client
    const app = uniqueName('fs-app')
    await createNamespace(c, app)
    await c.create(tlsSecret('istio-system', 'wildcard-certs'))
    await c.create(tlsSecret(app, 'app-cert', {keep: 'me'}))
    await c.create(tlsSecret(app, 'ki-cert'))
    await c.create(tlsSecret(app, 'unrelated'))
    await c.create({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: {name: 'knative-ingress-gateway', namespace: 'knative-serving'},
      spec: {
        selector: {knative: 'ingressgateway'},
        servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'SIMPLE', credentialName: 'wildcard-certs'}}],
      },
    })
    await c.create({
      apiVersion: 'serving.knative.dev/v1beta1',
      kind: 'DomainMapping',
      metadata: {name: 'shop.example.com', namespace: app},
      spec: {ref: {name: 'shop', kind: 'Service', apiVersion: 'serving.knative.dev/v1'}, tls: {secretName: 'app-cert'}},
    })
    await c.create({
      apiVersion: 'networking.internal.knative.dev/v1alpha1',
      kind: 'Ingress',
      metadata: {name: 'shop', namespace: app},
      spec: {
        tls: [{hosts: ['shop.example.com'], secretName: 'ki-cert', secretNamespace: app}],
        rules: [
          {
            hosts: ['shop.example.com'],
            visibility: 'ExternalIP',
            http: {paths: [{splits: [{serviceName: 'shop', serviceNamespace: app, servicePort: 80, percent: 100}]}]},
          },
        ],
      },
    })

    const check = await cluster.run(['filter-secrets', '--check'])
    expect(check.exitCode).toBe(1)
    expect(check.stdout).toMatch(new RegExp(`${app}\\s+app-cert\\s+unlabelled\\s+DomainMapping ${app}/shop.example.com`))
    expect(check.stdout).toMatch(new RegExp(`${app}\\s+ki-cert\\s+unlabelled\\s+KIngress ${app}/shop`))
    expect(check.stdout).toMatch(/istio-system\s+wildcard-certs\s+unlabelled\s+Gateway knative-serving\/knative-ingress-gateway/)
    expect(check.stdout).not.toContain('unrelated')
    expect(check.stderr.trim()).toBe('error: 3 secret(s) would be invisible to net-istio with secret filtering on')

    const r = await cluster.run(['filter-secrets', '--yes'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(/total\s+3\s+0\s+0/)
    for (const [ns, name] of [
      ['istio-system', 'wildcard-certs'],
      [app, 'app-cert'],
      [app, 'ki-cert'],
    ]) {
      const s = (await c.get(Kinds.Secret, name, ns))!
      expect(s.metadata.labels?.[LABEL]).toBe(s.metadata.uid)
      expect(Buffer.from(s.data['tls.key'], 'base64').toString()).toBe(`key ${name}`)
    }
    expect((await c.get(Kinds.Secret, 'app-cert', app))!.metadata.labels?.keep).toBe('me')
    expect((await c.get(Kinds.Secret, 'unrelated', app))!.metadata.labels).toBeUndefined()

    const again = await cluster.run(['filter-secrets', '--yes'])
    expect(again.exitCode).toBe(0)
    expect(again.stdout.trim()).toBe('nothing to do: the cluster already matches')
    const ok = await cluster.run(['filter-secrets', '--check'])
    expect(ok.exitCode).toBe(0)
    expect(ok.stdout).toContain('all 3 referenced secret(s) in all namespaces carry networking.internal.knative.dev/certificate-uid; filtering is enabled')

    // --all-tls in the app namespace, with a fixed value: only the unlabelled one changes.
    const all = await cluster.run(['filter-secrets', '--all-tls', '-n', app, '--uid', 'shop-certs', '--yes'])
    expect(all.exitCode).toBe(0)
    expect(all.stdout).toMatch(new RegExp(`${app}\\s+1\\s+2\\s+0`))
    expect((await c.get(Kinds.Secret, 'unrelated', app))!.metadata.labels).toEqual({[LABEL]: 'shop-certs'})
    expect((await c.get(Kinds.Secret, 'app-cert', app))!.metadata.labels?.[LABEL]).not.toBe('shop-certs')
  })

  it('--check finds a missing referenced secret; bad input is refused before any request', async () => {
    const app = uniqueName('fs-miss')
    await createNamespace(cluster.client, app)
    await cluster.client.create({
      apiVersion: 'serving.knative.dev/v1beta1',
      kind: 'DomainMapping',
      metadata: {name: 'gone.example.com', namespace: app},
      spec: {ref: {name: 'x', kind: 'Service', apiVersion: 'serving.knative.dev/v1'}, tls: {secretName: 'gone-cert'}},
    })
    const r = await cluster.run(['filter-secrets', '--check', '-n', app, '-o', 'json'])
    expect(r.exitCode).toBe(1)
    expect(JSON.parse(r.stdout).secrets).toEqual([
      {namespace: app, name: 'gone-cert', problem: 'missing', referencedBy: [`DomainMapping ${app}/gone.example.com`]},
    ])
    for (const args of [['--all-tls'], ['--uid', '-x-'], ['--enable', '--disable'], ['-n', 'Bad_NS']]) {
      const bad = await cluster.run(['filter-secrets', ...args, '--yes'])
      expect(bad.exitCode, args.join(' ')).toBe(2)
      expect(bad.stderr.split('\n').filter(Boolean)).toHaveLength(1)
    }
  })

  it("--disable sets the guide's override, --enable removes it; other workloads kept; each second run is a no-op", async () => {
    const c = cluster.client
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {spec: {workloads: [{name: 'activator', replicas: 3}]}})
    const off = await cluster.run(['filter-secrets', '--disable', '--yes'])
    expect(off.exitCode).toBe(0)
    let ks = (await c.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving'))!
    expect(ks.spec.workloads).toEqual([
      {name: 'activator', replicas: 3},
      {name: 'net-istio-controller', env: [{container: 'controller', envVars: [{name: 'ENABLE_SECRET_INFORMER_FILTERING_BY_CERT_UID', value: 'false'}]}]},
    ])
    expect((await cluster.run(['filter-secrets', '--disable', '--yes'])).stdout).toContain('nothing to do')
    const on = await cluster.run(['filter-secrets', '--enable', '--yes'])
    expect(on.exitCode).toBe(0)
    ks = (await c.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving'))!
    expect(ks.spec.workloads).toEqual([{name: 'activator', replicas: 3}])
    expect((await cluster.run(['filter-secrets', '--enable', '--yes'])).stdout).toContain('nothing to do')
  })

  it('at scale: pages, a summary instead of diffs; killed half-way, a second run finishes; no secret half-written', async () => {
    const c = cluster.client
    const ns = uniqueName('fs-scale')
    await createNamespace(c, ns)
    const N = 1500
    await createMany(c, ns, N)

    // Without --yes and no terminal: a summary, not 1500 diffs, and nothing applied.
    const ask = await cluster.run(['filter-secrets', '--all-tls', '-n', ns])
    expect(ask.exitCode).toBe(3)
    expect(ask.stdout).toContain(`${N} changes:`)
    expect(ask.stdout).toContain(`update Secret in ${ns}: ${N} (s-00000, s-00001, s-00002, …)`)
    expect(ask.stdout).not.toContain('@@')
    expect((await labelCounts(c, ns)).labelled).toBe(0)

    // Killed (SIGKILL) once some secrets are labelled.
    const child = execa('node', [BIN, 'filter-secrets', '--all-tls', '-n', ns, '--concurrency', '4', '--yes'], {
      env: {KUBECONFIG: cluster.kubeconfig, NO_COLOR: '1'},
      reject: false,
      stdin: 'ignore',
    })
    let partial = 0
    for (let i = 0; i < 600 && partial < 100; i++) {
      await new Promise((r) => setTimeout(r, 50))
      partial = (await labelCounts(c, ns)).labelled
    }
    child.kill('SIGKILL')
    const killed = await child
    expect(killed.signal).toBe('SIGKILL')
    const mid = await labelCounts(c, ns)
    expect(mid.bad).toEqual([])
    expect(mid.labelled).toBeGreaterThan(0)
    expect(mid.labelled).toBeLessThan(N)

    const rest = await cluster.run(['filter-secrets', '--all-tls', '-n', ns, '--yes'])
    expect(rest.exitCode).toBe(0)
    expect(rest.stdout).toMatch(new RegExp(`total\\s+${N - mid.labelled}\\s+${mid.labelled}\\s+0`))
    const end = await labelCounts(c, ns)
    expect(end).toEqual({labelled: N, total: N, bad: []})
    // Listed in pages of 500 (limit/continue), never all at once.
    const noop = await cluster.run(['filter-secrets', '--all-tls', '-n', ns, '--yes'], {env: {DEBUG: 'knmesh'}})
    expect(noop.stdout.trim()).toBe('nothing to do: the cluster already matches')
    const lists = noop.stderr.split('\n').filter((l) => l.startsWith(`knmesh GET /api/v1/namespaces/${ns}/secrets?`))
    expect(lists).toHaveLength(Math.ceil(N / 500))
    expect(lists.every((l) => l.includes('limit=500') && l.includes('fieldSelector=type%3Dkubernetes.io%2Ftls'))).toBe(true)
    expect(lists.slice(1).every((l) => l.includes('continue='))).toBe(true)
  })

  it('Ctrl-C: stops sending, says what is left (exit 130); the next run finishes', async () => {
    const c = cluster.client
    const ns = uniqueName('fs-int')
    await createNamespace(c, ns)
    await createMany(c, ns, 800)
    const child = execa('node', [BIN, 'filter-secrets', '--all-tls', '-n', ns, '--concurrency', '2', '--yes'], {
      env: {KUBECONFIG: cluster.kubeconfig, NO_COLOR: '1'},
      reject: false,
      stdin: 'ignore',
    })
    for (let i = 0; i < 600 && (await labelCounts(c, ns)).labelled < 20; i++) await new Promise((r) => setTimeout(r, 50))
    child.kill('SIGINT')
    const r = await child
    expect(r.exitCode).toBe(130)
    expect(r.stderr).toContain('interrupted: finishing the patches in flight')
    expect(r.stderr).toMatch(/error: interrupted after \d+ secret\(s\) labelled: run the same command again to label the rest/)
    const mid = await labelCounts(c, ns)
    expect(mid.bad).toEqual([])
    expect(r.stdout).toMatch(new RegExp(`total\\s+${mid.labelled}\\s+0\\s+0`))
    const rest = await cluster.run(['filter-secrets', '--all-tls', '-n', ns, '--yes'])
    expect(rest.exitCode).toBe(0)
    expect(await labelCounts(c, ns)).toEqual({labelled: 800, total: 800, bad: []})
  })

  it('on a terminal: the summary, the question, a progress bar, the table', async () => {
    const c = cluster.client
    const ns = uniqueName('fs-tty')
    await createNamespace(c, ns)
    await createMany(c, ns, 600)
    const r = await knmeshOnTty(['filter-secrets', '--all-tls', '-n', ns], cluster.kubeconfig, 'y\r')
    expect(r.exitCode, r.output).toBe(0)
    expect(r.output).toContain(`update Secret in ${ns}: 600 (s-00000, s-00001, s-00002, …)`)
    expect(r.output).toMatch(/Apply 600 change\(s\)\?/)
    expect(r.output).toMatch(/labelling secrets \[[^\]]*\] \d+\/600/)
    expect(r.output).toMatch(new RegExp(`total\\s+600\\s+0\\s+0`))
    expect((await labelCounts(c, ns)).labelled).toBe(600)
  })
})

describe('filter-secrets never downloads Secret data (issue 15 item 3)', () => {
  it('lists secrets as PartialObjectMetadataList by type in pages, GETs referenced ones as metadata, patches with a resourceVersion precondition', async () => {
    const c = cluster.client
    const ns = uniqueName('fs-meta')
    await createNamespace(c, ns)
    const N = 1100
    await createMany(c, ns, N)
    await c.create({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {name: 'opaque', namespace: ns},
      data: {password: Buffer.from('key hunter2').toString('base64')},
    })
    await c.create(tlsSecret(ns, 'dm-cert'))
    await c.create({
      apiVersion: 'serving.knative.dev/v1beta1',
      kind: 'DomainMapping',
      metadata: {name: 'meta.example.com', namespace: ns},
      spec: {ref: {name: 'shop', kind: 'Service', apiVersion: 'serving.knative.dev/v1'}, tls: {secretName: 'dm-cert'}},
    })
    const proxy = await recordingProxy(cluster.kubeconfig)
    try {
      const r = await cluster.run(['filter-secrets', '--all-tls', '-n', ns, '--yes'], {kubeconfig: proxy.kubeconfig})
      expect(r.stderr).toBe('')
      expect(r.exitCode).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`${ns}\\s+${N + 1}\\s+0\\s+0`))
      const secretCalls = proxy.exchanges.filter((e) => e.path.startsWith(`/api/v1/namespaces/${ns}/secrets`))
      // Not one byte of any secret's data came back: no data field, no value (every value starts with "key "/"crt ").
      for (const e of proxy.exchanges) {
        expect(e.body).not.toContain('"data"')
        expect(e.body).not.toContain(Buffer.from('key ').toString('base64').slice(0, 5))
        expect(e.body).not.toContain(Buffer.from('crt ').toString('base64').slice(0, 5))
      }
      const lists = secretCalls.filter((e) => e.method === 'GET' && e.path.includes('?'))
      expect(lists).toHaveLength(Math.ceil((N + 1) / 500))
      for (const [i, l] of lists.entries()) {
        expect(l.accept).toBe('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1')
        expect(l.path).toContain('fieldSelector=type%3Dkubernetes.io%2Ftls')
        expect(l.path).toContain('limit=500')
        if (i > 0) expect(l.path).toContain('continue=')
        expect(JSON.parse(l.body).kind).toBe('PartialObjectMetadataList')
        // A full page (500 items, over the server's 128 kB threshold) comes gzip-compressed, as knmesh asks.
        if (i < lists.length - 1) expect(l.encoding).toBe('gzip')
      }
      const get = secretCalls.filter((e) => e.method === 'GET' && e.path === `/api/v1/namespaces/${ns}/secrets/dm-cert`)
      expect(get).toHaveLength(1)
      expect(get[0].accept).toBe('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1')
      // The patches carry the resourceVersion listed: a secret changed meanwhile is refused (409), not overwritten.
      const listed = new Map<string, string>()
      for (const l of lists) for (const it of JSON.parse(l.body).items) listed.set(it.metadata.name, it.metadata.resourceVersion)
      const patches = secretCalls.filter((e) => e.method === 'PATCH')
      expect(patches).toHaveLength(N + 1)
      for (const p of patches.filter((x) => !x.path.includes('/dm-cert?'))) {
        const name = decodeURIComponent(p.path.split('?')[0].split('/').pop()!)
        const body = JSON.parse(p.request)
        expect(body).toEqual({metadata: {labels: {[LABEL]: expect.any(String)}, resourceVersion: listed.get(name)}})
      }
      const received = secretCalls.reduce((n, e) => n + e.bytes, 0)
      console.log(`filter-secrets: ${(received / (N + 1)).toFixed(0)} bytes received per secret (lists + patch responses)`)
      // The opaque secret is neither listed nor touched.
      expect((await c.get(Kinds.Secret, 'opaque', ns))!.metadata.labels).toBeUndefined()
      expect(await c.listAll(Kinds.Secret, ns, {labelSelector: LABEL})).toHaveLength(N + 1)
    } finally {
      await proxy.close()
    }
  })
})
