/**
 * Go duration strings, as Go's time.ParseDuration reads them (the form Istio's and the Service Mesh operator's
 * duration fields take, e.g. terminationDrainDuration): an optional sign, then one or more decimal numbers each
 * with a unit `ns`, `us` (`µs`, `μs`), `ms`, `s`, `m`, `h` — "35s", "600s", "1m", "1m30s", "1.5h", "300ms";
 * "0" alone is zero. Proto JSON durations ("35s", "1.5s") are a subset.
 */

const UNIT_MS: Record<string, number> = {ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000}
const GO_DURATION = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/
const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g

/** Milliseconds of a Go duration string; null when it is not one (e.g. "35", "1 m", "1d", "s", ""). */
export function parseGoDuration(text: string): number | null {
  const s = text.trim()
  if (s === '0' || s === '+0' || s === '-0') return 0
  if (!GO_DURATION.test(s)) return null
  let ms = 0
  for (const [, num, unit] of s.matchAll(PART)) ms += Number(num) * UNIT_MS[unit]
  return s.startsWith('-') ? -ms : ms
}
