import {actionOf, info, warning, type Note, type Plan} from '../change/plan.js'
import type {Check} from './precheck.js'
import {KnmeshError, MissingError} from '../errors.js'
import type {KObject} from '../kube/types.js'

/** Guide chapter 5: GPU limits of Knative Services (what `kn service update --limit nvidia.com/gpu=N` edits). */

export const GPU_RESOURCE = 'nvidia.com/gpu'

/** Guide 5.1 note: NVIDIA GPUs are not supported on IBM zSystems and IBM Power. */
export const UNSUPPORTED_GPU_ARCHES = ['s390x', 'ppc64le']

export interface GpuState {
  /** The Knative Service, or null when it does not exist. */
  service: KObject | null
  /** All nodes, or null when they could not be listed (capacity then not checked). */
  nodes: KObject[] | null
}

export interface GpuInput {
  namespace: string
  name: string
  /** The new limit; 0 removes it. */
  count: number
  /** The container to edit; default: the first one (the one `kn --limit` edits). */
  container?: string
}

/** Parses COUNT: a non-negative integer written in decimal. Returns null when it is not one. */
export function parseGpuCount(text: string): number | null {
  if (!/^\d{1,6}$/.test(text.trim())) return null
  return Number.parseInt(text.trim(), 10)
}

type Container = {name?: string; resources?: {limits?: Record<string, unknown>; requests?: Record<string, unknown>}; [k: string]: unknown}

export function containersOf(ksvc: KObject): Container[] {
  const c = ksvc.spec?.template?.spec?.containers
  return Array.isArray(c) ? c : []
}

/** The GPU limit of a container as a number (0 when unset; NaN when it is not an integer quantity). */
export function gpuLimitOf(container: Container | undefined): number {
  const v = container?.resources?.limits?.[GPU_RESOURCE]
  if (v === undefined || v === null) return 0
  return quantityToInt(v)
}

/** Integer quantities only: GPUs are counted whole ("2", 2, "2000m" is refused by the API server anyway). */
export function quantityToInt(v: unknown): number {
  const s = String(v).trim()
  if (/^\d+$/.test(s)) return Number.parseInt(s, 10)
  const k = /^(\d+)k$/.exec(s)
  if (k) return Number.parseInt(k[1], 10) * 1000
  return Number.NaN
}

function pickContainer(ksvc: KObject, wanted: string | undefined): {index: number; container: Container} {
  const list = containersOf(ksvc)
  const where = `Knative Service ${ksvc.metadata.namespace}/${ksvc.metadata.name}`
  if (list.length === 0) throw new KnmeshError(`${where} has no containers in spec.template.spec.containers`)
  if (wanted === undefined) return {index: 0, container: list[0]}
  const index = list.findIndex((c) => c?.name === wanted)
  if (index < 0) {
    const names = list.map((c, i) => c?.name ?? `#${i} (unnamed)`).join(', ')
    throw new KnmeshError(`${where} has no container "${wanted}" (containers: ${names})`)
  }
  return {index, container: list[index]}
}

/** The Knative Service with the GPU limit of one container set (count > 0) or removed (count 0). Pure. */
export function desiredGpuService(live: KObject, count: number, container?: string): KObject {
  const ksvc = structuredClone(live)
  const {container: c} = pickContainer(ksvc, container)
  if (count > 0) {
    c.resources ??= {}
    c.resources.limits ??= {}
    // Keep the live spelling when it already means the same count (3 vs "3"): no needless revision.
    if (gpuLimitOf(c) !== count) c.resources.limits[GPU_RESOURCE] = String(count)
    // Extended resources need requests == limits: keep an explicit request in step.
    const req = c.resources.requests
    if (req && req[GPU_RESOURCE] !== undefined && quantityToInt(req[GPU_RESOURCE]) !== count) req[GPU_RESOURCE] = String(count)
  } else if (c.resources) {
    for (const part of ['limits', 'requests'] as const) {
      const m = c.resources[part]
      if (m && GPU_RESOURCE in m) {
        delete m[GPU_RESOURCE]
        if (Object.keys(m).length === 0) delete c.resources[part]
      }
    }
    if (Object.keys(c.resources).length === 0) delete c.resources
  }
  return ksvc
}

