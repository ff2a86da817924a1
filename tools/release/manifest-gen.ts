// Run by bundle.mjs (bundled, then executed once): prints the oclif manifest the bundles embed.
import pjson from '../../package.json' with {type: 'json'}
import {buildManifest, type PackageJson} from '../../src/main.js'

process.stdout.write(JSON.stringify(await buildManifest(pjson as PackageJson, process.cwd())) + '\n')
