import Table from 'cli-table3'

/** A borderless, kubectl-like table. */
export function table(head: string[], rows: (string | number | undefined)[][]): string {
  const t = new Table({
    head: head.map((h) => h.toUpperCase()),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
      'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '   ',
    },
    style: {head: [], border: [], 'padding-left': 0, 'padding-right': 0},
  })
  for (const r of rows) t.push(r.map((c) => (c === undefined ? '' : String(c))))
  return t.toString().split('\n').map((l) => l.trimEnd()).join('\n')
}
