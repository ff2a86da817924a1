import {execa} from 'execa'
import {BIN, testStateHome} from './cli.js'

/**
 * Runs knmesh on a real pseudo-terminal (util-linux `script`), typing `keys`
 * once the prompt is up, so the interactive confirm path is exercised as a
 * person would meet it. `size` sets the terminal's columns and rows (stty, before
 * knmesh starts; default: `cols` (100) columns, rows 0 = height unknown); `env` adds to or overrides the environment (NO_COLOR: '' for colours; undefined unsets).
 * `executable` runs that program instead of `node bin` (the single executable krew installs).
 */
export async function knmeshOnTty(
  args: string[],
  kubeconfig: string,
  keys: string | {when: RegExp; keys: string}[],
  delayMs = 2500,
  opts: {bin?: string; executable?: string; cols?: number; size?: {cols: number; rows: number}; cwd?: string; env?: Record<string, string | undefined>} = {},
): Promise<{exitCode: number; output: string}> {
  // The terminal is opts.size, else opts.cols (default 100) columns wide, as a new user's tmux pane was,
  // with an unknown height (rows 0: no pager, see src/ui/terminal.ts).
  const size = opts.size ?? {cols: opts.cols ?? 100, rows: 0}
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`
  // `executable`: a program run as it is (the single executable, kubectl-knmesh), instead of node with a JS entry.
  const run = [...(opts.executable ? [opts.executable] : ['node', opts.bin ?? BIN]), ...args].map(quote).join(' ')
  const cmd = `stty cols ${size.cols} rows ${size.rows} && exec ${run}`
  const child = execa('script', ['-qfec', cmd, '/dev/null'], {
    reject: false,
    cwd: opts.cwd,
    env: {KUBECONFIG: kubeconfig, NO_COLOR: '1', TERM: 'dumb', XDG_STATE_HOME: testStateHome(), ...opts.env},
    extendEnv: true,
    stdin: 'pipe',
    timeout: 60_000,
  })
  // Type only once the question is on the screen.
  let seen = ''
  let check: (() => void) | undefined
  child.stdout?.on('data', (d: Buffer) => {
    seen += d.toString()
    check?.()
  })
  // Several questions: each answer waits for its own question (`when`), so a redraw of the previous one cannot trigger it.
  const answers = Array.isArray(keys) ? keys : [{when: /\?\s.*\(y\/N\)/, keys}]
  // Each question is looked for after the previous one, so the same question asked again (setup's
  // "Apply N change(s)?" at every step) gets its own answer.
  let from = 0
  for (const answer of answers) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayMs * 8)
      check = () => {
        const m = answer.when.exec(seen.slice(from))
        if (m) {
          from += m.index + m[0].length
          clearTimeout(timer)
          check = undefined
          resolve()
        }
      }
      check()
    })
    const typedAt = seen.length
    child.stdin?.write(answer.keys)
    // The answered question is redrawn with the keys typed, then marked done ("✔ question answer"):
    // the next question is looked for after that mark (a question drawn right after it is not
    // skipped). Without a mark (Ctrl-C, a key that does not end the question): after what was seen.
    await new Promise((r) => setTimeout(r, 250))
    const done = seen.indexOf('\u2714', typedAt)
    from = done >= 0 ? done + 1 : Math.max(from, seen.length)
  }
  setTimeout(() => child.stdin?.end(), 500)
  const r = await child
  return {exitCode: r.exitCode ?? -1, output: String(r.stdout ?? '')}
}
