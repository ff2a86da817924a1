import {meshFlag} from '../constants.js'
import {AUTHZ_RULES} from './authz.js'
import {GATEWAY_RULES} from './gateways.js'
import {LIVE_RULES} from './live.js'
import {MTLS_RULES} from './mtls.js'
import {OWNERSHIP_RULES} from './ownership.js'
import {SERVICE_ENTRY_RULES} from './service-entries.js'
import {SIDECAR_RULES} from './sidecars.js'
import type {MeshGeneration} from '../generation.js'
import {SEVERITY_ORDER, type AnalyzeState, type Finding, type Rule, type Severity} from './types.js'

/** Every rule, in code order: 01 gateways, 02 ServiceEntries, 03 sidecars, 04 mTLS, 05 authorization, 06 operator ownership, 07 live conditions. */
export const RULES: Rule[] = [...GATEWAY_RULES, ...SERVICE_ENTRY_RULES, ...SIDECAR_RULES, ...MTLS_RULES, ...AUTHZ_RULES, ...OWNERSHIP_RULES, ...LIVE_RULES]

const objectText = (f: Finding) => f.objects.map((o) => `${o.kind}/${o.namespace ?? ''}/${o.name}`).join(' ')

/** Whether a rule has a meaning on a generation (Rule.generations; both when absent). */
export const runsOn = (r: Pick<Rule, 'generations'>, generation: MeshGeneration) => r.generations?.includes(generation) ?? true

/** "2, 3", "2" or "3": the generations a rule runs on (--list-codes, README). */
export const generationsText = (r: Pick<Rule, 'generations'>) => (r.generations ?? [2, 3]).join(', ')

/**
 * All findings for one read state, sorted by severity, then code, then the first object. Only the rules of the
 * state's generation run (on Service Mesh 3 the member-roll rules are skipped, the Service Mesh 3 hazards added). Pure.
 */
export function analyze(state: AnalyzeState, rules: Rule[] = RULES): Finding[] {
  const out = rules.filter((r) => runsOn(r, state.generation)).flatMap((r) => r.run(state))
  return out.sort(
    (a, b) =>
      SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || a.code.localeCompare(b.code) || objectText(a).localeCompare(objectText(b)),
  )
}

/** Whether any finding is at or above the threshold (istioctl analyze --failure-threshold). */
export function exceeds(findings: Finding[], threshold: Severity): boolean {
  const limit = SEVERITY_ORDER.indexOf(threshold)
  return findings.some((f) => SEVERITY_ORDER.indexOf(f.severity) <= limit)
}

/** One line per finding as istioctl prints it: `Error [KNM0101] (Gateway apps/wild) message`. */
export function findingLine(f: Finding): string {
  const o = f.objects[0]
  const obj = o ? ` (${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name})` : ''
  return `${f.severity} [${f.code}]${obj} ${f.message}`
}

/** Counts per severity. */
export function summary(findings: Finding[]): Record<Severity, number> {
  const out: Record<Severity, number> = {Error: 0, Warning: 0, Info: 0}
  for (const f of findings) out[f.severity]++
  return out
}

export type {AnalyzeState, Finding, Rule, Severity}

/** status's "analyze" area: one row, failure on any Error, warning on any Warning (the codes are in analyze's output). */
export function analyzeStatusRow(
  findings: Finding[],
  meshNamespace: string,
  generation: MeshGeneration = 2,
): {area: string; check: string; state: 'ok' | 'warning' | 'failure'; detail: string; fix?: string} {
  const c = summary(findings)
  const state = c.Error ? 'failure' : c.Warning ? 'warning' : 'ok'
  const codes = [...new Set(findings.filter((f) => f.severity !== 'Info').map((f) => f.code))]
  const checks = RULES.filter((r) => runsOn(r, generation)).length
  const detail =
    state === 'ok'
      ? `no errors or warnings (${checks} checks${c.Info ? `, ${c.Info} info` : ''})`
      : `${c.Error} error(s), ${c.Warning} warning(s): ${codes.join(', ')}`
  return {area: 'analyze', check: 'integration analysis', state, detail, ...(state === 'ok' ? {} : {fix: `knmesh analyze${meshFlag(meshNamespace)}`})}
}
