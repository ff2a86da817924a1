#!/usr/bin/env node
/**
 * npm run bundle: two esbuild bundles of src/main.ts (explicit command table, no file scanning).
 *   build/npm/knmesh.js + chunks  ESM with code splitting, for the npm package (bin/knmesh.js):
 *                                 `--help` loads oclif and the command classes only; each verb's
 *                                 heavy modules are chunks loaded by its `await import()`.
 *   build/sea/app/*.js            the same split, as CommonJS chunks, for the single executables
 *                                 (Node 20 SEA runs one CJS script: tools/release/sea-loader.cjs,
 *                                 which loads these from the SEA's assets on demand).
 * Prints sizes; writes build/{npm,sea}.meta.json (esbuild's analyzer; dist.mjs reads the licenses from it).
 */
import {execFileSync} from 'node:child_process'
import * as esbuild from 'esbuild'
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const out = join(root, 'build')
/**
 * Modules oclif needs only for paths knmesh never takes: scanning a commands folder (tinyglobby,
 * with fdir + picomatch), matching plugin names (minimatch), finding package.json (lilconfig).
 * src/main.ts hands oclif the package.json and the command table, so these are replaced by
 * stubs that fail loudly if ever reached. Saves load time and keeps the single executable
 * from probing node_modules (fdir's require.resolve('picomatch')).
 */
const notBundled = ['tinyglobby', 'minimatch', 'lilconfig']
const stubUnused = {
  name: 'stub-unused-oclif-paths',
  setup(build) {
    build.onResolve({filter: new RegExp(`^(${notBundled.join('|')})$`)}, (args) => ({path: args.path, namespace: 'knmesh-stub'}))
    build.onLoad({filter: /.*/, namespace: 'knmesh-stub'}, (args) => ({
      loader: 'js',
      contents: `const fail = () => { throw new Error(${JSON.stringify(`knmesh: ${args.path} is not part of this build`)}) }
module.exports = new Proxy({}, {get: (_, k) => (k === '__esModule' ? false : fail)})`,
    }))
  },
}

/**
 * src/kube/config.ts loads @kubernetes/client-node with a dynamic import, which makes esbuild keep
 * the whole package. Bundles get tools/release/client-node.ts instead (named exports, tree-shaken);
 * a src file that takes other names from the package fails the bundle here rather than at run time.
 */
