// Entry of the single executable (tools/release/sea-loader.cjs loads it and its chunks from SEA assets).
import './preamble.js'
import {dirname} from 'node:path'
import pjson from '../../package.json'
import manifest from '../../build/oclif.manifest.json'
import {main, type Manifest, type PackageJson} from '../../src/main.js'

// The name it was started by (argv[0], before symlinks are resolved) decides the help prefix:
// kubectl-knmesh / oc-knmesh, with or without .exe. In a single executable argv[1] is the executable again.
export function start(): Promise<void> {
  return main({
    argv: process.argv.slice(2),
    invokedAs: process.argv0,
    root: dirname(process.execPath),
    pjson: pjson as PackageJson,
    manifest: manifest as Manifest,
  })
}
