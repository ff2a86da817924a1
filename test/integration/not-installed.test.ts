import {describe, expect, it} from 'vitest'
import {isolatedCluster} from '../support/cluster.js'

/** A plain Kubernetes cluster: no Service Mesh Operator, no Serverless Operator. */
const cluster = isolatedCluster({crds: false})

describe('on a cluster without the operators', () => {
  it('a writing verb says which kind is not served and which operator to install, in one line, changing nothing', async () => {
    const r = await cluster.run(['add-namespace', 'team-bravo-1', '--yes'])
    expect(r.exitCode).toBe(4)
    const errors = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('error:'))
    expect(errors).toEqual([
      'error: ServiceMeshMemberRoll (servicemeshmemberrolls.maistra.io/v1) is not served by this cluster: is the Red Hat OpenShift Service Mesh Operator installed?',
    ])
    expect(r.stdout).not.toContain('applied')
  })

  it('precheck fails on the missing CRDs and names what installs them', async () => {
    const r = await cluster.run(['precheck', '-o', 'json'])
    expect(r.exitCode).toBe(1)
    const checks = JSON.parse(r.stdout).checks as {id: string; status: string; fix?: string}[]
    const failed = checks.filter((c) => c.status === 'failure').map((c) => c.id)
    expect(failed).toEqual(
      expect.arrayContaining(['crd/servicemeshcontrolplanes.maistra.io', 'crd/servicemeshmemberrolls.maistra.io', 'crd/knativeservings.operator.knative.dev']),
    )
  })

  it('status reports the missing prerequisites instead of crashing', async () => {
    const r = await cluster.run(['status'])
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toContain('crd/servicemeshmemberrolls.maistra.io')
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('error:')),
    ).toHaveLength(1)
  })
})
