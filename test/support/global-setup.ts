/**
 * vitest globalSetup for the integration project: ONE control plane for the
 * whole run (etcd + kube-apiserver + CRDs + "fresh Serverless" seed).
 *
 * Tests read paths with `inject('adminKubeconfig')` / `inject('restrictedKubeconfig')`
 * / `inject('server')` (see inject.d.ts) or process.env.KNMESH_TEST_KUBECONFIG /
 * KNMESH_TEST_RESTRICTED_KUBECONFIG.
 *
 * Reuse: if KNMESH_TEST_KUBECONFIG and KNMESH_TEST_RESTRICTED_KUBECONFIG are
 * already set (e.g. exported from `npm run controlplane`), no control plane is
 * started and those are used as they are (state left by earlier runs included).
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import type {TestProject} from 'vitest/node'
import {parse} from 'yaml'
import {startSeededControlPlane} from './controlplane.js'
import {ensureBundle} from './cli.js'

function fromKubeconfig(file: string): {server: string; caFile: string} {
  const kc = parse(readFileSync(file, 'utf8')) as {
    clusters?: {cluster?: {server?: string; 'certificate-authority'?: string}}[]
  }
  const c = kc.clusters?.[0]?.cluster
  return {server: c?.server ?? '', caFile: c?.['certificate-authority'] ?? ''}
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // KNMESH_TEST_ENTRY=bundle: every test runs the shipped bin/knmesh.js; never a stale bundle.
  if (process.env.KNMESH_TEST_ENTRY === 'bundle') ensureBundle()
  const preAdmin = process.env.KNMESH_TEST_KUBECONFIG
  const preRestricted = process.env.KNMESH_TEST_RESTRICTED_KUBECONFIG
  if (preAdmin && preRestricted) {
    process.stderr.write(`[controlplane] reusing KNMESH_TEST_KUBECONFIG=${preAdmin}\n`)
    const {server, caFile} = fromKubeconfig(preAdmin)
    project.provide('adminKubeconfig', preAdmin)
    project.provide('kubeconfig', preAdmin)
    project.provide('restrictedKubeconfig', preRestricted)
    project.provide('server', server)
    project.provide('caFile', caFile)
    project.provide('crdDir', process.env.KNMESH_TEST_CRD_DIR ?? '')
    return async () => {}
  }

  const {cp, crdDir} = await startSeededControlPlane()
  project.provide('adminKubeconfig', cp.adminKubeconfig)
  project.provide('kubeconfig', cp.adminKubeconfig)
  project.provide('restrictedKubeconfig', cp.restrictedKubeconfig)
  project.provide('server', cp.server)
  project.provide('caFile', cp.caFile)
  project.provide('crdDir', crdDir)
  // Tests (and knmesh itself) find the kubectl built with the server first;
  // a fresh machine may have none at all.
  const oldPath = process.env.PATH
  process.env.PATH = `${cp.binDir}${path.delimiter}${process.env.PATH ?? ''}`
  process.env.KNMESH_TEST_KUBECONFIG = cp.adminKubeconfig
  process.env.KNMESH_TEST_RESTRICTED_KUBECONFIG = cp.restrictedKubeconfig
  process.env.KNMESH_TEST_CRD_DIR = crdDir

  return async () => {
    process.env.PATH = oldPath
    delete process.env.KNMESH_TEST_KUBECONFIG
    delete process.env.KNMESH_TEST_RESTRICTED_KUBECONFIG
    delete process.env.KNMESH_TEST_CRD_DIR
    await cp.stop()
  }
}
