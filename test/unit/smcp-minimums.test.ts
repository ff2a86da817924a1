/**
 * Guide 1.4.2 step 1: terminationDrainDuration must be longer than Serverless's 30 s graceful termination; the
 * guide's 35s is a minimum, not an exact value (knative/serving#11793: users with long requests set 600s).
 */
import {describe, expect, it} from 'vitest'
import {actionOf} from '../../src/change/plan.js'
import type {KObject, Json} from '../../src/kube/types.js'
import {parseGoDuration} from '../../src/mesh/duration.js'
import {desiredSmcp, drainShortfall, planConfigureMesh, smcpFindings} from '../../src/mesh/smcp.js'
import {SMCP_SPEC} from '../support/guide-chapter1.js'

const withDrain = (drain: unknown): KObject => {
  const spec = structuredClone(SMCP_SPEC) as Json
  if (drain === undefined) delete spec.techPreview.meshConfig.defaultConfig.terminationDrainDuration
  else spec.techPreview.meshConfig.defaultConfig.terminationDrainDuration = drain
  return {apiVersion: 'maistra.io/v2', kind: 'ServiceMeshControlPlane', metadata: {name: 'basic', namespace: 'istio-system', resourceVersion: '4'}, spec}
}
const drainOf = (o: KObject) => o.spec.techPreview.meshConfig.defaultConfig.terminationDrainDuration

describe('Go durations (time.ParseDuration)', () => {
  it.each([
    ['35s', 35_000],
    ['600s', 600_000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['1h0m0s', 3_600_000],
    ['300ms', 300],
    ['.5s', 500],
    ['1.s', 1000],
    ['1500us', 1.5],
    ['1µs', 0.001],
    ['0', 0],
    ['-5s', -5000],
    ['+35s', 35_000],
    ['34.999s', 34_999],
  ])('%s = %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9)
  })

  it.each(['35', '', 's', '1 m', '1d', '1.2.3s', 'm1', '.s', '35S', '1m 30s', '10sec'])('"%s" is not a duration', (text) => {
    expect(parseGoDuration(text)).toBeNull()
  })
})

describe('configure-mesh: the drain is a minimum', () => {
  it.each(['35s', '36s', '600s', '1m', '1m30s', '1h', '35000ms'])('keeps %s (nothing to do, status agrees)', (drain) => {
    const live = withDrain(drain)
    const plan = planConfigureMesh({smcps: [live]}, {meshNamespace: 'istio-system'})
    expect(drainOf(plan.items[0].desired!)).toBe(drain)
    expect(actionOf(plan.items[0])).toBe('unchanged')
    expect(drainShortfall(live)).toBeNull()
    expect(smcpFindings(live)).toEqual([])
    if (drain !== '35s') expect(plan.notes.map((n) => n.text)).toEqual([`terminationDrainDuration ${drain} is kept: the guide needs at least 35s`])
  })

  it.each([
    ['20s', 'terminationDrainDuration 20s is shorter than 35s'],
    ['30s', 'terminationDrainDuration 30s is shorter than 35s'],
    ['34.5s', 'terminationDrainDuration 34.5s is shorter than 35s'],
    ['-1m', 'terminationDrainDuration -1m is shorter than 35s'],
    ['0', 'terminationDrainDuration 0 is shorter than 35s'],
    ['35', 'terminationDrainDuration "35" is not a duration (at least 35s needed)'],
    [600, 'terminationDrainDuration 600 is not a duration (at least 35s needed)'],
    [undefined, 'terminationDrainDuration is not set (at least 35s needed)'],
  ])('raises %s to 35s; status says why', (drain, why) => {
    const live = withDrain(drain)
    const d = desiredSmcp(live, 'istio-system')
    expect(drainOf(d)).toBe('35s')
    expect(actionOf({live, desired: d})).toBe('update')
    expect(smcpFindings(live)).toEqual([why])
    expect(smcpFindings(d)).toEqual([])
  })
})
