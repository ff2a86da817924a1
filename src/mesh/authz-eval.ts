import {DEFAULT_MESH_NAMESPACE} from './constants.js'
import type {KObject, JsonObject} from '../kube/types.js'

/**
 * Istio's AuthorizationPolicy and PeerAuthentication semantics, as documented
 * on istio.io ("Authorization Policy", "PeerAuthentication"), as pure
 * functions: (policies, peer authentications, request) → decision + the
 * policy and rule that decide. No I/O.
 *
 * Order: CUSTOM, then DENY (any matching rule denies), then ALLOW (if any
 * ALLOW policy applies to the workload, the request must match one of its
 * rules; a policy without rules — `spec: {}` — matches nothing, so it
 * denies everything it applies to). Policies in the root namespace apply
 * to every workload of the mesh; a selector narrows a policy to the
 * workloads whose labels it matches.
 */

export interface Workload {
  namespace: string
  labels: Record<string, string>
}

export interface AuthzRequest {
  /** Known only with mTLS: the peer's namespace and principal (cluster.local/ns/NS/sa/SA). */
  source: {namespace?: string; principal?: string; ip?: string; requestPrincipal?: string}
  destination: Workload & {port?: number; ip?: string}
  /** The Host (:authority) header as sent: curl leaves out default ports. */
  host?: string
  path?: string
  method?: string
  /** Request headers (names matched case-insensitively). */
  headers?: Record<string, string>
  sni?: string
}

export type Verdict = 'allow' | 'deny' | 'unknown'

export interface PolicyRef {
  namespace: string
  name: string
}

export interface Decision {
  verdict: Verdict
  /** The action that decided: ALLOW / DENY / CUSTOM, or NONE when no policy applies. */
  by: 'ALLOW' | 'DENY' | 'CUSTOM' | 'NONE'
  /** The deciding policy and rule index (0-based), when one decides. */
  policy?: PolicyRef
  rule?: number
  reason: string
}

type Obj = JsonObject

const ref = (p: KObject): PolicyRef => ({namespace: p.metadata.namespace ?? '', name: p.metadata.name})
export const refText = (r: PolicyRef, rule?: number) => `${r.namespace}/${r.name}${rule === undefined ? '' : ` rule ${rule}`}`

/** Istio string matching: exact, "prefix*", "*suffix", and "*" (any non-empty value). */
export function matchPattern(pattern: string, value: string | undefined, caseInsensitive = false): boolean {
  if (value === undefined || value === '') return false
  let p = pattern
  let v = value
  if (caseInsensitive) {
    p = p.toLowerCase()
    v = v.toLowerCase()
  }
  if (p === '*') return true
  if (p.endsWith('*')) return v.startsWith(p.slice(0, -1))
  if (p.startsWith('*')) return v.endsWith(p.slice(1))
  return p === v
}

/** A field and its not-field: `values` must hold one match, `notValues` none (absent lists always hold). */
function field(values: unknown, notValues: unknown, value: string | undefined, match: (p: string, v: string | undefined) => boolean): boolean {
  // An empty list is an unset field (protobuf repeated fields), as Istio reads it.
  if (Array.isArray(values) && values.length && !values.some((p) => match(String(p), value))) return false
  if (Array.isArray(notValues) && notValues.some((p) => match(String(p), value))) return false
  return true
}

const str = (p: string, v: string | undefined) => matchPattern(p, v)
const host = (p: string, v: string | undefined) => matchPattern(p, v, true)
const exact = (p: string, v: string | undefined) => v !== undefined && p === v

function ipv4(s: string): number | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s)
  if (!m) return null
  const parts = m.slice(1).map(Number)
  if (parts.some((x) => x > 255)) return null
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3]
}

/** "10.1.2.3" or "10.0.0.0/8" against an IPv4 address. */
export function matchCidr(block: string, ip: string | undefined): boolean {
  if (!ip) return false
  const [base, bitsText] = block.split('/')
  const a = ipv4(base)
  const b = ipv4(ip)
  if (a === null || b === null) return block === ip
  const bits = bitsText === undefined ? 32 : Number(bitsText)
  if (bits === 0) return true
  const mask = (0xffffffff << (32 - bits)) >>> 0
  return (a & mask) >>> 0 === (b & mask) >>> 0
}

