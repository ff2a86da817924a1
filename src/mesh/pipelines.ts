import type {KObject} from '../kube/types.js'

export const INSTANCE_LABEL = 'app.kubernetes.io/instance'

/**
 * The Tekton Pipeline that deploys a Knative Service, linked the way the
 * OpenShift console links them (console "Import from Git" with a pipeline):
 * the console gives the Pipeline it creates the label
 * app.kubernetes.io/instance=<application name>
 * (frontend/packages/pipelines-plugin/src/components/import/pipeline/pipeline-template-utils.ts,
 * createPipelineForImportFlow), the Knative Service the same label through
 * getAppLabels (knative-plugin/src/utils/create-knative-utils.ts) and no
 * pipeline label, and finds a resource's pipeline as the Pipeline of its
 * namespace with the same app.kubernetes.io/instance
 * (pipelines-plugin/src/utils/pipeline-plugin-utils.ts,
 * getPipelinesAndPipelineRunsForResource). null: none.
 */
export function pipelineOf(svc: KObject, pipelines: KObject[]): KObject | null {
  const instance = svc.metadata.labels?.[INSTANCE_LABEL]
  if (!instance) return null
  return pipelines.find((p) => p.metadata.namespace === svc.metadata.namespace && p.metadata.labels?.[INSTANCE_LABEL] === instance) ?? null
}
