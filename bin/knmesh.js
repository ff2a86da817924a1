#!/usr/bin/env node
// Installed entry (npm bin: oc-knmesh, kubectl-knmesh): the esbuild bundle in build/npm (npm run bundle).
// The invocation name decides the help prefix, as in bin/run.js.
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const entry = new URL('../build/npm/knmesh.js', import.meta.url)
if (!existsSync(entry)) {
  // A folder install (npm install -g .) runs no build step: say which command makes the bundle.
  const root = fileURLToPath(new URL('..', import.meta.url))
  process.stderr.write(`error: ${fileURLToPath(entry)} is missing: run "npm run bundle" in ${root}\n`)
  process.exit(1)
}
const {start} = await import(entry.href)
await start()
