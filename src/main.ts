/**
 * The one entry every packaging runs: bin/run.js (dev, tsc output), the npm
 * bundle (build/npm) and the single-file binaries (build/sea).
 *
 * oclif gets a root plugin whose command table is already filled with the
 * classes of src/commands/index.ts, so it never scans or imports files to
 * find commands. That works the same from dist/, from an esbuild bundle and
 * from inside a Node single executable (which cannot import files).
 */
import {Plugin, flush, handle, run} from '@oclif/core'
import {basename} from 'node:path'
import {COMMANDS} from './commands/index.js'

/** The package.json fields oclif reads. */
export interface PackageJson {
  name: string
  version: string
  oclif: Record<string, unknown> & {bin?: string}
  [key: string]: unknown
}

/** One binary, two names: oc-knmesh → "oc knmesh", kubectl-knmesh (and anything else) → "kubectl knmesh". */
export function helpPrefix(invokedAs: string | undefined): string {
  const name = basename(invokedAs ?? '').replace(/\.(js|cjs|mjs|exe)$/i, '')
  return name.startsWith('oc-') || name === 'oc' ? 'oc knmesh' : 'kubectl knmesh'
}

export async function main(opts: {argv: string[]; invokedAs: string | undefined; root: string; pjson: PackageJson}): Promise<void> {
  const pjson: PackageJson = {...opts.pjson, oclif: {...opts.pjson.oclif, bin: helpPrefix(opts.invokedAs)}}
  const root = new Plugin({isRoot: true, pjson: pjson as never, root: opts.root})
  // Explicit discovery with the table in hand: Plugin.loadCommandsFromTarget() returns this cache.
  ;(root as unknown as {commandCache: unknown}).commandCache = COMMANDS
  try {
    await root.load()
    await run(opts.argv, {root: opts.root, pjson: pjson as never, plugins: new Map([[root.name, root]])})
    await flush()
  } catch (error) {
    await handle(error as Error)
  }
}
