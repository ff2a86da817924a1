import type {KObject, Json} from '../kube/types.js'
import {KNATIVE_SERVING, SMMR_NAME, meshFlag} from './constants.js'
import {ingressMode, kourierRuns} from './ingress-mode.js'
import type {Check} from './check.js'
import type {MeshGeneration} from './generation.js'
import {kourierSystemMembers, PART_OF_LABEL, PART_OF_NAMESPACES, PART_OF_VALUE} from './members.js'
import {otherMeshNamespaces3, precheckChecks3, type Precheck3State} from './precheck3.js'

/**
 * Guide 1.4.1 and 1.1: the installation prerequisites, as PURE checks over a
 * read state (see readPrecheck in install-read.ts). precheck prints them; a
 * later "status" verb and create-gateways reuse them.
 */

export type {Check, CheckStatus} from './check.js'

/**
 * The kinds precheck looks for: required ones fail when not served, optional ones warn. `generation`: checked only
 * on that Service Mesh generation (the 2.x maistra.io kinds, Service Mesh 3's sailoperator.io kinds).
 */
export const PREREQUISITE_KINDS: readonly {key: PrerequisiteKind; resource: string; required: boolean; generation?: MeshGeneration}[] = [
  {key: 'smcp', resource: 'servicemeshcontrolplanes.maistra.io', required: true, generation: 2},
  {key: 'smmr', resource: 'servicemeshmemberrolls.maistra.io', required: true, generation: 2},
  {key: 'istio', resource: 'istios.sailoperator.io', required: true, generation: 3},
  {key: 'istioCni', resource: 'istiocnis.sailoperator.io', required: true, generation: 3},
  {key: 'gateway', resource: 'gateways.networking.istio.io', required: true},
  {key: 'knativeServing', resource: 'knativeservings.operator.knative.dev', required: true},
  {key: 'knativeEventing', resource: 'knativeeventings.operator.knative.dev', required: false},
  {key: 'knativeKafka', resource: 'knativekafkas.operator.serverless.openshift.io', required: false},
]

export type PrerequisiteKind = 'smcp' | 'smmr' | 'istio' | 'istioCni' | 'gateway' | 'knativeServing' | 'knativeEventing' | 'knativeKafka'

export interface PrecheckState {
  meshNamespace: string
  /** Which kinds are served (the Service Mesh 3 keys may be left out: not served). */
  served: Record<Exclude<PrerequisiteKind, 'istio' | 'istioCni'>, boolean> & Partial<Record<'istio' | 'istioCni', boolean>>
  /** SMCPs in the mesh namespace (null: the kind is not served). */
  smcps: KObject[] | null
  /** Every ServiceMeshMemberRoll in the cluster, to tell which mesh a Gateway belongs to (null: not served). */
  memberRolls: KObject[] | null
  /** Every Gateway in the cluster (null: not served). */
  gateways: KObject[] | null
  /** Service istio-ingressgateway in the mesh namespace. */
  ingressService: KObject | null
  /** KnativeServing knative-serving (null: absent or not served; undefined: not read), for the Kourier checks. */
  serving?: KObject | null
  /** knative-serving and knative-serving-ingress Namespaces (null: absent; no entry: not readable). */
  servingNamespaces?: Map<string, KObject | null>
  /** The generation the run acts on (src/mesh/generation.ts); undefined or 2: the guide's Service Mesh 2.x checks. */
  generation?: MeshGeneration | null
  /** Service Mesh 3's control plane, read when `generation` is 3. */
  mesh3?: Precheck3State
}

/** The minimum Service Mesh version the guide supports (1.1). */
export const MIN_MESH_VERSION: [number, number] = [2, 2]

const WILDCARD_HOSTS = new Set(['*', '*/*', './*'])

export interface GatewayConflict {
  namespace: string
  name: string
  /** Set when the Gateway is in a namespace of another mesh: the guide allows it. */
  otherMesh?: string
}

