import {describe, expect, it} from 'vitest'
import {pipelineOf} from '../../src/mesh/pipelines.js'
import type {KObject} from '../../src/kube/types.js'

const obj = (kind: string, namespace: string, name: string, labels: Record<string, string>): KObject => ({
  apiVersion: 'v1',
  kind,
  metadata: {name, namespace, labels},
})

describe('pipeline-deployed services, linked as the OpenShift console links them', () => {
  it('a Pipeline of the same namespace with the same app.kubernetes.io/instance; pipeline labels on the service mean nothing', () => {
    const pipelines = [
      obj('Pipeline', 'shop', 'web-pipeline', {'app.kubernetes.io/instance': 'web', 'pipeline.openshift.io/type': 'knative'}),
      obj('Pipeline', 'other', 'api', {'app.kubernetes.io/instance': 'api'}),
    ]
    expect(pipelineOf(obj('Service', 'shop', 'web', {'app.kubernetes.io/instance': 'web'}), pipelines)?.metadata.name).toBe('web-pipeline')
    expect(pipelineOf(obj('Service', 'shop', 'api', {'app.kubernetes.io/instance': 'api'}), pipelines)).toBeNull()
    expect(pipelineOf(obj('Service', 'shop', 'x', {'pipeline.openshift.io/runtime': 'nodejs', 'tekton.dev/pipeline': 'x'}), pipelines)).toBeNull()
  })
})
