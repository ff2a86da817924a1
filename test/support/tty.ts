import {execa} from 'execa'
import {BIN} from './cli.js'

/**
 * Runs knmesh on a real pseudo-terminal (util-linux `script`), typing `keys`
 * once the prompt is up, so the interactive confirm path is exercised as a
 * person would meet it. `size` sets the terminal's columns and rows (stty, before
 * knmesh starts; default: the size `script` gives, 0x0 when not run from a
 * terminal); `env` adds to or overrides the environment (NO_COLOR: '' for colours; undefined unsets).
 */
export async function knmeshOnTty(args: string[], kubeconfig: string, keys: string | {when: RegExp; keys: string}[], delayMs = 2500, opts: {size?: {cols: number; rows: number}; env?: Record<string, string | undefined>} = {}): Promise<{exitCode: number; output: string}> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`
  const run = ['node', BIN, ...args].map(quote).join(' ')
  const cmd = opts.size ? `stty cols ${opts.size.cols} rows ${opts.size.rows} && exec ${run}` : run
  const child = execa('script', ['-qfec', cmd, '/dev/null'], {
    reject: false,
    env: {KUBECONFIG: kubeconfig, NO_COLOR: '1', TERM: 'dumb', ...opts.env},
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
  for (const answer of answers) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayMs * 8)
      check = () => {
        if (answer.when.test(seen)) {
          clearTimeout(timer)
          check = undefined
          resolve()
        }
      }
      check()
    })
    child.stdin?.write(answer.keys)
  }
  setTimeout(() => child.stdin?.end(), 500)
  const r = await child
  return {exitCode: r.exitCode ?? -1, output: String(r.stdout ?? '')}
}
