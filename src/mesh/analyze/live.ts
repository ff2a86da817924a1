import type {KObject} from '../../kube/types.js'
import {KNATIVE_SERVING, meshFlag} from '../constants.js'
import {auditGpuServices} from '../gpu.js'
import {Authorizer, predict} from '../probe.js'
import {isDenyAll, missingAllows} from './authz.js'
import {finding, ref, type Finding, type Rule} from './types.js'
import {meshView} from './view.js'

/** Known failure states, read from the live conditions Knative writes. */

export const WAITING_FOR_LB = 'Waiting for load balancer to be ready'

type Condition = {type?: string; status?: string; reason?: string; message?: string}
const conditions = (o: KObject): Condition[] => (Array.isArray(o.status?.conditions) ? o.status.conditions : [])
export const waitingForLoadBalancer = (o: KObject) =>
  conditions(o).some((c) => c.status !== 'True' && typeof c.message === 'string' && c.message.includes(WAITING_FOR_LB))

export const KNM0701: Rule = {
  code: 'KNM0701',
  severity: 'Error',
  summary:
    'A Knative Service or KIngress is stuck at "Waiting for load balancer to be ready" while a deny-all policy is in place and the activator/probe traffic it needs is not allowed (knative/net-istio issue 700).',
  run(s) {
    const stuck = [...s.knativeServices, ...s.kingresses].filter(waitingForLoadBalancer)
    if (stuck.length === 0) return []
    const az = new Authorizer(meshView(s))
    const servingGaps = missingAllows(s).find((m) => m.denyAll.metadata.namespace === KNATIVE_SERVING)
    const seen = new Set<string>()
    const out: Finding[] = []
    for (const o of stuck) {
      const ns = o.metadata.namespace!
      const key = `${ns}/${o.metadata.name}`
      if (seen.has(key)) continue
      seen.add(key)
      const denyAll = s.policies.find((p) => (p.metadata.namespace === ns || p.metadata.namespace === KNATIVE_SERVING) && isDenyAll(p, s.meshNamespace))
      if (!denyAll) continue
      const prediction = predict(az, {from: s.meshNamespace, to: ns, service: o.metadata.name, external: true})
      const causes: string[] = []
      if (servingGaps) causes.push(`${servingGaps.missing.map((m) => m.metadata.name).join(', ')} missing in ${KNATIVE_SERVING}`)
      if (prediction.verdict !== 'allow') causes.push(`the probe path is denied ${prediction.reason}`)
      if (causes.length === 0) continue
      const ksvc = s.knativeServices.find((k) => k.metadata.namespace === ns && k.metadata.name === o.metadata.name)
      const king = s.kingresses.find((k) => k.metadata.namespace === ns && k.metadata.name === o.metadata.name)
      const objects = [
        ...(ksvc ? [ref(ksvc, 'Service.serving.knative.dev')] : []),
        ...(king ? [ref(king, 'Ingress.networking.internal.knative.dev')] : []),
        ref(denyAll),
      ]
      const fix = servingGaps
        ? `knmesh tenant-authz --defaults${meshFlag(s.meshNamespace)}`
        : `knmesh probe --from ${s.meshNamespace} --to ${ns} --service ${o.metadata.name} --external, then allow what it names (knmesh tenant-authz)`
      out.push(finding(KNM0701, objects, `"${WAITING_FOR_LB}" with ${denyAll.metadata.namespace}/${denyAll.metadata.name} in place: ${causes.join('; ')}`, fix))
    }
    return out
  },
}

/** Ready/ConfigurationsReady not True because the revision is missing or failed. */
export function revisionNotReady(ksvc: KObject): Condition | undefined {
  return conditions(ksvc).find(
    (c) => (c.type === 'Ready' || c.type === 'ConfigurationsReady') && c.status !== 'True' && /^Revision(Missing|Failed)$/.test(c.reason ?? ''),
  )
}

export const KNM0702: Rule = {
  code: 'KNM0702',
  severity: 'Error',
  summary:
    "A Knative Service's revision is not ready (RevisionMissing/RevisionFailed) and its GPU limit (nvidia.com/gpu) is more than any schedulable node offers: its pods stay Pending.",
  run(s) {
    if (!s.nodes) return []
    const notReady = s.knativeServices.filter((k) => revisionNotReady(k))
    if (notReady.length === 0) return []
    return auditGpuServices(notReady, s.nodes).map((a) => {
      const k = notReady.find((x) => x.metadata.namespace === a.namespace && x.metadata.name === a.service)!
      const c = revisionNotReady(k)!
      return finding(
        KNM0702,
        [ref(k, 'Service.serving.knative.dev')],
        `${c.type} is ${c.status} (${c.reason}); container ${a.container}: ${a.problem}`,
        `add GPU nodes, or lower the limit: knmesh gpu-limit ${a.service} <count> -n ${a.namespace}`,
      )
    })
  },
}

export const LIVE_RULES = [KNM0701, KNM0702]
