import {describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'

// Edits KnativeServing, the member roll of istio-system and the knative-serving(-ingress) namespaces: a control plane of its own.
const cluster = isolatedCluster()

type Row = {id?: string; area?: string; check?: string; status?: string; state?: string; detail: string; fix?: string}
const rowsOf = (stdout: string): Row[] => JSON.parse(stdout).rows ?? JSON.parse(stdout).checks
const PART_OF = 'knative.openshift.io/part-of'

async function smmrMembers(): Promise<string[]> {
  return (await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.spec?.members ?? []
}

/** What the Service Mesh Operator writes into the member roll's status, through the /status subresource. */
async function writeRollStatus(status: Record<string, unknown>): Promise<void> {
  await cluster.client.request('PATCH', '/apis/maistra.io/v1/namespaces/istio-system/servicemeshmemberrolls/default/status', {
    contentType: 'application/merge-patch+json',
    body: {status},
  })
}

describe('Kourier mode (guide 1.6) against a real API server', () => {
  it('add-namespace --kourier adds only the user namespace, labels knative-serving(-ingress); precheck and status flag system members', async () => {
    const c = cluster.client
    // Kourier chosen in KnativeServing (the 1.32 operator: Kourier takes precedence); the namespaces as a
    // Serverless 1.21 install left them: without the part-of label.
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {spec: {ingress: {kourier: {enabled: true}, istio: {enabled: false}}}})
    await createNamespace(c, 'knative-serving-ingress', {owner: 'serverless'})
    await c.mergePatch(Kinds.Namespace, 'knative-serving', undefined, {metadata: {labels: {[PART_OF]: null, team: 'platform'}}})
    await createNamespace(c, 'shop')

    const pre = await cluster.run(['precheck', '-o', 'json'])
    const label = rowsOf(pre.stdout).find((r) => r.id === 'kourier/part-of-label')
    expect(label?.status).toBe('failure')
    expect(label?.detail).toContain('namespace knative-serving, knative-serving-ingress lack the label knative.openshift.io/part-of=openshift-serverless')

    const r = await cluster.run(['add-namespace', 'shop', '--kourier', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(await smmrMembers()).toEqual(['shop'])
    expect((await c.get(Kinds.NetworkPolicy, 'allow-from-serving-system-namespace', 'shop'))?.spec.podSelector).toEqual({})
    for (const ns of ['knative-serving', 'knative-serving-ingress']) {
      expect((await c.get(Kinds.Namespace, ns))?.metadata.labels?.[PART_OF], ns).toBe('openshift-serverless')
    }
    // Labels of their own survive.
    expect((await c.get(Kinds.Namespace, 'knative-serving'))?.metadata.labels?.team).toBe('platform')
    expect((await c.get(Kinds.Namespace, 'knative-serving-ingress'))?.metadata.labels?.owner).toBe('serverless')
    const again = await cluster.run(['add-namespace', 'shop', '--kourier', '--yes'])
    expect(again.stdout).toContain('nothing to do')

    // Naming a system namespace with --kourier is refused, nothing sent.
    const bad = await cluster.run(['add-namespace', 'knative-serving', '--kourier', '--yes'])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr.trim()).toBe(
      "error: with --kourier (guide 1.6) knative-serving stays outside the mesh: as a member it would cut Kourier's gateway off the activator",
    )

    const ok = await cluster.run(['status', '-o', 'json'])
    const rows = rowsOf(ok.stdout)
    expect(rows.find((x) => x.check === 'member roll')).toMatchObject({state: 'ok'})
    expect(rows.find((x) => x.check === 'kourier/system-members')).toMatchObject({state: 'ok'})
    expect(rows.find((x) => x.check === 'kourier/part-of-label')).toMatchObject({state: 'ok'})

    // The system namespaces put into the mesh (as add-namespace without --kourier did): flagged, and the fix fixes it.
    await c.mergePatch(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system', {spec: {members: ['knative-serving', 'knative-eventing', 'shop']}})
    const flagged = await cluster.run(['precheck', '-o', 'json'])
    expect(flagged.exitCode).toBe(1)
    const row = rowsOf(flagged.stdout).find((x) => x.id === 'kourier/system-members')
    expect(row?.status).toBe('failure')
    expect(row?.detail).toContain('knative-serving, knative-eventing are members of istio-system/default')
    expect(row?.fix).toBe('kubectl knmesh remove-namespace knative-serving knative-eventing --kourier (Kourier, 1.6)')
    const st = await cluster.run(['status', '-o', 'json'])
    expect(st.exitCode).toBe(1)
    expect(rowsOf(st.stdout).find((x) => x.check === 'kourier/system-members')?.state).toBe('failure')
    const fix = await cluster.run(['remove-namespace', 'knative-serving', 'knative-eventing', '--kourier', '--yes'])
    expect(fix.exitCode, fix.stderr).toBe(0)
    expect(await smmrMembers()).toEqual(['shop'])
    expect(rowsOf((await cluster.run(['precheck', '-o', 'json'])).stdout).find((x) => x.id === 'kourier/system-members')?.status).toBe('ok')
  }, 300_000)

  it('with Kourier by default (no spec.ingress) system members are a warning, naming both ways out, enable-istio first', async () => {
    const c = cluster.client
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {spec: {ingress: null}})
    await c.mergePatch(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system', {spec: {members: ['knative-serving', 'shop']}})
    const r = await cluster.run(['precheck', '-o', 'json'])
    const row = rowsOf(r.stdout).find((x) => x.id === 'kourier/system-members')
    // Nothing chosen yet: the guide's state between 1.4.2 and 1.4.3, a warning (not a failure that would stop setup).
    expect(row?.status).toBe('warning')
    expect(r.exitCode).toBe(0)
    expect(row?.detail).toContain("KnativeServing has no spec.ingress: the operator's default")
    expect(row?.fix).toBe('kubectl knmesh enable-istio (Istio, 1.4.3); or, to stay on Kourier, kubectl knmesh remove-namespace knative-serving --kourier (1.6)')
    // Istio chosen: no Kourier rows at all.
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {spec: {ingress: {istio: {enabled: true}}}})
    const istio = await cluster.run(['precheck', '-o', 'json'])
    expect(rowsOf(istio.stdout).filter((x) => x.id?.startsWith('kourier/'))).toEqual([])
  }, 120_000)

  it('enable-istio on a Kourier KnativeServing turns Kourier off (it takes precedence) and the explicit class over, saying so', async () => {
    const c = cluster.client
    await c.mergePatch(Kinds.KnativeServing, 'knative-serving', 'knative-serving', {
      spec: {
        ingress: {kourier: {enabled: true, 'service-type': 'ClusterIP'}, istio: null},
        config: {network: {'ingress.class': 'kourier.ingress.networking.knative.dev'}},
      },
    })
    const r = await cluster.run(['enable-istio', '--no-eventing', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toContain('warning: KnativeServing enables Kourier, which takes precedence over Istio: spec.ingress.kourier.enabled is set to false')
    expect(r.stderr).toContain('warning: KnativeServing spec.config.network "ingress.class" names Kourier: it is set to istio.ingress.networking.knative.dev')
    const ks = await c.get(Kinds.KnativeServing, 'knative-serving', 'knative-serving')
    expect(ks?.spec.ingress).toEqual({kourier: {enabled: false, 'service-type': 'ClusterIP'}, istio: {enabled: true}})
    expect(ks?.spec.config.network).toEqual({'ingress.class': 'istio.ingress.networking.knative.dev'})
    const again = await cluster.run(['enable-istio', '--no-eventing', '--yes'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(again.stdout).toContain('nothing to do')
  }, 120_000)
})

describe('pending members against a real API server', () => {
  it('add-namespace, annotate-services and status name the members the Service Mesh Operator has not configured', async () => {
    const c = cluster.client
    await createNamespace(c, 'ready-app')
    await createNamespace(c, 'waiting-app')
    await c.mergePatch(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system', {
      spec: {members: ['knative-serving', 'knative-eventing', 'ready-app', 'waiting-app']},
    })
    // waiting-app: listed in the spec, reported pending; not in configuredMembers.
    await writeRollStatus({
      configuredMembers: ['knative-serving', 'knative-eventing', 'ready-app'],
      pendingMembers: ['waiting-app'],
      members: ['knative-serving', 'knative-eventing', 'ready-app', 'waiting-app'],
    })
    for (const ns of ['ready-app', 'waiting-app']) {
      await c.create({
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: {name: 'web', namespace: ns},
        spec: {template: {spec: {containers: [{image: 'quay.io/example/web'}]}}},
      })
    }

    const ann = await cluster.run(['annotate-services', '--all-members', '--yes'])
    expect(ann.exitCode, ann.stderr).toBe(0)
    expect(ann.stderr).toContain('warning: namespace waiting-app is in the member roll but not configured yet by the Service Mesh Operator')
    expect(ann.stderr).toContain('waiting-app/web gets sidecars only once it has')
    expect(ann.stderr).not.toContain('ready-app')

    const add = await cluster.run(['add-namespace', 'late-app', '--yes'])
    expect(add.exitCode, add.stderr).toBe(0)
    expect(add.stderr).toContain('namespace waiting-app is in the member roll but not configured yet')
    expect(add.stdout).toContain('late-app joins the mesh once the Service Mesh Operator lists it in status.configuredMembers')

    const st = await cluster.run(['status', '-o', 'json'])
    const row = rowsOf(st.stdout).find((x) => x.check === 'members configured')
    expect(row?.state).toBe('warning')
    // late-app is in the spec but not yet in configuredMembers: pending too.
    expect(row?.detail).toContain('namespaces waiting-app, late-app are in the member roll but not configured yet')

    // Once the operator has configured them all: ok.
    await writeRollStatus({configuredMembers: ['knative-serving', 'knative-eventing', 'ready-app', 'waiting-app', 'late-app'], pendingMembers: []})
    const done = await cluster.run(['status', '-o', 'json'])
    expect(rowsOf(done.stdout).find((x) => x.check === 'members configured')).toMatchObject({state: 'ok'})
  }, 300_000)
})
