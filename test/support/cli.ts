import {execa} from 'execa'
import {fileURLToPath} from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Runs the built knmesh binary as a user would, against the given kubeconfig. No TTY unless `tty`. */
export async function knmesh(args: string[], opts: {kubeconfig?: string; input?: string; env?: Record<string, string>} = {}): Promise<CliResult> {
  const r = await execa('node', [BIN, ...args], {
    reject: false,
    input: opts.input ?? '',
    env: {KUBECONFIG: opts.kubeconfig ?? process.env.KNMESH_TEST_KUBECONFIG ?? '', NO_COLOR: '1', NODE_ENV: '', ...opts.env},
    extendEnv: true,
    timeout: 120_000,
  })
  return {exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
}
