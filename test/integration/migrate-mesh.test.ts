import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {healthyIstioStatus} from '../support/controlplane.js'

// The wildcard certificate knmesh certs makes on 2.x (beforeAll): its base64 values, to check the copy and that the key is never printed.
let CERT = ''
let KEY = ''
const ROUTE_LABEL = 'serving.knative.openshift.io/ingressName'
const ISTIO_2 = {
  'gateway.knative-serving.knative-ingress-gateway': 'istio-ingressgateway.istio-system.svc.cluster.local',
  'local-gateway.knative-serving.knative-local-gateway': 'knative-local-gateway.istio-system.svc.cluster.local',
}
const ISTIO_3 = {
  'gateway.knative-serving.knative-ingress-gateway': 'knative-istio-ingressgateway.knative-serving-ingress.svc.cluster.local',
  'local-gateway.knative-serving.knative-local-gateway': 'knative-local-gateway.knative-serving-ingress.svc.cluster.local',
}

const route = (name: string, to: string, labels: Record<string, string>): KObject => ({
  apiVersion: 'route.openshift.io/v1',
  kind: 'Route',
  metadata: {name, namespace: 'istio-system', labels},
  spec: {host: `${name}.apps.example.com`, to: {kind: 'Service', name: to, weight: 100}, port: {targetPort: 'https'}, tls: {termination: 'passthrough'}},
})

/**
 * migrate-mesh --to 3 on a Serverless install on Service Mesh 2.x whose Service Mesh 3 operator is installed (the
 * Sail CRDs served, no Istio yet: isolatedCluster({mesh: 'both', seedMesh: 2})). No Sail operator runs here: the
 * test marks the Istio and IstioCNI Ready through the status subresource (markSailReady), as the operator would.
 */