function matchSource(s: Obj, req: AuthzRequest): boolean {
  const src = req.source
  return (
    field(s.principals, s.notPrincipals, src.principal, str) &&
    field(s.namespaces, s.notNamespaces, src.namespace, str) &&
    field(s.requestPrincipals, s.notRequestPrincipals, src.requestPrincipal, str) &&
    field(s.ipBlocks, s.notIpBlocks, src.ip, matchCidr) &&
    field(s.remoteIpBlocks, s.notRemoteIpBlocks, src.ip, matchCidr)
  )
}

function pathOnly(path: string | undefined): string | undefined {
  return path === undefined ? undefined : path.split('?')[0]
}

function matchOperation(o: Obj, req: AuthzRequest): boolean {
  const port = req.destination.port === undefined ? undefined : String(req.destination.port)
  return (
    field(o.hosts, o.notHosts, req.host, host) &&
    field(o.ports, o.notPorts, port, exact) &&
    field(o.methods, o.notMethods, req.method, str) &&
    field(o.paths, o.notPaths, pathOnly(req.path), str)
  )
}

function header(req: AuthzRequest, name: string): string | undefined {
  const want = name.toLowerCase()
  if (want === 'host' || want === ':authority') return req.host
  for (const [k, v] of Object.entries(req.headers ?? {})) if (k.toLowerCase() === want) return v
  return undefined
}

/** The value a `when` key names, or undefined when the request does not carry it. */
function attribute(req: AuthzRequest, key: string): {value: string | undefined; match: (p: string, v: string | undefined) => boolean} {
  const h = /^request\.headers\[(.+)\]$/.exec(key)
  if (h) return {value: header(req, h[1]), match: str}
  switch (key) {
    case 'source.ip':
    case 'remote.ip':
      return {value: req.source.ip, match: matchCidr}
    case 'source.namespace':
      return {value: req.source.namespace, match: str}
    case 'source.principal':
      return {value: req.source.principal, match: str}
    case 'request.auth.principal':
      return {value: req.source.requestPrincipal, match: str}
    case 'destination.ip':
      return {value: req.destination.ip, match: matchCidr}
    case 'destination.port':
      return {value: req.destination.port === undefined ? undefined : String(req.destination.port), match: exact}
    case 'connection.sni':
      return {value: req.sni, match: str}
    default:
      // request.auth.claims[...], request.auth.audiences…: no JWT in these requests.
      return {value: undefined, match: str}
  }
}

function matchCondition(c: Obj, req: AuthzRequest): boolean {
  const {value, match} = attribute(req, String(c.key ?? ''))
  return field(c.values, c.notValues, value, match)
}

/** A rule matches when its from, to and when all match; a missing part matches anything. */
export function matchRule(rule: Obj | null | undefined, req: AuthzRequest): boolean {
  if (!rule || typeof rule !== 'object') return false
  const from = Array.isArray(rule.from) && rule.from.length ? rule.from : null
  if (from && !from.some((f: Obj) => matchSource(f?.source ?? {}, req))) return false
  const to = Array.isArray(rule.to) && rule.to.length ? rule.to : null
  if (to && !to.some((t: Obj) => matchOperation(t?.operation ?? {}, req))) return false
  const when = Array.isArray(rule.when) ? rule.when : []
  return when.every((c: Obj) => matchCondition(c, req))
}

/** The first rule of a policy that matches, or -1. A policy without rules matches nothing. */
export function matchingRule(policy: KObject, req: AuthzRequest): number {
  const rules = policy.spec?.rules
  if (!Array.isArray(rules)) return -1
  return rules.findIndex((r: Obj) => matchRule(r, req))
}

function selectorMatches(selector: Obj | undefined, labels: Record<string, string>): boolean {
  const ml = selector?.matchLabels
  if (!ml || typeof ml !== 'object') return true
  return Object.entries(ml).every(([k, v]) => labels[k] === v)
}

/** Whether a policy (or peer authentication) applies to a workload: its namespace or the root one, and its selector. */
export function appliesTo(obj: KObject, w: Workload, rootNamespace: string): boolean {
  const ns = obj.metadata.namespace
  if (ns !== w.namespace && ns !== rootNamespace) return false
  // targetRef(s) bind a policy to gateways/waypoints, not to sidecar workloads.
  if (obj.spec?.targetRef || (Array.isArray(obj.spec?.targetRefs) && obj.spec.targetRefs.length)) return false
  return selectorMatches(obj.spec?.selector, w.labels)
}

