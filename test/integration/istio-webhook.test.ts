/**
 * Proves the local control plane runs Istio's own validating admission webhook
 * (tools/istio-webhook: istiod's handler and ValidateConfig from istio.io/istio)
 * like istiod does on a real mesh: objects the CRD schemas accept but Istio
 * refuses are refused by the API server with Istio's message, on create and
 * on update; valid ones are admitted.
 */
import {ApiException, CustomObjectsApi, KubeConfig} from '@kubernetes/client-node'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {ISTIO_WEBHOOK_CONFIG, ISTIO_WEBHOOK_GROUPS, ISTIO_WEBHOOK_NAME} from '../support/istio-webhook.js'
import {KubeClient} from '../../src/kube/client.js'
import {createNamespace, uniqueName} from '../support/cluster.js'

const admin = inject('adminKubeconfig')

function customObjects(): CustomObjectsApi {
  const kc = new KubeConfig()
  kc.loadFromFile(admin)
  return kc.makeApiClient(CustomObjectsApi)
}

/** The Status message of the refused request. Throws when the request succeeded. */
async function refusal(p: Promise<unknown>): Promise<{code: number; message: string}> {
  try {
    await p
  } catch (err) {
    if (!(err instanceof ApiException)) throw err
    const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body
    return {code: err.code, message: (body as {message?: string}).message ?? ''}
  }
  throw new Error('expected the API server to refuse the object')
}

const DENIED = `admission webhook "${ISTIO_WEBHOOK_NAME}" denied the request: configuration is invalid:`

function serviceEntry(namespace: string, name: string, ports: {number: number; name: string; protocol: string}[]) {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: {name, namespace},
    spec: {hosts: [`${name}.example.com`], location: 'MESH_EXTERNAL', resolution: 'DNS', ports},
  }
}

