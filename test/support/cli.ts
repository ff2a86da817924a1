import {execa} from 'execa'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The development entry (tsc output in dist/). */
export const DEV_BIN = join(ROOT, 'bin/run.js')
/** The shipped entry: what `npm install -g` runs (the esbuild bundle in build/npm, `npm run bundle`). */
export const BUNDLE_BIN = join(ROOT, 'bin/knmesh.js')
/**
 * The entry the tests run: KNMESH_TEST_ENTRY=bundle runs every integration test against the shipped
 * bundle (bin/knmesh.js) instead of the tsc output (bin/run.js).
 */
export const BIN = process.env.KNMESH_TEST_ENTRY === 'bundle' ? BUNDLE_BIN : DEV_BIN

function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, {withFileTypes: true})) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

/**
 * Builds the bundle (`npm run bundle`) when it is missing or older than a file in src/ or
 * tools/release/, so a test of the shipped build never runs a stale one. ~20 s when it builds.
 */
export function ensureBundle(): void {
  const out = join(ROOT, 'build/npm/knmesh.js')
  const stale = !existsSync(out) || statSync(out).mtimeMs < Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'tools/release')))
  if (stale) execFileSync(process.execPath, [join(ROOT, 'tools/release/bundle.mjs')], {cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit']})
}

let stateHome: string | undefined
/**
 * The XDG_STATE_HOME every test run of knmesh gets unless the test passes its own: a temporary folder of this
 * test process, so the change journal (src/journal) never writes to the real ~/.local/state.
 */
export function testStateHome(): string {
  stateHome ??= mkdtempSync(join(tmpdir(), 'knmesh-state-'))
  return stateHome
}

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Runs the built knmesh binary as a user would, against the given kubeconfig. No TTY unless `tty`. */
export async function knmesh(args: string[], opts: {kubeconfig?: string; input?: string; env?: Record<string, string>; bin?: string} = {}): Promise<CliResult> {
  const r = await execa('node', [opts.bin ?? BIN, ...args], {
    reject: false,
    input: opts.input ?? '',
    env: {KUBECONFIG: opts.kubeconfig ?? process.env.KNMESH_TEST_KUBECONFIG ?? '', NO_COLOR: '1', NODE_ENV: '', XDG_STATE_HOME: testStateHome(), ...opts.env},
    extendEnv: true,
    timeout: 120_000,
  })
  return {exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr}
}