describe('migrate-mesh --to 3', () => {
  const cluster = isolatedCluster({mesh: 'both', seedMesh: 2})

  /** Test double of the Sail operator: the Istio and IstioCNI report Ready. */
  async function markSailReady(): Promise<void> {
    await cluster.client.request('PATCH', '/apis/sailoperator.io/v1/istios/default/status', {
      body: healthyIstioStatus(),
      contentType: 'application/merge-patch+json',
    })
    await cluster.client.request('PATCH', '/apis/sailoperator.io/v1/istiocnis/default/status', {
      body: {
        status: {
          state: 'Healthy',
          conditions: [
            {type: 'Ready', status: 'True'},
            {type: 'Reconciled', status: 'True'},
          ],
        },
      },
      contentType: 'application/merge-patch+json',
    })
  }

  beforeAll(async () => {
    const c = cluster.client
    // The 2.x setup the guide leaves: SMCP with its settings (plus a user label), member roll, gateways, certificate, Routes.
    await c.mergePatch(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system', {
      metadata: {labels: {owner: 'platform-team'}},
      spec: {
        security: {dataPlane: {mtls: true}},
        techPreview: {meshConfig: {defaultConfig: {terminationDrainDuration: '35s'}}},
        proxy: {networking: {trafficControl: {inbound: {excludedPorts: [8444, 8022, 9090]}}}},
        gateways: {ingress: {service: {metadata: {labels: {knative: 'ingressgateway'}}}}},
      },
    })
    await createNamespace(c, 'team-a', {team: 'a'})
    await c.mergePatch(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system', {spec: {members: ['knative-serving', 'knative-eventing', 'team-a']}})
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {spec: {config: {istio: ISTIO_2, deployment: {progressDeadline: '600s'}}}})
    await c.create({
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeEventing',
      metadata: {name: 'knative-eventing', namespace: 'knative-eventing'},
      spec: {config: {features: {istio: 'enabled'}}},
    })
    await c.create({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: {name: 'knative-ingress-gateway', namespace: 'knative-serving'},
      spec: {
        selector: {knative: 'ingressgateway'},
        servers: [{port: {number: 443, name: 'https', protocol: 'HTTPS'}, hosts: ['*'], tls: {mode: 'SIMPLE', credentialName: 'wildcard-certs'}}],
      },
    })
    const certs = await cluster.run(['certs', '--out-dir', mkdtempSync(join(tmpdir(), 'knmesh-migrate-certs-')), '--yes'])
    expect(certs.exitCode, certs.stderr + certs.stdout).toBe(0)
    const filter = await cluster.run(['filter-secrets', '--yes'])
    expect(filter.exitCode, filter.stderr + filter.stdout).toBe(0)
    const secret = await c.get(Kinds.Secret, 'wildcard-certs', 'istio-system')
    CERT = secret?.data['tls.crt']
    KEY = secret?.data['tls.key']
    expect(KEY.length).toBeGreaterThan(100)
    await c.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {name: 'knative-local-gateway', namespace: 'istio-system'},
      spec: {selector: {istio: 'ingressgateway'}, ports: [{name: 'http2', port: 80, targetPort: 8081}]},
    })
    // A Route the route controller made for the 2.x gateway (its istio-ingressgateway is not there), and one of the user's.
    await c.create(route('route-hello', 'istio-ingressgateway', {[ROUTE_LABEL]: 'hello'}))
    await c.create(route('user-route', 'istio-ingressgateway', {app: 'mine'}))
    // Chapter 2 on 2.x: the cluster-wide policies and one tenant, as knmesh tenant-authz writes them there.
    for (const args of [['--defaults'], ['team-a', '--namespaces', 'team-a']]) {
      const r = await cluster.run(['tenant-authz', ...args, '--yes'])
      expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    }
    // A Knative Service annotated for 2.x's injector (guide 1.4.4).
    await c.create({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {name: 'hello', namespace: 'team-a', annotations: {'serving.knative.openshift.io/enablePassthrough': 'true'}},
      spec: {
        template: {
          metadata: {annotations: {'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/rewriteAppHTTPProbers': 'true'}},
          spec: {containers: [{image: 'quay.io/example/hello'}]},
        },
      },
    })
  })

  /** Test double of the Serverless operator: KnativeServing reports Ready (tenant-authz on Service Mesh 3 waits for it). */
  async function markServingReady(): Promise<void> {
    await cluster.client.request('PATCH', '/apis/operator.knative.dev/v1beta1/namespaces/knative-serving/knativeservings/knative-serving/status', {
      body: {status: {conditions: [{type: 'Ready', status: 'True'}]}},
      contentType: 'application/merge-patch+json',
    })
  }

  it('prints the plan read-only (table, -o json with Secret values redacted) and changes nothing; --dry-run=client shows the diffs up to the first step that needs an earlier one', async () => {
    const smcpBefore = await cluster.client.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system')
    const r = await cluster.run(['migrate-mesh', '--to', '3'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('Service Mesh 2 → 3 migration plan for istio-system (read-only: --apply runs it step by step)')
    expect(r.stdout).toMatch(/STEP\s+TITLE\s+CHANGES/)
    for (const line of [
      'create Istio default',
      'create IstioCNI default',
      'create Secret knative-serving-ingress/wildcard-certs',
      'update Namespace team-a (labels',
      'create Deployment knative-serving-ingress/knative-istio-ingressgateway',
      'update KnativeServing knative-serving/knative-serving',
      'update Service team-a/hello',
      'waits: KnativeServing knative-serving/knative-serving is not Ready',
      'delete Route istio-system/route-hello',
      'delete ServiceMeshControlPlane istio-system/basic',
    ]) {
      expect(r.stdout, line).toContain(line)
    }
    // A note several steps share is said once.
    expect(r.stdout).toContain('\nsteps 5, 6, 7, 8, 10, 11: runs once Istio default and IstioCNI default are Ready (created in step 4)\n')
    expect(r.stderr).toContain('warning: step 1: ServiceMeshControlPlane basic is v2.5: Service Mesh 2 must be on the latest 2.6')
    expect(r.stderr).not.toContain('not wired yet')
    expect(r.stdout + r.stderr).not.toContain(KEY)

    const json = await cluster.run(['migrate-mesh', '--to', '3', '-o', 'json'])
    expect(json.exitCode, json.stderr).toBe(0)
    const data = JSON.parse(json.stdout) as {steps: {step: number; changes: string[]; objects: KObject[]}[]}
    expect(data.steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    const secret = data.steps[4].objects.find((o) => o.kind === 'Secret')!
    expect(secret.data).toEqual({'tls.crt': '<redacted>', 'tls.key': '<redacted>'})
    const istio = data.steps[3].objects.find((o) => o.kind === 'Istio')!
    expect(istio.spec).toEqual({
      namespace: 'istio-system',
      version: 'v1.27-latest',
      updateStrategy: {type: 'InPlace'},
      values: {
        meshConfig: {defaultConfig: {terminationDrainDuration: '35s'}, discoverySelectors: [{matchLabels: {'istio-discovery': 'istio-system'}}]},
        global: {proxy: {excludeInboundPorts: '8444,8022,9090'}},
      },
    })

    const dry = await cluster.run(['migrate-mesh', '--to', '3', '--apply', '--dry-run=client', '--yes'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.stdout).toContain('[2/11] Prepare the ServiceMeshControlPlane')
    expect(dry.stdout).toContain('+ create Istio/default')
    expect(dry.stdout).toContain('dry run: step 5 can be shown once the steps before it are applied')

    expect(await cluster.client.get(Kinds.Istio, 'default')).toBeNull()
    expect(await cluster.client.get(Kinds.Namespace, 'knative-serving-ingress')).toBeNull()
    expect((await cluster.client.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system'))?.metadata.resourceVersion).toBe(
      smcpBefore?.metadata.resourceVersion,
    )
  })

  it('bad input: an --istio-version the operator does not install is exit 2, nothing changed; no terminal and no --yes is exit 3 at the first step with changes', async () => {
    const bad = await cluster.run(['migrate-mesh', '--to', '3', '--istio-version', 'v1.99-latest', '--apply', '--yes'])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/^error: --istio-version v1\.99-latest is not one this Service Mesh 3 operator installs \(its Istio CRD allows v1\.27-latest, /)
    const noTty = await cluster.run(['migrate-mesh', '--to', '3', '--apply'])
    expect(noTty.exitCode).toBe(3)
    expect(noTty.stderr).toMatch(
      /\nerror: step 2 \(Prepare the ServiceMeshControlPlane\) not applied: 3 change\(s\) not applied: no terminal to confirm on; run again with --yes to apply; run `kubectl knmesh migrate-mesh --to 3 --apply --from-step 2` to go on$/,
    )
    expect(await cluster.client.get(Kinds.Istio, 'default')).toBeNull()
  })

  it('--apply --yes: stops after step 2 (this SMCP CRD, 2.5, drops manageNetworkPolicy), then --from-step 3 installs the Istio and stops while it is not Ready', async () => {
    const first = await cluster.run(['migrate-mesh', '--to', '3', '--apply', '--yes'])
    expect(first.exitCode, first.stderr + first.stdout).toBe(4)
    expect(first.stderr).toContain(
      "error: step 2 (Prepare the ServiceMeshControlPlane) is applied but not done: ServiceMeshControlPlane basic did not keep spec.security.manageNetworkPolicy=false (the API server dropped it: the Service Mesh 2 operator's CRD is older than 2.6): upgrade the Service Mesh 2 operator and the control plane to 2.6; then run `kubectl knmesh migrate-mesh --to 3 --apply --from-step 2 --yes`",
    )
    expect(await cluster.client.get(Kinds.Istio, 'default')).toBeNull()
    // The person goes on anyway, from the next step.
    const r = await cluster.run(['migrate-mesh', '--to', '3', '--apply', '--from-step', '3', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(4)
    expect(r.stderr).toContain(
      'error: step 4 (Install the Istio and IstioCNI) is applied but not done: Istio default and IstioCNI default are not Ready yet (the Service Mesh 3 operator installs them: kubectl get istio,istiocni): wait until the operator reports Ready; then run `kubectl knmesh migrate-mesh --to 3 --apply --from-step 4 --yes`',
    )
    expect(first.stdout).toContain('[1/11] Check the preconditions')
    expect(r.stdout).toContain('[3/11] Fix ServiceEntries\nnothing to do: the cluster already matches')

    const smcp = await cluster.client.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system')
    expect(smcp?.spec.security).toEqual({dataPlane: {mtls: true}})
    expect(smcp?.spec.addons).toMatchObject({prometheus: {enabled: false}, kiali: {enabled: false}, grafana: {enabled: false}})
    expect(smcp?.spec.tracing).toEqual({type: 'None'})
    // The gateways stay on until the new one serves; the user's fields and label stay.
    expect(smcp?.spec.gateways).toEqual({ingress: {service: {metadata: {labels: {knative: 'ingressgateway'}}}}})
    expect(smcp?.metadata.labels?.owner).toBe('platform-team')
    expect(smcp?.spec.version).toBe('v2.5')
    for (const [kind, name] of [
      [Kinds.KnativeServing, 'knative-serving'],
      [Kinds.KnativeEventing, 'knative-eventing'],
    ] as const) {
      expect((await cluster.client.get(kind, name, name))?.metadata.annotations?.['serverless.openshift.io/disable-istio-net-policies-generation'], name).toBe(
        'true',
      )
    }
    const istio = await cluster.client.get(Kinds.Istio, 'default')
    expect(istio?.spec.values.global.proxy.excludeInboundPorts).toBe('8444,8022,9090')
    expect(istio?.spec.values.meshConfig.discoverySelectors).toEqual([{matchLabels: {'istio-discovery': 'istio-system'}}])
    expect((await cluster.client.get(Kinds.IstioCNI, 'default'))?.spec).toMatchObject({namespace: 'istio-cni', version: 'v1.27-latest'})
    expect(await cluster.client.get(Kinds.Namespace, 'istio-cni')).not.toBeNull()
    expect((await cluster.client.get(Kinds.PeerAuthenticationV1, 'mesh-mtls', 'istio-system'))?.spec).toEqual({mtls: {mode: 'STRICT'}})

    // Resuming before the Istio is Ready stops at once, the same way.
    const early = await cluster.run(['migrate-mesh', '--to', '3', '--apply', '--from-step', '5', '--yes'])
    expect(early.exitCode).toBe(4)
    expect(early.stderr).toContain('error: step 5 (Gateway in knative-serving-ingress) waits: Istio default and IstioCNI default are not Ready yet')
  })

  it('--from-step 5 once Ready: the Secret copied, the gateway made, namespaces labelled, Serving and the services on labels, the policies for knative-serving-ingress, the stale Route deleted, the SMCP and member roll removed last', async () => {
    await markSailReady()
    await markServingReady()
    const r = await cluster.run(['migrate-mesh', '--to', '3', '--apply', '--from-step', '5', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    // Secret values never printed (the diff redacts them), copied whole.
    expect(r.stdout + r.stderr).not.toContain(KEY)
    const copy = await cluster.client.get(Kinds.Secret, 'wildcard-certs', 'knative-serving-ingress')
    expect(copy?.type).toBe('kubernetes.io/tls')
    expect(copy?.data).toEqual({'tls.crt': CERT, 'tls.key': KEY})
    // Step 5: create-gateways on Service Mesh 3.
    const svc = await cluster.client.get(Kinds.Service, 'knative-istio-ingressgateway', 'knative-serving-ingress')
    expect(svc?.spec.ports.map((p: {name: string}) => p.name)).toEqual(['http2', 'https'])
    expect(await cluster.client.get(Kinds.Deployment, 'knative-istio-ingressgateway', 'knative-serving-ingress')).not.toBeNull()
    const gw = await cluster.client.get(Kinds.GatewayV1, 'knative-ingress-gateway', 'knative-serving')
    expect(gw?.spec.servers[0].tls.credentialName).toBe('wildcard-certs')
    // Step 6: labels instead of the member roll.
    const labels = async (n: string) => (await cluster.client.get(Kinds.Namespace, n))?.metadata.labels ?? {}
    expect(await labels('team-a')).toMatchObject({
      team: 'a',
      'istio-injection': 'enabled',
      'maistra.io/ignore-namespace': 'true',
      'istio-discovery': 'istio-system',
    })
    for (const n of ['knative-serving', 'knative-eventing']) {
      expect(await labels(n), n).toMatchObject({'maistra.io/ignore-namespace': 'true', 'istio-discovery': 'istio-system'})
      expect((await labels(n))['istio-injection'], n).toBeUndefined()
    }
    expect(await labels('knative-serving-ingress')).toMatchObject({'istio-discovery': 'istio-system'})
    expect(await labels('istio-system')).toMatchObject({'istio-discovery': 'istio-system'})
    // Step 7: enable-istio and annotate-services on Service Mesh 3.
    const ks = await cluster.client.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving')
    expect(ks?.spec.config.istio).toEqual(ISTIO_3)
    expect(ks?.spec.config.deployment).toEqual({progressDeadline: '600s'})
    expect(ks?.metadata.annotations?.['serverless.openshift.io/disable-istio-net-policies-generation']).toBe('true')
    const hello = await cluster.client.get(Kinds.KnativeService, 'hello', 'team-a')
    expect(hello?.spec.template.metadata.labels).toEqual({'sidecar.istio.io/inject': 'true'})
    expect(hello?.spec.template.metadata.annotations).toEqual({'sidecar.istio.io/rewriteAppHTTPProbers': 'true'})
    // Step 9: the policies admit knative-serving-ingress (v1), the ingress gateway policy, deny-all written after the ALLOWs.
    const tenant = await cluster.client.get(Kinds.AuthorizationPolicyV1, 'allow-from-knative-and-istio', 'team-a')
    const sources = JSON.stringify(tenant?.spec.rules)
    expect(sources).toContain('knative-serving-ingress')
    expect(sources).not.toContain('"istio-system"')
    expect(await cluster.client.get(Kinds.AuthorizationPolicyV1, 'allow-traffic-to-ingress-gateway', 'knative-serving-ingress')).not.toBeNull()
    expect(await cluster.client.get(Kinds.AuthorizationPolicyV1, 'allow-team-a-to-job-sink', 'knative-eventing')).not.toBeNull()
    // Step 8 and 11: the stale Route deleted, the 2.x gateways off, then the SMCP/SMMR gone last.
    expect(r.stdout).toMatch(/delete\s+Route\s+istio-system\s+route-hello\s+applied/)
    expect(r.stdout.indexOf('update   ServiceMeshControlPlane')).toBeLessThan(r.stdout.indexOf('delete   ServiceMeshControlPlane'))
    expect(r.stdout).toContain('migration steps 5-11 done: check with kubectl knmesh status')
    expect(r.stdout).toContain('restart the workloads yourself so Service Mesh 3 injects them')
    expect(await cluster.client.get(Kinds.ServiceMeshControlPlane, 'basic', 'istio-system')).toBeNull()
    expect(await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')).toBeNull()
    expect(await cluster.client.get(Kinds.Service, 'knative-local-gateway', 'istio-system')).toBeNull()
    expect(await cluster.client.get(Kinds.Route, 'route-hello', 'istio-system')).toBeNull()
    // Kept: the user's Route, the old Secret (key material), the Istio.
    expect(await cluster.client.get(Kinds.Route, 'user-route', 'istio-system')).not.toBeNull()
    expect(await cluster.client.get(Kinds.Secret, 'wildcard-certs', 'istio-system')).not.toBeNull()
    expect(r.stdout).toContain('Secret istio-system/wildcard-certs is kept (key material)')
    expect(await cluster.client.get(Kinds.Istio, 'default')).not.toBeNull()
  })

  it('a second run has nothing to do at any step, and the cluster is now Service Mesh 3 for the other verbs', async () => {
    const r = await cluster.run(['migrate-mesh', '--to', '3', '--apply', '--yes'])
    expect(r.exitCode, r.stderr + r.stdout).toBe(0)
    expect(r.stdout.match(/nothing to do: the cluster already matches/g)).toHaveLength(11)
    const plan = await cluster.run(['migrate-mesh', '--to', '3'])
    expect(plan.exitCode).toBe(0)
    expect(plan.stdout.match(/ nothing to do$/gm)).toHaveLength(11)
    const next = await cluster.run(['configure-mesh', '--dry-run=client'])
    expect(next.stdout).toContain('Service Mesh 3: Istio default (istio-system, revision default)')
    // The migrated cluster is one status accepts as Service Mesh 3: no failure in any area.
    const status = await cluster.run(['status', '-o', 'json'])
    expect(status.stderr).toContain('Service Mesh 3: Istio default (istio-system, revision default)')
    const rows = (JSON.parse(status.stdout) as {rows: {check: string; state: string; detail: string}[]}).rows
    expect(rows.filter((x) => x.state === 'failure')).toEqual([])
    expect(status.exitCode).toBe(0)
    expect(rows.find((x) => x.check === 'tenant team-a')?.state).toBe('ok')
  })
})