/**
 * Gateways that bind port 443 with host "*" (1.4.1 step 1), other than
 * knative-serving's own. Those in a namespace that another mesh's member roll
 * (or control plane) owns are marked otherMesh.
 */
export function gatewayConflicts(
  gateways: KObject[],
  memberRolls: KObject[],
  meshNamespace: string,
  otherMeshes: Map<string, string> = new Map(),
): GatewayConflict[] {
  const meshOf = new Map<string, string>(otherMeshes)
  for (const roll of memberRolls) {
    const ns = roll.metadata.namespace!
    if (ns === meshNamespace) continue
    meshOf.set(ns, ns)
    for (const m of [...asStrings(roll.spec?.members), ...asStrings(roll.status?.configuredMembers)]) meshOf.set(m, ns)
  }
  const out: GatewayConflict[] = []
  for (const gw of gateways) {
    const ns = gw.metadata.namespace ?? ''
    if (ns === KNATIVE_SERVING) continue
    const servers: Json[] = Array.isArray(gw.spec?.servers) ? gw.spec.servers : []
    const binds = servers.some((s) => Number(s?.port?.number) === 443 && asStrings(s?.hosts).some((h) => WILDCARD_HOSTS.has(h)))
    if (!binds) continue
    const other = meshOf.get(ns)
    out.push({namespace: ns, name: gw.metadata.name, ...(other ? {otherMesh: other} : {})})
  }
  return out.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))
}

/** "v2.5" or "2.5.1" → [2, 5]; undefined when it is no version. */
export function parseMeshVersion(v: unknown): [number, number] | undefined {
  if (typeof v !== 'string') return undefined
  const m = /^v?(\d+)\.(\d+)/.exec(v.trim())
  return m ? [Number(m[1]), Number(m[2])] : undefined
}

export function atLeast(v: [number, number], min: [number, number]): boolean {
  return v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1])
}

/** The version an SMCP runs: spec.version, else what the operator reports. */
export function meshVersionOf(smcp: KObject): {version?: [number, number]; text?: string} {
  for (const v of [smcp.spec?.version, smcp.status?.chartVersion, smcp.status?.operatorVersion]) {
    const parsed = parseMeshVersion(v)
    if (parsed) return {version: parsed, text: String(v)}
  }
  return {}
}

/**
 * Every precheck finding for a read state: a pure function, in the order the guide checks. On Service Mesh 3
 * (state.generation 3) the SMCP, member-roll, gateway-Service and Kourier rows give way to precheckChecks3's.
 */
