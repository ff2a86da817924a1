#!/usr/bin/env node
// Development entry (tsc output in dist/). One binary, two names: oc-knmesh → "oc knmesh …",
// kubectl-knmesh → "kubectl knmesh …" (src/main.ts helpPrefix). Installed copies run bin/knmesh.js instead.
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {main} from '../dist/main.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
await main({argv: process.argv.slice(2), invokedAs: process.argv[1], root, pjson})