const CLIENT_NODE_NAMES = ['KubeConfig']
const clientNodeNamed = {
  name: 'client-node-named-exports',
  setup(build) {
    build.onResolve({filter: /^@kubernetes\/client-node$/}, (args) => {
      if (!args.importer.startsWith(join(root, 'src') + sep)) return undefined
      const text = readFileSync(args.importer, 'utf8')
      const uses = [...text.matchAll(/(?:import\s*\{([^}]*)\}\s*from|const\s*\{([^}]*)\}\s*=\s*await\s+import\()\s*['"]@kubernetes\/client-node['"]/g)]
      const names = uses.flatMap((m) =>
        (m[1] ?? m[2])
          .split(',')
          .map((n) => n.trim().split(/\s+as\s+|\s*:\s*/)[0])
          .filter(Boolean),
      )
      const other = names.filter((n) => !CLIENT_NODE_NAMES.includes(n))
      const all = text.match(/['"]@kubernetes\/client-node['"]/g)?.length ?? 0
      const typeOnly = text.match(/import\s+type\s*\{[^}]*\}\s*from\s*['"]@kubernetes\/client-node['"]/g)?.length ?? 0
      if (other.length || uses.length + typeOnly !== all) {
        return {
          errors: [
            {
              text: `${relative(root, args.importer)} uses @kubernetes/client-node beyond {${CLIENT_NODE_NAMES.join(', ')}} (${other.join(', ') || 'a namespace import'}): add the names to tools/release/client-node.ts and CLIENT_NODE_NAMES`,
            },
          ],
        }
      }
      return {path: join(root, 'tools/release/client-node.ts')}
    })
  },
}

/**
 * oclif passes every help string (each summary, description, flag text) through ejs.render, which
 * compiles it to a new Function each time: ~30 compiles for the root help. A string without ejs
 * tags renders to itself, so the bundles hand those back as they are and leave the rest to ejs.
 */
const ejsPlain = {
  name: 'ejs-plain-strings',
  setup(build) {
    build.onResolve({filter: /^ejs$/}, (args) => (args.importer.endsWith('ejs-plain.cjs') ? undefined : {path: 'ejs-plain.cjs', namespace: 'knmesh-ejs'}))
    build.onLoad({filter: /.*/, namespace: 'knmesh-ejs'}, () => ({
      loader: 'js',
      resolveDir: root,
      contents: `const ejs = require(${JSON.stringify(join(root, 'node_modules/ejs/lib/cjs/ejs.js'))})
const render = ejs.render
module.exports = Object.assign(Object.create(ejs), {render: (t, ...rest) => (typeof t === 'string' && !t.includes('<%') && !t.includes('%>') ? t : render.call(ejs, t, ...rest))})`,
    }))
  },
}

/**
 * CommonJS packages that @kubernetes/client-node imports at the top of its config module but uses
 * only for some configurations (fetch-style requests, proxies). Loading them costs ~60 ms at every
 * verb's start (node-fetch pulls whatwg-url and tr46, which builds its tables at load). The bundles
 * get a stand-in with the same export names that requires the real package on first use.
 */
const LAZY_CJS = ['node-fetch', 'socks-proxy-agent', 'hpagent']
const lazyCjs = {
  name: 'lazy-cjs',
  setup(build) {
    build.onResolve({filter: new RegExp(`^(${LAZY_CJS.join('|')})$`)}, async (args) => {
      if (args.pluginData?.real) return undefined
      // The CommonJS entry (the stand-in require()s it); the .cjs suffix makes esbuild treat the stand-in as CommonJS.
      const real = await build.resolve(args.path, {resolveDir: args.resolveDir, kind: 'require-call', importer: args.importer, pluginData: {real: true}})
      if (real.errors.length) return {errors: real.errors}
      return {path: `${real.path}.lazy.cjs`, namespace: 'knmesh-lazy', pluginData: {real: real.path}}
    })
    build.onLoad({filter: /.*/, namespace: 'knmesh-lazy'}, (args) => {
      const realPath = args.pluginData.real
      const mod = createRequire(realPath)(realPath)
      const skip = new Set(['length', 'name', 'prototype', 'arguments', 'caller'])
      const names = Object.getOwnPropertyNames(mod).filter((k) => !(typeof mod === 'function' && skip.has(k)))
      const lines = [
        `let real; const load = () => (real ??= require(${JSON.stringify(realPath)}))`,
        typeof mod === 'function'
          ? 'const shim = function (...a) { return new.target ? Reflect.construct(load(), a, new.target) : load().apply(this, a) }'
          : 'const shim = {}',
        ...names.map((k) =>
          k === '__esModule'
            ? `Object.defineProperty(shim, '__esModule', {value: ${JSON.stringify(mod.__esModule)}})`
            : `Object.defineProperty(shim, ${JSON.stringify(k)}, {get: () => load()[${JSON.stringify(k)}], enumerable: true, configurable: true})`,
        ),
        'module.exports = shim',
      ]
      return {loader: 'js', resolveDir: dirname(realPath), contents: lines.join('\n')}
    })
  },
}

/**
 * oclif sorts a plugin's commands with String.prototype.localeCompare, whose first call builds ICU's
 * collator: 8-15 ms of every start. Command ids are lowercase ASCII words and dashes, where the
 * code-point order is the same, so the bundles compare code points there. If oclif changes that line
 * the bundle fails here, so this never silently stops applying.
 */
const OCLIF_SORT = '.sort((a, b) => a.id.localeCompare(b.id));'
const oclifSortWithoutIcu = {
  name: 'oclif-sort-without-icu',
  setup(build) {
    build.onLoad({filter: /@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/}, (args) => {
      const text = readFileSync(args.path, 'utf8')
      if (!text.includes(OCLIF_SORT))
        return {errors: [{text: `${args.path}: "${OCLIF_SORT}" not found; update oclifSortWithoutIcu in tools/release/bundle.mjs`}]}
      return {loader: 'js', contents: text.replace(OCLIF_SORT, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));')}
    })
  },
}

/**
 * `await import('a-commonjs-package')` in src: Node gives the module's exports as named exports
 * (cjs-module-lexer) and `default`. In a split esbuild bundle the package's chunk exports `default`
 * only, so `const {SingleBar, Presets} = await import('cli-progress')` got `Presets === undefined`
 * in the shipped build while the tsc build worked. Each such import is handed an ESM wrapper that
 * re-exports every property of module.exports by name (read here, at bundle time), as Node does.
 */
const cjsDynamicNamed = {
  name: 'cjs-dynamic-import-named-exports',
  setup(build) {
    build.onResolve({filter: /^[^./]/}, async (args) => {
      if (args.kind !== 'dynamic-import' || args.pluginData?.real || !args.importer.startsWith(join(root, 'src') + sep)) return undefined
      const real = await build.resolve(args.path, {resolveDir: args.resolveDir, kind: 'dynamic-import', importer: args.importer, pluginData: {real: true}})
      if (real.errors.length || real.external || !isCommonJs(real.path)) return undefined
      return {path: real.path, namespace: 'knmesh-cjs-named', pluginData: {real: real.path, spec: args.path}}
    })
    build.onLoad({filter: /.*/, namespace: 'knmesh-cjs-named'}, (args) => {
      const {real, spec} = args.pluginData
      const mod = createRequire(real)(real)
      const names = Object.keys(mod).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default' && k !== '__esModule')
      const lines = [`import cjs from ${JSON.stringify(spec)}`, 'export default cjs', ...names.map((k) => `export const ${k} = cjs[${JSON.stringify(k)}]`)]
      return {loader: 'js', resolveDir: dirname(real), contents: lines.join('\n'), pluginData: {real: true}}
    })
  },
}

/** Whether Node loads this file as CommonJS: .cjs, or .js under a package.json without "type": "module". */
function isCommonJs(file) {
  if (file.endsWith('.cjs')) return true
  if (!file.endsWith('.js')) return false
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type !== 'module'
    } catch {
      // no package.json here: look one folder up
    }
  }
  return true
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  absWorkingDir: root,
  legalComments: 'none',
  minifySyntax: true,
  // KNMESH_BUNDLE_READABLE=1: keep line breaks, for profiling (--cpu-prof names lines).
  minifyWhitespace: !process.env.KNMESH_BUNDLE_READABLE,
  // minifyIdentifiers would rename command classes; oclif prints none of them, but error stacks stay readable this way.
  keepNames: true,
  logLevel: 'warning',
  metafile: true,
  plugins: [stubUnused, clientNodeNamed, ejsPlain, lazyCjs, oclifSortWithoutIcu, cjsDynamicNamed],
  // Optional modules that dependencies probe for with try/require; never needed here.
  // typescript: oclif's ts-node/tsx support for development plugins (read-tsconfig.js, inside try/catch).
  external: ['bufferutil', 'utf-8-validate', 'typescript'],
}

/** oclif's manifest of the commands, computed once here instead of at every start (build/oclif.manifest.json). */
async function oclifManifest() {
  const gen = join(out, 'manifest-gen.mjs')
  await esbuild.build({
    ...common,
    metafile: false,
    entryPoints: [join(root, 'tools/release/manifest-gen.ts')],
    outfile: gen,
    format: 'esm',
    banner: {js: esmRequire},
  })
  const json = execFileSync(process.execPath, [gen], {cwd: root, encoding: 'utf8'})
  writeFileSync(join(out, 'oclif.manifest.json'), json)
  rmSync(gen)
}

// Bundled CommonJS dependencies call require(); give ESM output a real one.
const esmRequire = "import {createRequire as __knmeshCreateRequire} from 'node:module';const require=__knmeshCreateRequire(import.meta.url);"

export async function bundle() {
  rmSync(join(out, 'npm'), {recursive: true, force: true})
  rmSync(join(out, 'sea'), {recursive: true, force: true})
  mkdirSync(out, {recursive: true})
  await oclifManifest()
  const npm = await esbuild.build({
    ...common,
    entryPoints: {knmesh: 'tools/release/entry-npm.ts'},
    outdir: join(out, 'npm'),
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    banner: {js: esmRequire},
  })
  // The chunks are ESM whatever package.json above says.
  writeFileSync(join(out, 'npm', 'package.json'), JSON.stringify({type: 'module'}) + '\n')
  const sea = await seaChunks()
  const size = (m) => Object.values(m.outputs).reduce((n, o) => n + o.bytes, 0)
  const entry = Object.entries(npm.metafile.outputs).find(([f]) => f.endsWith('npm/knmesh.js'))
  const entryImports = entry[1].imports.filter((i) => !i.external && i.kind === 'import-statement').map((i) => i.path)
  const startup = entry[1].bytes + entryImports.reduce((n, p) => n + (npm.metafile.outputs[p]?.bytes ?? 0), 0)
  writeFileSync(join(out, 'npm.meta.json'), JSON.stringify(npm.metafile))
  writeFileSync(join(out, 'sea.meta.json'), JSON.stringify(sea.metafile))
  const kb = (n) => `${Math.round(n / 1024)} KiB`
  process.stderr.write(
    `bundle: build/npm ${Object.keys(npm.metafile.outputs).length} files ${kb(size(npm.metafile))} (loaded at start: ${kb(startup)}); build/sea/app ${Object.keys(sea.metafile.outputs).length} CommonJS chunks ${kb(size(sea.metafile))}\n`,
  )
}

/**
 * The single executable's code: the same split bundle, each chunk turned into CommonJS
 * (imports become require('./chunk'), import() becomes a lazy require), written to build/sea/app
 * with build/sea/app/chunks.json listing them. tools/release/sea-loader.cjs, the SEA's main
 * script, loads them from SEA assets on demand: `--help` compiles ~0.4 MiB, not 7.
 */
async function seaChunks() {
  const built = await esbuild.build({
    ...common,
    entryPoints: {knmesh: 'tools/release/entry-sea.ts'},
    outdir: join(out, 'sea', 'app'),
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    write: false,
    // import.meta.url has no meaning inside a single executable; nothing on the SEA path uses it.
    define: {'import.meta.url': '"file:///knmesh-sea.js"'},
  })
  const files = []
  for (const f of built.outputFiles) {
    const rel = relative(join(out, 'sea', 'app'), f.path)
      .split(sep)
      .join('/')
    const cjs = await esbuild.transform(f.text, {
      format: 'cjs',
      target: 'node20',
      supported: {'dynamic-import': false},
      minifySyntax: true,
      keepNames: true,
      logLevel: 'error',
      minifyWhitespace: !process.env.KNMESH_BUNDLE_READABLE,
    })
    mkdirSync(dirname(f.path), {recursive: true})
    writeFileSync(f.path, cjs.code)
    files.push(rel)
  }
  writeFileSync(join(out, 'sea', 'app', 'chunks.json'), JSON.stringify({entry: 'knmesh.js', files: files.sort()}) + '\n')
  return built
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle()