const actionOf = (p: KObject): string => String(p.spec?.action ?? 'ALLOW').toUpperCase()
const byName = (a: KObject, b: KObject) => refText(ref(a)).localeCompare(refText(ref(b)))

/** Policies grouped by action for one workload: compute once, evaluate many requests. */
export interface Applicable {
  custom: KObject[]
  deny: KObject[]
  allow: KObject[]
  /** Built on first use: ALLOW rules indexed by the source namespaces they name. */
  index?: RuleIndex
  /** Built on first use: the reason given when nothing allows a request. */
  denial?: Decision
  /** Decisions already made, by policy and rule: decisions are shared, never to be mutated. */
  allowed?: Map<number, Decision>
}

/** [policy index, rule index] pairs, in evaluation order. */
type RuleRef = [number, number]

interface RuleIndex {
  /** Rules that can only match requests from one of a fixed set of source namespaces. */
  byNamespace: Map<string, RuleRef[]>
  /** Every other rule. */
  other: RuleRef[]
}

/** The exact namespaces a rule is limited to, or null when it is not limited that way. */
function ruleNamespaces(rule: Obj): string[] | null {
  const from = Array.isArray(rule?.from) && rule.from.length ? rule.from : null
  if (!from) return null
  const out: string[] = []
  for (const f of from) {
    const ns = f?.source?.namespaces
    if (!Array.isArray(ns) || ns.length === 0 || ns.some((n: unknown) => typeof n !== 'string' || n.includes('*'))) return null
    out.push(...ns)
  }
  return out
}

function buildIndex(policies: KObject[]): RuleIndex {
  const idx: RuleIndex = {byNamespace: new Map(), other: []}
  policies.forEach((p, pi) => {
    const rules = Array.isArray(p.spec?.rules) ? p.spec.rules : []
    rules.forEach((r: Obj, ri: number) => {
      const nss = ruleNamespaces(r)
      if (!nss) {
        idx.other.push([pi, ri])
        return
      }
      for (const ns of new Set(nss)) {
        const list = idx.byNamespace.get(ns) ?? []
        list.push([pi, ri])
        idx.byNamespace.set(ns, list)
      }
    })
  })
  return idx
}

const before = (a: RuleRef, b: RuleRef) => a[0] - b[0] || a[1] - b[1]

/** Candidate rules for a request in evaluation order: the two sorted lists merged. */
function candidates(idx: RuleIndex, ns: string | undefined): RuleRef[] {
  const a = ns === undefined ? [] : (idx.byNamespace.get(ns) ?? [])
  const b = idx.other
  if (!a.length) return b
  if (!b.length) return a
  const out: RuleRef[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && before(a[i], b[j]) < 0) ? a[i++] : b[j++])
  return out
}

export function applicable(policies: KObject[], w: Workload, rootNamespace: string): Applicable {
  const out: Applicable = {custom: [], deny: [], allow: []}
  for (const p of policies) {
    if (!appliesTo(p, w, rootNamespace)) continue
    // istio.io/dry-run: the policy is only evaluated for logs, never enforced.
    if (p.metadata.annotations?.['istio.io/dry-run'] === 'true') continue
    const a = actionOf(p)
    if (a === 'CUSTOM') out.custom.push(p)
    else if (a === 'DENY') out.deny.push(p)
    else if (a === 'ALLOW') out.allow.push(p)
    // AUDIT never decides.
  }
  out.custom.sort(byName)
  out.deny.sort(byName)
  out.allow.sort(byName)
  return out
}

export function decide(ap: Applicable, req: AuthzRequest): Decision {
  const d = decideLocal(ap, req)
  if (d.verdict === 'deny') return d
  // CUSTOM is evaluated first, but it can only deny: when DENY/ALLOW let the request through, the external authorizer decides.
  for (const p of ap.custom) {
    const i = matchingRule(p, req)
    if (i >= 0) {
      const provider = p.spec?.provider?.name ? ` "${p.spec.provider.name}"` : ''
      return {
        verdict: 'unknown',
        by: 'CUSTOM',
        policy: ref(p),
        rule: i,
        reason: `CUSTOM policy ${refText(ref(p), i)} hands the request to the external authorizer${provider}`,
      }
    }
  }
  return d
}

