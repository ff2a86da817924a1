// Entry of the single-file binary (Node single executable application): one CommonJS file, no imports from disk.
import {dirname} from 'node:path'
import pjson from '../../package.json'
import {main, type PackageJson} from '../../src/main.js'

// The name it was started by (argv[0], before symlinks are resolved) decides the help prefix:
// kubectl-knmesh / oc-knmesh, with or without .exe. In a single executable argv[1] is the executable again.
void main({argv: process.argv.slice(2), invokedAs: process.argv0, root: dirname(process.execPath), pjson: pjson as PackageJson})