export interface NodeGpus {
  name: string
  arch: string
  gpus: number
  /** Why the node does not count for GPU scheduling, or undefined when it counts. */
  excluded?: string
}

export function nodeArch(node: KObject): string {
  return node.metadata.labels?.['kubernetes.io/arch'] ?? node.metadata.labels?.['beta.kubernetes.io/arch'] ?? node.status?.nodeInfo?.architecture ?? ''
}

/** Allocatable GPUs per node, with the reason a node does not count (cordoned, NotReady, IBM Z/Power). */
export function nodeGpus(nodes: KObject[]): NodeGpus[] {
  return nodes.map((n) => {
    const arch = nodeArch(n)
    const raw = n.status?.allocatable?.[GPU_RESOURCE]
    const gpus = raw === undefined ? 0 : quantityToInt(raw) || 0
    let excluded: string | undefined
    const ready = (n.status?.conditions as {type: string; status: string}[] | undefined)?.find((c) => c.type === 'Ready')
    if (UNSUPPORTED_GPU_ARCHES.includes(arch)) excluded = `architecture ${arch} is not supported for GPUs`
    else if (n.spec?.unschedulable) excluded = 'cordoned'
    else if (ready && ready.status !== 'True') excluded = 'not Ready'
    return {name: n.metadata.name, arch, gpus, ...(excluded ? {excluded} : {})}
  })
}

export interface GpuCapacity {
  /** Some schedulable node has at least `count` allocatable GPUs. */
  fits: boolean
  /** The schedulable node with the most allocatable GPUs (undefined when none has any). */
  largest?: {name: string; gpus: number}
  /** Nodes with GPUs that were not counted, and why. */
  excluded: NodeGpus[]
}

export function gpuCapacity(nodes: KObject[], count: number): GpuCapacity {
  const all = nodeGpus(nodes)
  let largest: GpuCapacity['largest']
  for (const n of all) {
    if (n.excluded || n.gpus <= 0) continue
    if (!largest || n.gpus > largest.gpus) largest = {name: n.name, gpus: n.gpus}
  }
  return {fits: (largest?.gpus ?? 0) >= count, largest, excluded: all.filter((n) => n.excluded && n.gpus > 0)}
}

/** One line about capacity for `count` GPUs, or null when it fits. */
export function capacityProblem(nodes: KObject[], count: number): string | null {
  if (count <= 0) return null
  const cap = gpuCapacity(nodes, count)
  if (cap.fits) return null
  const skipped = cap.excluded.length ? `; not counted: ${cap.excluded.map((n) => `${n.name} with ${n.gpus} (${n.excluded})`).join(', ')}` : ''
  const largest = cap.largest
    ? `the largest: ${cap.largest.name} with ${cap.largest.gpus}`
    : `no schedulable node offers any: is the NVIDIA GPU Operator installed?`
  return `no schedulable node has ${count} allocatable ${GPU_RESOURCE} (${largest}${skipped}): the new revision's pods would stay Pending`
}

/**
 * gpu-limit: the GPU limit (nvidia.com/gpu) of one container of a Knative Service (guide chapter 5, what
 * `kn service update --limit nvidia.com/gpu=N` edits). State: the Service (null when absent) and the nodes (null when
 * they cannot be listed). Returns one item (the Service with the limit set, or removed for count 0; everything else
 * kept) and notes: a warning when no schedulable node has that many allocatable GPUs (or nodes were not read), and,
 * for a change, that a new revision rolls out. Throws MissingError (exit 6) when the Service does not exist, KnmeshError (exit 4) when it has no
 * containers, or has no container named `input.container`. Upstream: the guide's 5.1 (Integrations, "Specifying GPU
 * requirements for a service").
 */
