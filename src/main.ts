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
import {closest} from './mesh/names.js'

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

/** oclif's manifest of a plugin: each command's id, flags, args, summary, examples (what --help shows). */
export type Manifest = {version: string; commands: Record<string, unknown>}

/** The root plugin, with the command table in hand (explicit discovery, no file is imported to find commands). */
function rootPlugin(pjson: PackageJson, root: string, manifest?: Manifest): Plugin {
  const plugin = new Plugin({isRoot: true, pjson: pjson as never, root})
  // Plugin.loadCommandsFromTarget() returns this cache instead of importing oclif.commands.target.
  ;(plugin as unknown as {commandCache: unknown}).commandCache = COMMANDS
  if (manifest) {
    // Made at build time (tools/release/bundle.mjs): oclif then skips inspecting every command class at startup.
    ;(plugin as unknown as {_manifest: () => Promise<Manifest>})._manifest = async function (this: {commandIDs: string[]}) {
      this.commandIDs = Object.keys(manifest.commands)
      return manifest
    }
  }
  return plugin
}

/** The manifest oclif would compute at startup, for a bundle to embed. */
export async function buildManifest(pjson: PackageJson, root: string): Promise<Manifest> {
  const plugin = rootPlugin(pjson, root)
  await plugin.load()
  return JSON.parse(JSON.stringify(plugin.manifest)) as Manifest
}

/**
 * Output piped into a reader that stops early (`| head -1`): the rest is not wanted. End quietly with the
 * exit code so far, as kubectl does, instead of an EPIPE error or Node's exit 13 (a write that never settles).
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(Number(process.exitCode ?? 0))
      throw error
    })
  }
}

export async function main(opts: {argv: string[]; invokedAs: string | undefined; root: string; pjson: PackageJson; manifest?: Manifest}): Promise<void> {
  quietOnClosedPipe()
  const pjson: PackageJson = {...opts.pjson, oclif: {...opts.pjson.oclif, bin: helpPrefix(opts.invokedAs)}}
  const root = rootPlugin(pjson, opts.root, opts.manifest)
  // An unknown verb: one line, "did you mean", exit 2 (oclif would print " ›   Error: command stauts not found").
  // "help VERB" is "VERB --help".
  const argv = opts.argv[0] === 'help' ? [...opts.argv.slice(1), '--help'] : opts.argv
  const verb = argv[0]
  if (verb && !verb.startsWith('-') && !(verb in COMMANDS)) {
    const hint = closest(verb, Object.keys(COMMANDS))
    process.stderr.write(`error: unknown verb "${verb}"${hint ? ` (did you mean "${pjson.oclif.bin} ${hint}"?)` : ''}: see ${pjson.oclif.bin} --help\n`)
    process.exitCode = 2
    return
  }
  // A verb that takes no arguments, followed by a word: oclif would look for a command "VERB:WORD" and print
  // " ›   Error: command precheck:extra not found". Say it as every other usage error is said.
  const next = argv[1]
  if (verb && verb in COMMANDS && next !== undefined && !next.startsWith('-') && Object.keys(COMMANDS[verb as keyof typeof COMMANDS].args ?? {}).length === 0) {
    process.stderr.write(`error: ${verb} takes no arguments, got "${next}" (see ${pjson.oclif.bin} ${verb} --help)\n`)
    process.exitCode = 2
    return
  }
  try {
    await root.load()
    await run(argv, {root: opts.root, pjson: pjson as never, plugins: new Map([[root.name, root]])})
    await flush()
  } catch (error) {
    await handle(error as Error)
  }
}
