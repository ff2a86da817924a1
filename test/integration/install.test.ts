/**
 * Chapter 1 end to end on a real kube-apiserver: precheck → certs →
 * configure-mesh → create-gateways → enable-istio from the seeded fresh
 * Serverless state; the objects are compared field by field with the guide's
 * YAML; a second pass changes nothing; user fields of existing objects survive.
 *
 * Test double: no Service Mesh operator runs here, so the test creates the
 * istio-ingressgateway Service the operator would deploy (as ClusterIP).
 */
import {X509Certificate} from 'node:crypto'
import {chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {isolatedCluster} from '../support/cluster.js'
import {knmeshOnTty} from '../support/tty.js'
import {
  EVENTING_WORKLOADS,
  INGRESS_GATEWAY_SPEC,
  KAFKA_WORKLOADS,
  LOCAL_GATEWAY_SERVICE,
  LOCAL_GATEWAY_SPEC,
  SIDECAR,
  SMCP_SPEC,
  serviceEntrySpec,
  servingSpec,
} from '../support/guide-chapter1.js'

const cluster = isolatedCluster()
const ANN = SIDECAR
const outDir = mkdtempSync(join(tmpdir(), 'knmesh-certs-'))

const get = (info: (typeof Kinds)[keyof typeof Kinds], name: string, ns?: string) => cluster.client.get(info, name, ns)
const rv = async (info: (typeof Kinds)[keyof typeof Kinds], name: string, ns?: string) => (await get(info, name, ns))?.metadata.resourceVersion

/** What the Service Mesh operator would have deployed: the ingress gateway Service (test double). */
async function ingressGatewayService(type: string): Promise<void> {
  const live = await get(Kinds.Service, 'istio-ingressgateway', 'istio-system')
  if (live) await cluster.client.delete(Kinds.Service, 'istio-ingressgateway', 'istio-system')
  await cluster.client.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name: 'istio-ingressgateway', namespace: 'istio-system', labels: {istio: 'ingressgateway', knative: 'ingressgateway'}},
    spec: {
      type,
      selector: {istio: 'ingressgateway'},
      ports: [
        {name: 'status-port', port: 15021},
        {name: 'http2', port: 80},
        {name: 'https', port: 443},
      ],
    },
  })
}