export function planGpuLimit(state: GpuState, input: GpuInput): Plan {
  if (!state.service) throw new MissingError(`Knative Service ${input.name} not found in namespace ${input.namespace}`)
  const live = state.service
  const desired = desiredGpuService(live, input.count, input.container)
  const notes: Note[] = []
  const {container} = pickContainer(live, input.container)
  const label = container.name ? `container ${container.name}` : 'the first container'
  if (input.count > 0) {
    if (state.nodes === null) notes.push(warning('cannot list nodes: GPU capacity not checked'))
    else {
      const problem = capacityProblem(state.nodes, input.count)
      if (problem) notes.push(warning(problem))
    }
  }
  if (actionOf({live, desired}) !== 'unchanged') {
    const what = input.count > 0 ? `a GPU limit of ${input.count} (${GPU_RESOURCE}) for ${label}` : `no GPU limit for ${label}`
    notes.push(
      info(
        `Knative Service ${input.namespace}/${input.name}: this change rolls out a new revision with ${what}; the current revision serves until the new one is ready`,
      ),
    )
  }
  return {items: [{live, desired}], notes}
}

export interface GpuRow {
  namespace: string
  service: string
  container: string
  /** The limit as written, or '' when unset. */
  limit: string
  gpus: number
  /** Whether some schedulable node has that many GPUs (undefined: no limit, or nodes unknown). */
  fits?: boolean
}

/** The GPU limits of Knative Services, one row per container (for --list, and for status). */
export function gpuRows(services: KObject[], nodes: KObject[] | null): GpuRow[] {
  const rows: GpuRow[] = []
  for (const s of services) {
    containersOf(s).forEach((c, i) => {
      const raw = c?.resources?.limits?.[GPU_RESOURCE]
      const gpus = gpuLimitOf(c)
      const row: GpuRow = {
        namespace: s.metadata.namespace ?? '',
        service: s.metadata.name,
        container: c?.name ?? (i === 0 ? '(first, unnamed)' : `(#${i}, unnamed)`),
        limit: raw === undefined ? '' : String(raw),
        gpus,
      }
      if (gpus > 0 && nodes) row.fits = gpuCapacity(nodes, gpus).fits
      rows.push(row)
    })
  }
  return rows
}

/** Findings for a status check: services whose GPU limit no schedulable node can satisfy. */
export function auditGpuServices(services: KObject[], nodes: KObject[]): {namespace: string; service: string; container: string; problem: string}[] {
  return gpuRows(services, nodes)
    .filter((r) => r.gpus > 0 && r.fits === false)
    .map((r) => ({namespace: r.namespace, service: r.service, container: r.container, problem: capacityProblem(nodes, r.gpus)!}))
}

/**
 * For a status verb: one check per Knative Service container whose GPU limit
 * no schedulable node can satisfy (a warning: its pods stay Pending), or one
 * ok check. Reads nothing: pass the cluster-wide lists.
 */
export function gpuChecks(services: KObject[], nodes: KObject[] | null): Check[] {
  if (nodes === null) return [{id: 'gpu/capacity', status: 'warning', detail: 'cannot list nodes: GPU capacity not checked'}]
  const findings = auditGpuServices(services, nodes)
  if (findings.length === 0) {
    const limited = gpuRows(services, nodes).filter((r) => r.gpus > 0).length
    return [
      {id: 'gpu/capacity', status: 'ok', detail: limited ? `${limited} GPU limit(s), each fits a schedulable node` : 'no Knative Service has a GPU limit'},
    ]
  }
  return findings.map((f) => ({
    id: `gpu/${f.namespace}/${f.service}/${f.container}`,
    status: 'warning' as const,
    detail: `${f.namespace}/${f.service} (${f.container}): ${f.problem}`,
    fix: `add GPU nodes, or lower the limit: knmesh gpu-limit ${f.service} <count> -n ${f.namespace}${f.container.startsWith('(') ? '' : ` --container ${f.container}`}`,
  }))
}