export function precheckChecks(state: PrecheckState): Check[] {
  const checks: Check[] = []
  const mesh = state.meshNamespace
  const three = state.generation === 3

  for (const k of PREREQUISITE_KINDS) {
    if (k.generation !== undefined && k.generation !== (three ? 3 : 2)) continue
    const served = state.served[k.key] === true
    if (served) checks.push({id: `crd/${k.resource}`, status: 'ok', detail: 'served'})
    else if (k.required) {
      const by =
        k.key === 'knativeServing'
          ? 'the OpenShift Serverless Operator'
          : k.generation === 3
            ? 'the Red Hat OpenShift Service Mesh 3 Operator (servicemeshoperator3)'
            : 'the Red Hat OpenShift Service Mesh Operator'
      checks.push({id: `crd/${k.resource}`, status: 'failure', detail: 'not served', fix: `install ${by}`})
    } else {
      checks.push({
        id: `crd/${k.resource}`,
        status: 'warning',
        detail: `not served (optional: ${k.key === 'knativeKafka' ? 'Knative Kafka' : 'Knative Eventing'} is not installed)`,
        fix: 'nothing, unless you use it: install it with the OpenShift Serverless Operator',
      })
    }
  }

  if (three && state.mesh3) checks.push(...precheckChecks3(state.mesh3, mesh))
  // An SMCP in the mesh namespace, at least 2.2.
  if (!three && state.smcps !== null) {
    if (state.smcps.length === 0) {
      checks.push({
        id: 'smcp',
        status: 'failure',
        detail: `no ServiceMeshControlPlane in ${mesh}`,
        fix: `knmesh configure-mesh --create --mesh-namespace ${mesh}`,
      })
    } else {
      const names = state.smcps.map((s) => s.metadata.name)
      checks.push({
        id: 'smcp',
        status: 'ok',
        detail: `ServiceMeshControlPlane ${names.join(', ')} in ${mesh}`,
        ...(names.length > 1 ? {fix: 'several control planes: pass --name to configure-mesh'} : {}),
      })
      for (const smcp of state.smcps) {
        const {version, text} = meshVersionOf(smcp)
        const id = `mesh-version/${smcp.metadata.name}`
        if (!version) {
          checks.push({
            id,
            status: 'warning',
            detail: `${smcp.metadata.name}: version unknown (no spec.version, no status yet)`,
            fix: `set spec.version to v${MIN_MESH_VERSION.join('.')} or later`,
          })
        } else if (!atLeast(version, MIN_MESH_VERSION)) {
          checks.push({
            id,
            status: 'failure',
            detail: `${smcp.metadata.name}: Service Mesh ${text} is older than ${MIN_MESH_VERSION.join('.')}`,
            fix: `upgrade the control plane to v${MIN_MESH_VERSION.join('.')} or later (spec.version)`,
          })
        } else {
          checks.push({id, status: 'ok', detail: `${smcp.metadata.name}: Service Mesh ${text} (at least ${MIN_MESH_VERSION.join('.')})`})
        }
      }
    }
  }

  // 1.4.1 step 1: no other Gateway may claim port 443 with host "*".
  if (state.gateways !== null) {
    const others = three && state.mesh3 ? otherMeshNamespaces3(state.mesh3.facts.istios ?? [], mesh) : undefined
    const conflicts = gatewayConflicts(state.gateways, three ? [] : (state.memberRolls ?? []), mesh, others)
    const real = conflicts.filter((c) => !c.otherMesh)
    for (const c of conflicts) {
      const id = `gateway-conflict/${c.namespace}/${c.name}`
      if (c.otherMesh) {
        checks.push({id, status: 'warning', detail: `Gateway ${c.namespace}/${c.name} binds 443 with host "*" but belongs to the mesh in ${c.otherMesh}`})
      } else {
        checks.push({
          id,
          status: 'failure',
          detail: `Gateway ${c.namespace}/${c.name} binds port 443 with host "*": it conflicts with knative-ingress-gateway`,
          fix: 'remove that Gateway, or give Serverless a mesh of its own (guide 1.4.1)',
        })
      }
    }
    if (real.length === 0) checks.push({id: 'gateway-conflict', status: 'ok', detail: 'no other Gateway binds port 443 with host "*"'})
  }

  // 1.4.1 step 2: istio-ingressgateway must not be NodePort or LoadBalancer (Service Mesh 3: precheckChecks3's row).
  if (three) return checks
  const svc = state.ingressService
  if (!svc) {
    checks.push({
      id: 'ingressgateway-service',
      status: 'warning',
      detail: `Service ${mesh}/istio-ingressgateway not found (the control plane has not deployed it yet)`,
      fix: 'wait for the ServiceMeshControlPlane to become ready',
    })
  } else {
    const type = svc.spec?.type ?? 'ClusterIP'
    if (type === 'NodePort' || type === 'LoadBalancer') {
      checks.push({
        id: 'ingressgateway-service',
        status: 'failure',
        detail: `Service ${mesh}/istio-ingressgateway is exposed as ${type}: unsupported, Knative Services are reached through OpenShift Routes`,
        fix: 'make it ClusterIP (SMCP spec.gateways.ingress.service.type)',
      })
    } else {
      checks.push({id: 'ingressgateway-service', status: 'ok', detail: `Service ${mesh}/istio-ingressgateway is ${type}`})
    }
  }
  checks.push(...kourierChecks(state))
  return checks
}