describe('chapter 1 on a real API server: precheck → certs → configure-mesh → create-gateways → enable-istio', () => {
  it('precheck: passes on the fresh state; names a 443 "*" Gateway and a NodePort ingress gateway as failures (exit 1, -o json)', async () => {
    await ingressGatewayService('ClusterIP')
    const ok = await cluster.run(['precheck'])
    expect(ok.exitCode, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/mesh-version\/basic\s+ok\s+basic: Service Mesh v2.5/)
    expect(ok.stdout).toContain('all checks passed')

    // A read-only user can run it too.
    const restricted = await cluster.run(['precheck'], {kubeconfig: cluster.restrictedKubeconfig})
    expect(restricted.exitCode, restricted.stderr).toBe(0)

    await cluster.client.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'legacy-web'}})
    await cluster.client.create({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: {name: 'wildcard-443', namespace: 'legacy-web'},
      spec: {
        selector: {istio: 'ingressgateway'},
        servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'SIMPLE', credentialName: 'x'}}],
      },
    })
    await ingressGatewayService('NodePort')
    const bad = await cluster.run(['precheck', '-o', 'json'])
    expect(bad.exitCode).toBe(1)
    expect(bad.stderr).toContain('{"error":{"message":"2 check(s) failed: gateway-conflict/legacy-web/wildcard-443, ingressgateway-service","exitCode":1}}')
    const report = JSON.parse(bad.stdout)
    expect(report.ok).toBe(false)
    const failures = report.checks.filter((c: {status: string}) => c.status === 'failure')
    expect(failures.map((c: {id: string}) => c.id)).toEqual(['gateway-conflict/legacy-web/wildcard-443', 'ingressgateway-service'])
    expect(failures[1].detail).toContain('exposed as NodePort: unsupported')
    expect(failures.every((c: {fix?: string}) => c.fix)).toBe(true)
    await ingressGatewayService('ClusterIP')
  })

  it('certs: creates the CA, the wildcard certificate and the TLS Secret; keys 0600; a second run does nothing', async () => {
    const r = await cluster.run(['certs', '--out-dir', outDir, '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const all = r.stdout + r.stderr
    expect(all).not.toContain('PRIVATE KEY')
    expect(all).not.toContain('LS0tLS1CRUdJTi')
    for (const f of ['root.key', 'wildcard.key']) expect(statSync(join(outDir, f)).mode & 0o777).toBe(0o600)
    const ca = new X509Certificate(readFileSync(join(outDir, 'root.crt')))
    const leaf = new X509Certificate(readFileSync(join(outDir, 'wildcard.crt')))
    expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true)
    expect(ca.ca).toBe(true)
    expect(leaf.subjectAltName).toBe('DNS:*.apps.example.com') // the cluster's domain (Ingress config)

    const secret = (await get(Kinds.Secret, 'wildcard-certs', 'istio-system'))!
    expect(secret.type).toBe('kubernetes.io/tls')
    expect(Object.keys(secret.data).sort()).toEqual(['tls.crt', 'tls.key'])
    expect(Buffer.from(secret.data['tls.crt'], 'base64').toString()).toBe(readFileSync(join(outDir, 'wildcard.crt'), 'utf8'))
    expect(Buffer.from(secret.data['tls.key'], 'base64').toString()).toBe(readFileSync(join(outDir, 'wildcard.key'), 'utf8'))

    const again = await cluster.run(['certs', '--out-dir', outDir])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
    expect(await rv(Kinds.Secret, 'wildcard-certs', 'istio-system')).toBe(secret.metadata.resourceVersion)
  })

  it('certs: --rotate never overwrites files without --force; with it the Secret gets a new certificate, other keys kept; -o json prints no key', async () => {
    const before = (await get(Kinds.Secret, 'wildcard-certs', 'istio-system'))!
    await cluster.client.mergePatch(Kinds.Secret, 'wildcard-certs', 'istio-system', {
      metadata: {labels: {owner: 'platform'}},
      data: {'ca.crt': Buffer.from('x').toString('base64')},
    })
    const refused = await cluster.run(['certs', '--out-dir', outDir, '--rotate', '--yes'])
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toMatch(/^error: root.crt, root.key, wildcard.crt, wildcard.key already exist in .*: pass --force/)
    expect((await get(Kinds.Secret, 'wildcard-certs', 'istio-system'))!.data['tls.crt']).toBe(before.data['tls.crt'])

    const dry = await cluster.run(['certs', '--out-dir', outDir, '--rotate', '--force', '--dry-run=client', '-o', 'json'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.stdout + dry.stderr).not.toMatch(/PRIVATE KEY|LS0tLS1CRUdJTi/)
    expect(JSON.parse(dry.stdout).data).toEqual({'tls.crt': '<redacted>', 'tls.key': '<redacted>', 'ca.crt': '<redacted>'})
    const summary = await cluster.run(['certs', '--out-dir', outDir, '--rotate', '--force', '--dry-run=client', '--json'])
    expect(summary.exitCode, summary.stderr).toBe(0)
    expect(summary.stdout + summary.stderr).not.toMatch(/PRIVATE KEY|LS0tLS1CRUdJTi/)
    expect(JSON.parse(summary.stdout)).toMatchObject({
      applied: false,
      files: [],
      domain: 'apps.example.com',
      objects: [{kind: 'Secret', data: {'tls.key': '<redacted>'}}],
    })

    chmodSync(join(outDir, 'wildcard.key'), 0o644) // someone loosened it: --force writes it back as 0600
    const rotated = await cluster.run(['certs', '--out-dir', outDir, '--rotate', '--force', '--yes'])
    expect(rotated.exitCode, rotated.stderr).toBe(0)
    const after = (await get(Kinds.Secret, 'wildcard-certs', 'istio-system'))!
    expect(after.data['tls.crt']).not.toBe(before.data['tls.crt'])
    expect(after.data['ca.crt']).toBe(Buffer.from('x').toString('base64'))
    expect(after.metadata.labels).toEqual({owner: 'platform'})
    expect(Buffer.from(after.data['tls.crt'], 'base64').toString()).toBe(readFileSync(join(outDir, 'wildcard.crt'), 'utf8'))
    for (const f of ['root.key', 'wildcard.key']) expect(statSync(join(outDir, f)).mode & 0o777).toBe(0o600)
    expect(readdirSync(outDir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('certs: --ca-cert/--ca-key signs with the given CA; its key is not copied; the Secret is then valid', async () => {
    const dir = join(outDir, 'own-ca')
    const r = await cluster.run([
      'certs',
      '--ca-cert',
      join(outDir, 'root.crt'),
      '--ca-key',
      join(outDir, 'root.key'),
      '--out-dir',
      dir,
      '--domain',
      'apps.other.example.org',
      '--secret',
      'other-certs',
      '--days',
      '90',
      '--key-size',
      '3072',
      '--yes',
    ])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(existsSync(join(dir, 'root.key'))).toBe(false)
    expect(readFileSync(join(dir, 'root.crt'), 'utf8')).toBe(readFileSync(join(outDir, 'root.crt'), 'utf8'))
    const leaf = new X509Certificate(readFileSync(join(dir, 'wildcard.crt')))
    expect(leaf.checkIssued(new X509Certificate(readFileSync(join(outDir, 'root.crt'))))).toBe(true)
    expect(leaf.subjectAltName).toBe('DNS:*.apps.other.example.org')
    expect(leaf.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072)
    expect(statSync(join(dir, 'wildcard.key')).mode & 0o777).toBe(0o600)
    const secret = (await get(Kinds.Secret, 'other-certs', 'istio-system'))!
    expect(Buffer.from(secret.data['tls.crt'], 'base64').toString()).toBe(readFileSync(join(dir, 'wildcard.crt'), 'utf8'))
    const again = await cluster.run([
      'certs',
      '--ca-cert',
      join(outDir, 'root.crt'),
      '--ca-key',
      join(outDir, 'root.key'),
      '--out-dir',
      dir,
      '--domain',
      'apps.other.example.org',
      '--secret',
      'other-certs',
    ])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
  }, 120_000)

  it('certs: bad input is refused before any request', async () => {
    const r = await cluster.run(['certs', '--domain', 'not_a*domain', '--out-dir', outDir])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toBe('error: invalid --domain "not_a*domain": a DNS name such as apps.example.com expected (without "*.")')
    // A Secret of another type is never replaced (its type cannot change): refused before any key is made.
    await cluster.client.create({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {name: 'opaque-certs', namespace: 'istio-system'},
      data: {x: 'eA=='},
    })
    const opaque = await cluster.run(['certs', '--out-dir', join(outDir, 'opaque'), '--secret', 'opaque-certs', '--yes'])
    expect(opaque.exitCode).toBe(4)
    expect(opaque.stderr).toBe('error: Secret istio-system/opaque-certs exists with type Opaque, not kubernetes.io/tls; delete it or choose another --secret')
    expect(existsSync(join(outDir, 'opaque'))).toBe(false)
    expect((await get(Kinds.Secret, 'opaque-certs', 'istio-system'))!.data).toEqual({x: 'eA=='})
    // The files come after the Secret: an --out-dir that cannot be created is refused before anything changes.
    const blocked = await cluster.run(['certs', '--out-dir', join(outDir, 'root.crt', 'sub'), '--secret', 'never-created', '--yes'])
    expect(blocked.exitCode).toBe(2)
    expect(blocked.stderr).toBe(`error: cannot create --out-dir ${join(outDir, 'root.crt', 'sub')}: ${join(outDir, 'root.crt')} is not a folder`)
    expect(await get(Kinds.Secret, 'never-created', 'istio-system')).toBeNull()
    const ca = await cluster.run(['certs', '--ca-cert', join(outDir, 'wildcard.crt'), '--ca-key', join(outDir, 'wildcard.key'), '--out-dir', join(outDir, 'x')])
    expect(ca.exitCode).toBe(2)
    expect(ca.stderr).toContain('the CA certificate is not a CA')
    expect(existsSync(join(outDir, 'x'))).toBe(false)
  })

  it("configure-mesh: the SMCP carries the guide's settings, user fields kept; a second run does nothing", async () => {
    // The (stand-in) CRD types what configure-mesh writes as upstream does: excludedPorts are integers.
    await expect(
      cluster.client.mergePatch(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system', {
        spec: {proxy: {networking: {trafficControl: {inbound: {excludedPorts: ['8444']}}}}},
      }),
    ).rejects.toThrow(/excludedPorts\[0\]: Invalid value: "string"/)
    await expect(
      cluster.client.mergePatch(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system', {spec: {security: {dataPlane: {mtls: 'true'}}}}),
    ).rejects.toThrow(/mtls: Invalid value: "string"/)
    // A user's own settings in the seeded SMCP.
    await cluster.client.mergePatch(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system', {
      metadata: {annotations: {'example.com/owner': 'mesh-team'}},
      spec: {
        addons: {kiali: {enabled: false}},
        gateways: {ingress: {service: {metadata: {labels: {team: 'net'}}}}},
        proxy: {networking: {trafficControl: {inbound: {excludedPorts: [15090]}}}},
      },
    })
    const denied = await cluster.run(['configure-mesh', '--yes'], {kubeconfig: cluster.restrictedKubeconfig})
    expect(denied.exitCode).toBe(4)
    expect(denied.stderr).toMatch(/^error: forbidden: you cannot patch servicemeshcontrolplanes.maistra.io in namespace istio-system/)

    const r = await cluster.run(['configure-mesh', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const smcp = (await get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system'))!
    // The guide's SMCP, plus the seed's version and the user's own settings.
    expect(smcp.spec).toEqual({
      ...SMCP_SPEC,
      version: 'v2.5',
      addons: {kiali: {enabled: false}},
      gateways: {ingress: {service: {metadata: {labels: {team: 'net', knative: 'ingressgateway'}}}}},
      proxy: {networking: {trafficControl: {inbound: {excludedPorts: [15090, 8444, 8022]}}}},
    })
    expect(smcp.metadata.annotations).toEqual({'example.com/owner': 'mesh-team'})
    const again = await cluster.run(['configure-mesh'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
    expect(await rv(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system')).toBe(smcp.metadata.resourceVersion)
  })

  it("configure-mesh: --create makes the guide's SMCP in an empty mesh namespace; several SMCPs need --name", async () => {
    await cluster.client.create({apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'mesh-two'}})
    const none = await cluster.run(['configure-mesh', '--mesh-namespace', 'mesh-two', '--yes'])
    expect(none.exitCode).toBe(4)
    expect(none.stderr).toBe('error: there is no ServiceMeshControlPlane in mesh-two; pass --create to create "basic" as the guide does, or --mesh-namespace')
    const created = await cluster.run(['configure-mesh', '--mesh-namespace', 'mesh-two', '--create', '--yes'])
    expect(created.exitCode, created.stderr).toBe(0)
    const smcp = (await get(Kinds.ServiceMeshControlPlane, 'basic', 'mesh-two'))!
    expect(smcp.spec).toEqual(SMCP_SPEC)
    await cluster.client.create({
      apiVersion: 'maistra.io/v2',
      kind: 'ServiceMeshControlPlane',
      metadata: {name: 'second', namespace: 'mesh-two'},
      spec: {profiles: ['default']},
    })
    const several = await cluster.run(['configure-mesh', '--mesh-namespace', 'mesh-two', '--yes'])
    expect(several.exitCode).toBe(4)
    expect(several.stderr).toBe('error: there are 2 ServiceMeshControlPlanes in mesh-two (basic, second); choose one with --name')
    // On a terminal it asks which one: the second (arrow down), then applies.
    const tty = await knmeshOnTty(['configure-mesh', '--mesh-namespace', 'mesh-two'], cluster.kubeconfig, [
      {when: /Several ServiceMeshControlPlanes in mesh-two: which one serves Serverless\?/, keys: '\u001B[B'},
      {when: /❯ second/, keys: '\r'},
      {when: /Apply 1 change\(s\)\?/, keys: 'y\r'},
    ])
    expect(tty.exitCode, tty.output).toBe(0)
    expect(tty.output).toContain('~ update ServiceMeshControlPlane/mesh-two/second')
    expect((await get(Kinds.ServiceMeshControlPlane, 'second', 'mesh-two'))!.spec).toEqual({...SMCP_SPEC})
    const named = await cluster.run(['configure-mesh', '--mesh-namespace', 'mesh-two', '--name', 'second'])
    expect(named.exitCode, named.stderr).toBe(0)
    expect(named.stdout).toContain('nothing to do')
  }, 120_000)

  it('create-gateways: refuses while another Gateway binds 443 "*"; then creates exactly the guide\'s objects, keeping user fields', async () => {
    const refused = await cluster.run(['create-gateways', '--yes'])
    expect(refused.exitCode).toBe(4)
    expect(refused.stderr).toBe(
      'error: Gateway legacy-web/wildcard-443 already binds port 443 with host "*" (see kubectl knmesh precheck); remove it, or pass --force',
    )
    expect(await get(Kinds.Gateway, 'knative-ingress-gateway', 'knative-serving')).toBeNull()
    await cluster.client.delete(Kinds.Gateway, 'wildcard-443', 'legacy-web')

    // Serverless's own local gateway as it was before (plain HTTP), with a user's label.
    await cluster.client.create({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: {name: 'knative-local-gateway', namespace: 'knative-serving', labels: {'app.kubernetes.io/part-of': 'mine'}},
      spec: {selector: {knative: 'ingressgateway'}, servers: [{port: {number: 8081, name: 'http', protocol: 'HTTP'}, hosts: ['*']}]},
    })
    const r = await cluster.run(['create-gateways', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).not.toContain('warning')
    const ingress = (await get(Kinds.Gateway, 'knative-ingress-gateway', 'knative-serving'))!
    expect(ingress.spec).toEqual(INGRESS_GATEWAY_SPEC)
    const local = (await get(Kinds.Gateway, 'knative-local-gateway', 'knative-serving'))!
    expect(local.spec).toEqual(LOCAL_GATEWAY_SPEC)
    expect(local.metadata.labels).toEqual({'app.kubernetes.io/part-of': 'mine'})
    const svc = (await get(Kinds.Service, 'knative-local-gateway', 'istio-system'))!
    expect(svc.metadata.labels).toEqual(LOCAL_GATEWAY_SERVICE.labels)
    expect(svc.spec.type).toBe(LOCAL_GATEWAY_SERVICE.spec.type)
    expect(svc.spec.selector).toEqual(LOCAL_GATEWAY_SERVICE.spec.selector)
    // The API server defaults the port protocol.
    expect(svc.spec.ports).toEqual(LOCAL_GATEWAY_SERVICE.spec.ports.map((p) => ({...p, protocol: 'TCP'})))

    const again = await cluster.run(['create-gateways'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
  }, 120_000)

  it('create-gateways: warns when the credential Secret is missing', async () => {
    const r = await cluster.run(['create-gateways', '--secret', 'missing-certs', '--dry-run=client'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toContain(
      'warning: Secret istio-system/missing-certs does not exist: the ingress gateway cannot serve TLS until it does (kubectl knmesh certs)',
    ) // issue 18 item 11: hints name the verb as called (was "knmesh certs")
    expect(r.stdout).toContain('-        credentialName: wildcard-certs')
  })

  it('enable-istio on a terminal: offers add-namespace; accepted, it is part of the one diff (then declined: nothing changes)', async () => {
    const before = await rv(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')
    const r = await knmeshOnTty(['enable-istio'], cluster.kubeconfig, [
      {when: /Include "kubectl knmesh add-namespace" in this change\?/, keys: 'y\r'},
      {when: /Apply \d+ change\(s\)\?/, keys: 'n\r'},
    ])
    expect(r.output).toContain('add-namespace has work to do: knative-serving and knative-eventing are not both members of the ServiceMeshMemberRoll')
    expect(r.output).toContain('Include "kubectl knmesh add-namespace" in this change?')
    expect(r.output).not.toContain('configure-mesh has work to do') // done by the earlier steps
    expect(r.output).toContain('~ update ServiceMeshMemberRoll/istio-system/default')
    expect(r.output).toContain('~ update KnativeServing/knative-serving/knative-serving')
    expect(r.output).toMatch(/Apply \d+ change\(s\)\?/)
    expect(r.output).toContain('aborted: nothing changed')
    expect(r.exitCode, r.output).toBe(3)
    expect(await rv(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')).toBe(before)
  }, 90_000)

  it('enable-istio: says which prerequisite to run; with --prerequisites folds add-namespace in; Serving, Eventing, Kafka and the ServiceEntry match the guide', async () => {
    await cluster.client.create({
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeEventing',
      metadata: {name: 'knative-eventing', namespace: 'knative-eventing'},
      spec: {
        config: {features: {'kreference-group': 'enabled'}},
        workloads: [
          {name: 'mt-broker-filter', replicas: 2},
          {name: 'eventing-webhook', annotations: {a: 'b'}},
        ],
      },
    })
    await cluster.client.create({
      apiVersion: 'operator.serverless.openshift.io/v1alpha1',
      kind: 'KnativeKafka',
      metadata: {name: 'knative-kafka', namespace: 'knative-eventing'},
      spec: {
        channel: {enabled: true, bootstrapServers: 'my-cluster-kafka-bootstrap.kafka:9092'},
        source: {enabled: true},
        broker: {enabled: true, defaultConfig: {bootstrapServers: 'my-cluster-kafka-bootstrap.kafka:9092', numPartitions: 10, replicationFactor: 3}},
        sink: {enabled: true},
      },
    })
    const told = await cluster.run(['enable-istio', '--dry-run=client'])
    expect(told.exitCode, told.stderr).toBe(0)
    expect(told.stderr).toContain(
      'warning: knative-serving and knative-eventing are not both members of the ServiceMeshMemberRoll: run "kubectl knmesh add-namespace knative-serving" (or pass --prerequisites)',
    )

    const r = await cluster.run(['enable-istio', '--prerequisites', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect((await get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))!.spec).toEqual({members: ['knative-serving', 'knative-eventing']})

    const ks = (await get(Kinds.KnativeServing, 'knative-serving', 'knative-serving'))!
    expect(ks.spec).toEqual(servingSpec())
    const ke = (await get(Kinds.KnativeEventing, 'knative-eventing', 'knative-eventing'))!
    expect(ke.spec.config).toEqual({features: {'kreference-group': 'enabled', istio: 'enabled'}})
    expect(ke.spec.workloads).toEqual([
      {name: 'mt-broker-filter', replicas: 2, annotations: ANN},
      {name: 'eventing-webhook', annotations: {a: 'b'}},
      ...EVENTING_WORKLOADS.filter((n) => n !== 'mt-broker-filter').map((name) => ({name, annotations: ANN})),
    ])
    const kk = (await get(Kinds.KnativeKafka, 'knative-kafka', 'knative-eventing'))!
    expect(kk.spec.workloads).toEqual(KAFKA_WORKLOADS.map((name) => ({name, annotations: ANN})))
    expect(kk.spec.channel).toEqual({enabled: true, bootstrapServers: 'my-cluster-kafka-bootstrap.kafka:9092'})
    const se = (await get(Kinds.ServiceEntry, 'kafka-cluster', 'knative-eventing'))!
    expect(se.spec).toEqual(serviceEntrySpec(['my-cluster-kafka-bootstrap.kafka']))
  })

  it('enable-istio: bad --kafka-ports / --kafka-bootstrap are refused before any request', async () => {
    const a = await cluster.run(['enable-istio', '--kafka-ports', '9092:tcp-plain,http'])
    expect(a.exitCode).toBe(2)
    expect(a.stderr).toBe('error: invalid --kafka-ports entry "http": NUMBER or NUMBER:NAME expected, e.g. 9092:tcp-plain')
    const b = await cluster.run(['enable-istio', '--kafka-bootstrap', 'bad host:x'])
    expect(b.exitCode).toBe(2)
    // Repeats istiod would refuse: one clear line, exit 2, and nothing sent (an unreachable server would be exit 4).
    const nowhere = join(outDir, 'unreachable.kubeconfig')
    writeFileSync(
      nowhere,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    )
    const c = await cluster.run(['enable-istio', '--kafka-ports', '9092:tcp-plain,9093:tcp-tls,9096:tcp-tls', '--yes'], {kubeconfig: nowhere})
    expect([c.exitCode, c.stdout, c.stderr]).toEqual([
      2,
      '',
      'error: --kafka-ports gives the name "tcp-tls" to ports 9093 and 9096: port names must be unique (istiod refuses a ServiceEntry that repeats a port name)',
    ])
    const d = await cluster.run(['enable-istio', '--kafka-ports', '9092,9093,9092:tcp-again', '--yes'], {kubeconfig: nowhere})
    expect([d.exitCode, d.stdout, d.stderr]).toEqual([
      2,
      '',
      'error: --kafka-ports lists port 9092 twice: each port once (istiod refuses a ServiceEntry that repeats a port number)',
    ])
    // The very same entry twice is a repeat too.
    const e = await cluster.run(['enable-istio', '--kafka-ports', '9092,9092', '--yes'], {kubeconfig: nowhere})
    expect([e.exitCode, e.stdout, e.stderr]).toEqual([
      2,
      '',
      'error: --kafka-ports lists port 9092 twice: each port once (istiod refuses a ServiceEntry that repeats a port number)',
    ])
  })

  it('a second pass of every verb changes nothing', async () => {
    const objects: [(typeof Kinds)[keyof typeof Kinds], string, string][] = [
      [Kinds.Secret, 'wildcard-certs', 'istio-system'],
      [Kinds.ServiceMeshControlPlane, 'basic', 'istio-system'],
      [Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'],
      [Kinds.Gateway, 'knative-ingress-gateway', 'knative-serving'],
      [Kinds.Gateway, 'knative-local-gateway', 'knative-serving'],
      [Kinds.Service, 'knative-local-gateway', 'istio-system'],
      [Kinds.KnativeServing, 'knative-serving', 'knative-serving'],
      [Kinds.KnativeEventing, 'knative-eventing', 'knative-eventing'],
      [Kinds.KnativeKafka, 'knative-kafka', 'knative-eventing'],
      [Kinds.ServiceEntry, 'kafka-cluster', 'knative-eventing'],
    ]
    const before = await Promise.all(objects.map(([k, n, ns]) => rv(k, n, ns)))
    const pre = await cluster.run(['precheck'])
    expect(pre.exitCode, pre.stdout + pre.stderr).toBe(0)
    for (const args of [['certs', '--out-dir', outDir], ['configure-mesh'], ['create-gateways'], ['enable-istio']]) {
      const r = await cluster.run(args)
      expect(r.exitCode, `${args[0]}: ${r.stderr}`).toBe(0)
      expect(r.stdout, args[0]).toContain('nothing to do')
      expect(r.stderr, args[0]).not.toContain('warning')
    }
    expect(await Promise.all(objects.map(([k, n, ns]) => rv(k, n, ns)))).toEqual(before)
  })

  it('configure-mesh keeps a drain of at least 35s (600s, 1m30s) and raises a shorter one; status agrees', async () => {
    const drain = async () =>
      (await get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system'))!.spec.techPreview.meshConfig.defaultConfig.terminationDrainDuration
    const setDrain = (d: string) =>
      cluster.client.mergePatch(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system', {
        spec: {techPreview: {meshConfig: {defaultConfig: {terminationDrainDuration: d}}}},
      })
    const statusRow = async () => {
      const st = await cluster.run(['status', '-o', 'json'])
      return JSON.parse(st.stdout).rows.find((x: {check: string}) => x.check === 'control plane settings')
    }
    for (const long of ['600s', '1m30s']) {
      await setDrain(long)
      const before = await rv(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system')
      const r = await cluster.run(['configure-mesh', '--yes'])
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stdout).toContain('nothing to do')
      expect(r.stdout).toContain(`terminationDrainDuration ${long} is kept: the guide needs at least 35s`)
      expect(await drain()).toBe(long)
      expect(await rv(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system')).toBe(before)
      expect(await statusRow()).toMatchObject({state: 'ok'})
    }
    await setDrain('20s')
    expect(await statusRow()).toMatchObject({
      state: 'failure',
      detail: 'basic: terminationDrainDuration 20s is shorter than 35s',
      fix: 'kubectl knmesh configure-mesh',
    })
    const r = await cluster.run(['configure-mesh', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(await drain()).toBe('35s')
    expect(await statusRow()).toMatchObject({state: 'ok'})
  }, 240_000)

  it("enable-istio --kafka-bootstrap with a port outside 9092-9096 (several servers): the ServiceEntry gets it; the user's fields stay", async () => {
    await cluster.client.mergePatch(Kinds.ServiceEntry, 'kafka-cluster', 'knative-eventing', {
      metadata: {labels: {team: 'data'}},
      spec: {subjectAltNames: ['kafka.example.com']},
    })
    const r = await cluster.run(['enable-istio', '--kafka-bootstrap', 'my-cluster-kafka-bootstrap.kafka:9443,backup-kafka-bootstrap.kafka:9092', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('port 9443 of the Kafka bootstrap servers is not among the listener ports: ServiceEntry kafka-cluster gets it as tcp-9443')
    const se = (await get(Kinds.ServiceEntry, 'kafka-cluster', 'knative-eventing'))!
    const guide = serviceEntrySpec(['my-cluster-kafka-bootstrap.kafka', 'backup-kafka-bootstrap.kafka'])
    expect(se.metadata.labels).toEqual({team: 'data'})
    expect(se.spec).toEqual({...guide, ports: [...guide.ports, {number: 9443, name: 'tcp-9443', protocol: 'TCP'}], subjectAltNames: ['kafka.example.com']})
    const again = await cluster.run(['enable-istio', '--kafka-bootstrap', 'my-cluster-kafka-bootstrap.kafka:9443,backup-kafka-bootstrap.kafka:9092'])
    expect(again.stdout).toContain('nothing to do')
  }, 120_000)
})
