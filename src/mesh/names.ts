import {UsageError} from '../errors.js'

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Namespace names: RFC 1123 labels, as the API server requires. Checked before any request. */
export function validateLabelName(name: string, what = 'namespace'): string {
  if (!name || name.length > 63 || !DNS1123_LABEL.test(name)) {
    throw new UsageError(`invalid ${what} name "${name}": must be at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit`)
  }
  return name
}

/** Object names (Services, Secrets…): RFC 1123 subdomains. */
export function validateObjectName(name: string, what = 'name'): string {
  if (!name || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw new UsageError(`invalid ${what} "${name}": must be lowercase letters, digits, '-' or '.', starting and ending with a letter or digit`)
  }
  return name
}

/** Splits "a,b c" lists given to flags or arguments; drops blanks; keeps order; removes repeats. */
export function splitList(values: string[] | string | undefined): string[] {
  const all = (Array.isArray(values) ? values : values ? [values] : []).flatMap((v) => v.split(/[,\s]+/)).filter(Boolean)
  return [...new Set(all)]
}

/**
 * The candidate closest to `word` (Damerau-Levenshtein: typos, swapped letters), when it is close
 * enough to be a likely typo (at most 2 edits, and under half the word), else undefined. For
 * "did you mean …?" after an unknown verb, namespace or mesh namespace.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestD = Math.min(2, Math.floor(word.length / 2))
  for (const c of candidates) {
    if (c === word) continue
    const d = editDistance(word, c)
    if (d <= bestD && (best === undefined || d < bestD)) {
      best = c
      bestD = d
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}