describe('Istio validating admission webhook', () => {
  const co = customObjects()
  let client: KubeClient
  beforeAll(async () => {
    client = await KubeClient.connect({kubeconfig: admin})
  })
  afterAll(() => client?.close())
  const namespace = async (prefix: string): Promise<string> => {
    const ns = uniqueName(prefix)
    await createNamespace(client, ns)
    return ns
  }

  it('is registered like istiod registers it: url client config with a CA, failurePolicy Fail, CREATE/UPDATE on the Istio groups', async () => {
    {
      const vwc = await client.request<{
        webhooks: {
          name: string
          clientConfig: {url?: string; caBundle?: string}
          rules: {operations: string[]; apiGroups: string[]}[]
          failurePolicy: string
          sideEffects: string
        }[]
      }>('GET', `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${ISTIO_WEBHOOK_CONFIG}`)
      expect(vwc.webhooks).toHaveLength(1)
      const wh = vwc.webhooks[0]!
      expect(wh.name).toBe(ISTIO_WEBHOOK_NAME)
      expect(wh.clientConfig.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/validate$/)
      expect(Buffer.from(wh.clientConfig.caBundle ?? '', 'base64').toString()).toContain('BEGIN CERTIFICATE')
      expect(wh.failurePolicy).toBe('Fail')
      expect(wh.sideEffects).toBe('None')
      expect(wh.rules[0]!.operations).toEqual(['CREATE', 'UPDATE'])
      expect(wh.rules[0]!.apiGroups).toEqual(expect.arrayContaining(['networking.istio.io', 'security.istio.io', 'telemetry.istio.io']))
      expect(ISTIO_WEBHOOK_GROUPS).toEqual(wh.rules[0]!.apiGroups)
    }
  })

  it("refuses a ServiceEntry with two ports of the same name (the CRD schema alone admits it), with Istio's message", async () => {
    const ns = await namespace('iwh-se')
    const body = serviceEntry(ns, 'dup', [
      {number: 9092, name: 'tcp', protocol: 'TCP'},
      {number: 9093, name: 'tcp', protocol: 'TCP'},
    ])
    const r = await refusal(co.createNamespacedCustomObject({group: 'networking.istio.io', version: 'v1beta1', namespace: ns, plural: 'serviceentries', body}))
    expect(r.message).toContain(DENIED)
    expect(r.message).toContain('service entry port name "tcp" already defined')
    // Nothing was stored.
    const got = await refusal(
      co.getNamespacedCustomObject({group: 'networking.istio.io', version: 'v1beta1', namespace: ns, plural: 'serviceentries', name: 'dup'}),
    )
    expect(got.code).toBe(404)
  })

  it('admits a valid ServiceEntry, then refuses an update that duplicates a port name', async () => {
    const ns = await namespace('iwh-ok')
    const good = serviceEntry(ns, 'kafka', [
      {number: 9092, name: 'tcp-9092', protocol: 'TCP'},
      {number: 9093, name: 'tcp-9093', protocol: 'TCP'},
    ])
    const created = (await co.createNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1beta1',
      namespace: ns,
      plural: 'serviceentries',
      body: good,
    })) as {metadata: {resourceVersion: string}; spec: {ports: {name: string}[]}}
    expect(created.spec.ports.map((p) => p.name)).toEqual(['tcp-9092', 'tcp-9093'])

    const bad = {
      ...good,
      metadata: {...good.metadata, resourceVersion: created.metadata.resourceVersion},
      spec: {...good.spec, ports: [good.spec.ports[0], {...good.spec.ports[1], name: 'tcp-9092'}]},
    }
    const r = await refusal(
      co.replaceNamespacedCustomObject({group: 'networking.istio.io', version: 'v1beta1', namespace: ns, plural: 'serviceentries', name: 'kafka', body: bad}),
    )
    expect(r.message).toContain(DENIED)
    expect(r.message).toContain('service entry port name "tcp-9092" already defined')
  })

  it('knmesh reports every reason of a multi-error refusal on its one error line', async () => {
    const ns = await namespace('iwh-msg')
    const body = serviceEntry(ns, 'twice', [
      {number: 1, name: 'a', protocol: 'TCP'},
      {number: 2, name: 'a', protocol: 'TCP'},
      {number: 3, name: 'b', protocol: 'TCP'},
      {number: 4, name: 'b', protocol: 'TCP'},
    ])
    // knmesh's kinds table names ServiceEntry networking.istio.io/v1alpha3.
    const err = await client.create({...body, apiVersion: 'networking.istio.io/v1alpha3'}).then(
      () => new Error('expected a refusal'),
      (e: unknown) => e as Error,
    )
    expect(err.message).not.toContain('\n')
    expect(err.message).toContain(
      'configuration is invalid: 2 errors occurred: service entry port name "a" already defined; service entry port name "b" already defined',
    )
  })

  it('refuses an AuthorizationPolicy with an empty principal (security.istio.io goes through Istio too)', async () => {
    const ns = await namespace('iwh-ap')
    const body = {
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      metadata: {name: 'bad-principal', namespace: ns},
      spec: {action: 'ALLOW', rules: [{from: [{source: {principals: ['']}}]}]},
    }
    const r = await refusal(
      co.createNamespacedCustomObject({group: 'security.istio.io', version: 'v1beta1', namespace: ns, plural: 'authorizationpolicies', body}),
    )
    expect(r.message).toContain(DENIED)
    expect(r.message).toContain('empty value not allowed, found in Principals')

    // The same policy with a real principal is admitted.
    const ok = {
      ...body,
      metadata: {...body.metadata, name: 'good-principal'},
      spec: {action: 'ALLOW', rules: [{from: [{source: {principals: ['cluster.local/ns/knative-serving/sa/controller']}}]}]},
    }
    await co.createNamespacedCustomObject({group: 'security.istio.io', version: 'v1beta1', namespace: ns, plural: 'authorizationpolicies', body: ok})
  })

  it('refuses a Gateway with an invalid host', async () => {
    const ns = await namespace('iwh-gw')
    const body = {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'Gateway',
      metadata: {name: 'bad-host', namespace: ns},
      spec: {
        selector: {istio: 'ingressgateway'},
        servers: [{port: {number: 80, name: 'http', protocol: 'HTTP'}, hosts: ['not a host!']}],
      },
    }
    const r = await refusal(co.createNamespacedCustomObject({group: 'networking.istio.io', version: 'v1beta1', namespace: ns, plural: 'gateways', body}))
    expect(r.message).toContain(DENIED)
    expect(r.message).toContain('domain name "not a host!" invalid')
  })
})
