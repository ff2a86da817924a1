#!/usr/bin/env node
// One binary, two names: oc-knmesh → "oc knmesh …", kubectl-knmesh → "kubectl knmesh …".
import {readFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {run, flush, handle} from '@oclif/core'

const invoked = basename(process.argv[1] ?? '').replace(/\.(js|cjs|mjs|exe)$/i, '')
const prefix = invoked.startsWith('oc-') ? 'oc knmesh' : 'kubectl knmesh'
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
pjson.oclif.bin = prefix

try {
  await run(process.argv.slice(2), {root, pjson})
  await flush()
} catch (error) {
  await handle(error)
}
