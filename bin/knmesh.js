#!/usr/bin/env node
// Installed entry (npm bin: oc-knmesh, kubectl-knmesh): the esbuild bundle in build/npm (npm run bundle).
// The invocation name decides the help prefix, as in bin/run.js.
import {start} from '../build/npm/knmesh.js'

await start()
