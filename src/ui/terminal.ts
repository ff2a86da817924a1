/**
 * What the terminal knmesh writes to can take: its width and height, colours, a pager.
 * Follows kubectl and git: widths come from the terminal (or $COLUMNS/$LINES), piped
 * output and CI get no width (tables are not wrapped) and no pager, colours need a TTY
 * and no NO_COLOR.
 */

type Env = Record<string, string | undefined>
interface Out {
  isTTY?: boolean
  columns?: number
  rows?: number
}

/** -o wide: tables print every cell in full, one line per row (set once the flags are parsed). */
let wide = false

export function setWide(on: boolean): void {
  wide = on
}

export function isWide(): boolean {
  return wide
}

function positive(v: string | undefined): number | undefined {
  if (!v || !/^\d+$/.test(v.trim())) return undefined
  const n = Number(v)
  return n > 0 ? n : undefined
}

/** CI systems set CI (GitHub Actions, GitLab, Jenkins' plugins, Tekton tasks by convention). */
export function inCi(env: Env = process.env): boolean {
  return Boolean(env.CI && env.CI !== 'false' && env.CI !== '0')
}

/**
 * Columns tables must fit in: $COLUMNS when set to a positive integer, else the width of
 * stdout when it is a terminal (and not in CI). undefined: no limit (piped output, CI, -o wide).
 */
export function terminalWidth(env: Env = process.env, out: Out = process.stdout): number | undefined {
  if (wide) return undefined
  const columns = positive(env.COLUMNS)
  if (columns) return columns
  if (!out.isTTY || inCi(env)) return undefined
  return out.columns && out.columns > 0 ? out.columns : undefined
}

/**
 * Rows of the screen: $LINES, else the terminal's. undefined when piped, in CI, or when
 * the terminal does not say (0 rows): then nothing is paged.
 */
export function terminalHeight(env: Env = process.env, out: Out = process.stdout): number | undefined {
  if (!out.isTTY || inCi(env)) return undefined
  const lines = positive(env.LINES)
  if (lines) return lines
  return out.rows && out.rows > 0 ? out.rows : undefined
}

/** Colours: stdout is a terminal and NO_COLOR (https://no-color.org) is unset or empty. */
export function colorEnabled(env: Env = process.env, out: Out = process.stdout): boolean {
  return Boolean(out.isTTY) && !env.NO_COLOR
}

/**
 * The pager command, as git chooses it: $KNMESH_PAGER, else $PAGER, else `less -R`.
 * undefined (no pager) when stdout is not a terminal, in CI, with --no-pager, or when the
 * chosen command is empty or `cat`.
 */
export function pagerCommand(opts: {noPager?: boolean} = {}, env: Env = process.env, out: Out = process.stdout): string | undefined {
  if (opts.noPager || !out.isTTY || inCi(env)) return undefined
  const cmd = (env.KNMESH_PAGER ?? env.PAGER ?? 'less -R').trim()
  if (cmd === '' || cmd === 'cat') return undefined
  return cmd
}
