import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'
import type {KubeClient} from '../../src/kube/client.js'
import {KubeError} from '../../src/errors.js'

/** The upstream Tekton Pipeline CRD (tektoncd/pipeline release-v0.59.x, copied unchanged; see test/fixtures/crds-upstream). */
export const TEKTON_PIPELINE_CRD = fileURLToPath(new URL('../fixtures/crds-upstream/tekton.dev_pipelines.yaml', import.meta.url))

/**
 * Installs the Tekton Pipeline CRD as shipped, except what needs Tekton's own
 * webhook: conversion strategy None and v1 the only served version (v1beta1
 * not served), as SOURCES.md advises for a control plane without Tekton
 * running. Already installed (by another helper): left as it is. Waits until
 * the API server serves tekton.dev/v1 pipelines.
 */
export async function installTektonPipelineCrd(client: KubeClient): Promise<void> {
  const crd = parse(readFileSync(TEKTON_PIPELINE_CRD, 'utf8'))
  crd.spec.conversion = {strategy: 'None'}
  for (const v of crd.spec.versions) v.served = v.name === 'v1'
  try {
    await client.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {body: crd})
  } catch (error) {
    if (!(error instanceof KubeError && error.reason === 'AlreadyExists')) throw error
  }
  for (let i = 0; i < 100; i++) {
    try {
      await client.request('GET', '/apis/tekton.dev/v1/pipelines?limit=1')
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error('tekton.dev/v1 pipelines not served after 10 s')
}
