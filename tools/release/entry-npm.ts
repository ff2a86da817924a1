// Entry of the npm bundle (build/npm/knmesh.js), run by bin/knmesh.js.
import './preamble.js'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import pjson from '../../package.json' with {type: 'json'}
import manifest from '../../build/oclif.manifest.json' with {type: 'json'}
import {main, type Manifest, type PackageJson} from '../../src/main.js'

export function start(): Promise<void> {
  // The package root: build/npm/ → ../..
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
  return main({argv: process.argv.slice(2), invokedAs: process.argv[1], root, pjson: pjson as PackageJson, manifest: manifest as Manifest})
}