const NO_ALLOW_POLICY: Decision = Object.freeze({verdict: 'allow', by: 'NONE', reason: 'no ALLOW policy applies to the workload'})

/** DENY, then ALLOW. */
function decideLocal(ap: Applicable, req: AuthzRequest): Decision {
  for (const p of ap.deny) {
    const i = matchingRule(p, req)
    if (i >= 0) return {verdict: 'deny', by: 'DENY', policy: ref(p), rule: i, reason: `DENY policy ${refText(ref(p), i)} matches`}
  }
  if (ap.allow.length === 0) return NO_ALLOW_POLICY
  ap.index ??= buildIndex(ap.allow)
  for (const [pi, ri] of candidates(ap.index, req.source.namespace)) {
    const p = ap.allow[pi]
    if (matchRule(p.spec.rules[ri], req)) {
      ap.allowed ??= new Map()
      const k = pi * 65536 + ri
      let d = ap.allowed.get(k)
      if (!d) {
        d = {verdict: 'allow', by: 'ALLOW', policy: ref(p), rule: ri, reason: `ALLOW policy ${refText(ref(p), ri)} matches`}
        ap.allowed.set(k, d)
      }
      return d
    }
  }
  ap.denial ??= denial(ap)
  return ap.denial
}

/** Denied because nothing allowed it: name an empty policy (deny-all) when there is one. */
function denial(ap: Applicable): Decision {
  const empty = ap.allow.find((p) => !Array.isArray(p.spec?.rules) || p.spec.rules.length === 0)
  const names = ap.allow.map((p) => refText(ref(p)))
  const listed = names.length > 4 ? `${names.slice(0, 4).join(', ')} and ${names.length - 4} more` : names.join(', ')
  return {
    verdict: 'deny',
    by: 'ALLOW',
    policy: empty ? ref(empty) : undefined,
    reason: empty
      ? `no ALLOW rule matches and ${refText(ref(empty))} (no rules) denies everything else (ALLOW policies applying: ${listed})`
      : `no rule of the ALLOW policies applying matches (${listed})`,
  }
}

/** The whole evaluation in one call. */
export function evaluate(policies: KObject[], req: AuthzRequest, rootNamespace = DEFAULT_MESH_NAMESPACE): Decision {
  return decide(applicable(policies, req.destination, rootNamespace), req)
}

// ---------------------------------------------------------------------------
// PeerAuthentication: whether a workload accepts plaintext.

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE'

export interface MtlsResult {
  mode: MtlsMode
  /** The PeerAuthentication that set the mode, if any. */
  from?: PolicyRef
}

function modeOf(pa: KObject, port?: number): string | undefined {
  const portLevel = pa.spec?.portLevelMtls
  if (port !== undefined && portLevel && typeof portLevel === 'object') {
    const m = portLevel[String(port)]?.mode
    if (m && m !== 'UNSET') return m
  }
  const m = pa.spec?.mtls?.mode
  return m && m !== 'UNSET' ? m : undefined
}

/**
 * The effective mTLS mode of a workload's port: the most specific
 * PeerAuthentication that sets one wins (workload selector, then namespace,
 * then the root namespace); UNSET inherits; the default is PERMISSIVE.
 */
export function mtlsMode(pas: KObject[], w: Workload, rootNamespace: string, port?: number): MtlsResult {
  const candidates = pas.filter((p) => appliesTo(p, w, rootNamespace))
  const rank = (p: KObject) => {
    const hasSel = Boolean(p.spec?.selector?.matchLabels && Object.keys(p.spec.selector.matchLabels).length)
    if (p.metadata.namespace === w.namespace) return hasSel ? 0 : 1
    return hasSel ? 2 : 3 // root namespace; a selector there only applies to the root namespace's own workloads
  }
  const ordered = candidates
    .filter((p) => !(p.metadata.namespace === rootNamespace && p.metadata.namespace !== w.namespace && rank(p) === 2))
    .sort((a, b) => rank(a) - rank(b) || byName(a, b))
  for (const p of ordered) {
    const m = modeOf(p, rank(p) === 0 ? port : undefined)
    if (m === 'STRICT' || m === 'PERMISSIVE' || m === 'DISABLE') return {mode: m, from: ref(p)}
  }
  return {mode: 'PERMISSIVE'}
}
