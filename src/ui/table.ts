import Table from 'cli-table3'
import stringWidth from 'string-width'
import {terminalWidth} from './terminal.js'

/** Spaces between two columns. */
const GAP = 3

export interface TableOptions {
  /**
   * Columns the table must fit in; long cells wrap inside their column (on spaces, and
   * inside words longer than the column). Default: the terminal's (see terminalWidth);
   * `null`: no limit, one line per row (-o wide, piped output).
   */
  width?: number | null
}

/**
 * A borderless, kubectl-like table: upper-case head, columns three spaces apart, no
 * trailing spaces. Fitted to `opts.width` (default the terminal's) when it is wider.
 */
export function table(head: string[], rows: (string | number | undefined)[][], opts: TableOptions = {}): string {
  const cells = rows.map((r) => head.map((_h, i) => (r[i] === undefined ? '' : String(r[i]))))
  const heads = head.map((h) => h.toUpperCase())
  const width = opts.width === undefined ? terminalWidth() : opts.width
  const widths = width ? fitColumns([heads, ...cells], width) : undefined
  const wrap = (s: string, i: number) => (widths && maxLineWidth(s) > widths[i] ? wrapCell(s, widths[i]) : s)
  const t = new Table({
    head: heads.map(wrap),
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: ' '.repeat(GAP),
    },
    style: {head: [], border: [], 'padding-left': 0, 'padding-right': 0},
    ...(widths ? {colWidths: widths} : {}),
  })
  for (const r of cells) t.push(r.map(wrap))
  return t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
}

/**
 * Column widths so that a table of `lines` (head first) fits `width` columns, GAP apart.
 * Columns narrower than an equal share keep their natural width (water-filling). The
 * others first get a floor (their head, or their longest word up to 24 columns, so that
 * few words are cut), then share what is left in proportion to what they still lack.
 * When the table already fits: the natural widths. Every column gets at least 1.
 */
export function fitColumns(lines: string[][], width: number): number[] {
  const n = lines[0]?.length ?? 0
  const natural = Array.from({length: n}, (_v, i) => Math.max(1, ...lines.map((l) => maxLineWidth(l[i] ?? ''))))
  let budget = width - GAP * (n - 1)
  if (natural.reduce((a, b) => a + b, 0) <= budget || budget < n) return natural
  const out = [...natural]
  let open = natural.map((_w, i) => i)
  for (;;) {
    const share = Math.floor(budget / open.length)
    const fits = open.filter((i) => natural[i] <= share)
    if (fits.length === 0) break
    for (const i of fits) budget -= natural[i]
    open = open.filter((i) => natural[i] > share)
  }
  // The longest piece a cell can be cut into without cutting a name (see wrapCell).
  const longestWord = (i: number) => Math.max(...lines.map((l) => Math.max(0, ...(l[i] ?? '').split(/\s+|(?<=[,/.])/).map((w) => stringWidth(w)))))
  let floor = open.map((i) => Math.min(natural[i], Math.max(stringWidth(lines[0][i]), Math.min(24, longestWord(i)))))
  const floors = floor.reduce((a, b) => a + b, 0)
  if (floors > budget) floor = floor.map((f) => Math.max(1, Math.floor((budget * f) / floors)))
  const lack = open.map((i, k) => natural[i] - floor[k])
  const spare = budget - floor.reduce((a, b) => a + b, 0)
  const totalLack = lack.reduce((a, b) => a + b, 0)
  open.forEach((i, k) => (out[i] = floor[k] + (totalLack ? Math.floor((spare * lack[k]) / totalLack) : 0)))
  // Rounding leftovers: to the columns that lack the most.
  let left = budget - open.reduce((a, i) => a + out[i], 0)
  for (const i of [...open].sort((a, b) => natural[b] - out[b] - (natural[a] - out[a]))) {
    if (left <= 0) break
    const add = Math.min(left, natural[i] - out[i])
    out[i] += add
    left -= add
  }
  return out
}

/**
 * Wraps one cell to `width` columns, greedily: lines break at spaces; a word that does
 * not fit on a line of its own (a list "a,b,c", a path "ns/name", a host) is cut after
 * its commas, slashes and dots first, then after its hyphens, and only then anywhere.
 * Only spaces are dropped (at the breaks; runs of spaces become one). Cells are plain text (no colours).
 */
export function wrapCell(s: string, width: number): string {
  const out: string[] = []
  for (const text of s.split('\n')) {
    let line = ''
    const put = (piece: string, space: boolean) => {
      const joined = line === '' ? piece : line + (space ? ' ' : '') + piece
      if (stringWidth(joined) <= width) line = joined
      else {
        if (line !== '') out.push(line)
        line = piece
      }
    }
    for (const word of text.split(/ +/).filter(Boolean)) {
      if (stringWidth(word) <= width) {
        put(word, true)
        continue
      }
      pieces(word, width).forEach((p, i) => put(p, i === 0))
    }
    out.push(line)
  }
  return out.join('\n')
}

/** A word cut after , / . and, where still longer than width, after -, then into width-long chunks. */
function pieces(word: string, width: number): string[] {
  return word
    .split(/(?<=[,/.])(?=.)/)
    .flatMap((p) => (stringWidth(p) > width ? p.split(/(?<=-)(?=.)/) : [p]))
    .flatMap((p) => {
      const chunks: string[] = []
      for (let rest = p; rest; rest = rest.slice(width)) chunks.push(rest.slice(0, width))
      return chunks
    })
}

function maxLineWidth(s: string): number {
  return Math.max(0, ...s.split('\n').map((l) => stringWidth(l)))
}