/**
 * Guide 1.6, when Kourier runs (see ingressMode): knative-serving,
 * knative-serving-ingress and knative-eventing must not be members of the
 * mesh's member roll (the mesh's NetworkPolicies would cut Kourier's gateway
 * off the activator: openshift-knative/serverless-operator#286), and
 * knative-serving and knative-serving-ingress carry
 * knative.openshift.io/part-of=openshift-serverless (1.6 note). Chosen Kourier
 * (spec.ingress) fails on a missing label; Kourier by default only warns.
 */
export function kourierChecks(state: PrecheckState): Check[] {
  const mode = ingressMode(state.serving)
  if (!kourierRuns(mode)) return []
  const mesh = state.meshNamespace
  const flag = meshFlag(mesh)
  const why =
    mode === 'kourier'
      ? 'Kourier is the ingress (KnativeServing spec.ingress)'
      : "Kourier is the ingress (KnativeServing has no spec.ingress: the operator's default)"
  const checks: Check[] = []
  const smmr = state.memberRolls?.find((r) => r.metadata.namespace === mesh && r.metadata.name === SMMR_NAME) ?? null
  const inMesh = kourierSystemMembers(smmr)
  if (inMesh.length) {
    // Kourier chosen: a failure. Nothing chosen yet (no spec.ingress): the state between the guide's 1.4.2 (members
    // added) and 1.4.3 (Istio enabled), so a warning whose first fix is the guide's next step.
    const chosen = mode === 'kourier'
    checks.push({
      id: 'kourier/system-members',
      status: chosen ? 'failure' : 'warning',
      detail: `${why}, and ${inMesh.join(', ')} ${inMesh.length > 1 ? 'are members' : 'is a member'} of ${mesh}/${SMMR_NAME}: the mesh's NetworkPolicies cut Kourier's gateway off the activator (guide 1.6 keeps them outside the mesh)${chosen ? '' : '; enabling Istio (1.4.3) settles it'}`,
      fix: chosen
        ? `knmesh remove-namespace ${inMesh.join(' ')} --kourier${flag} (Kourier, 1.6)`
        : `knmesh enable-istio${flag} (Istio, 1.4.3); or, to stay on Kourier, knmesh remove-namespace ${inMesh.join(' ')} --kourier${flag} (1.6)`,
    })
  } else if (state.memberRolls) {
    checks.push({
      id: 'kourier/system-members',
      status: 'ok',
      detail: `${why}: knative-serving, knative-serving-ingress and knative-eventing are outside the mesh`,
    })
  }
  if (state.servingNamespaces) {
    const unlabelled = PART_OF_NAMESPACES.filter((n) => {
      const ns = state.servingNamespaces!.get(n)
      return ns && ns.metadata.labels?.[PART_OF_LABEL] !== PART_OF_VALUE
    })
    if (unlabelled.length) {
      const member = smmr?.spec?.members?.find?.((m: unknown) => typeof m === 'string' && !inMesh.includes(m))
      checks.push({
        id: 'kourier/part-of-label',
        status: mode === 'kourier' ? 'failure' : 'warning',
        detail: `namespace ${unlabelled.join(', ')} lack${unlabelled.length > 1 ? '' : 's'} the label ${PART_OF_LABEL}=${PART_OF_VALUE}: the NetworkPolicy allow-from-serving-system-namespace (1.6) does not let ${unlabelled.length > 1 ? 'their' : 'its'} pods in`,
        fix: `knmesh add-namespace ${typeof member === 'string' ? member : 'NAMESPACE'} --kourier${flag} (adds the label)`,
      })
    } else if ([...state.servingNamespaces.values()].some(Boolean)) {
      const labelled = PART_OF_NAMESPACES.filter((n) => state.servingNamespaces!.get(n))
      checks.push({
        id: 'kourier/part-of-label',
        status: 'ok',
        detail: `${labelled.join(', ')} ${labelled.length > 1 ? 'carry' : 'carries'} ${PART_OF_LABEL}=${PART_OF_VALUE}`,
      })
    }
  }
  return checks
}

export function failed(checks: Check[]): Check[] {
  return checks.filter((c) => c.status === 'failure')
}

function asStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
}
