'use strict'
/**
 * Main script of the single executable (Node 20 SEA runs exactly one CommonJS script, whose
 * require() knows built-in modules only). The application is the split bundle of
 * tools/release/bundle.mjs as CommonJS chunks, stored as SEA assets; this loads a chunk when it
 * is first required, so a command pays only for the code it runs. Each chunk comes with a V8 code
 * cache made at build time (assets "cache/<chunk>") when the blob was written for this platform;
 * V8 checks it and falls back to compiling if it does not fit.
 *
 * Outside a single executable (KNMESH_SEA_APP=<dir of chunks.json>) it loads the same files from
 * disk; KNMESH_SEA_DEBUG=1 lists on exit the chunks loaded and whether their cache fitted;
 * KNMESH_SEA_WRITE_CACHE=<dir> then writes the code cache of every chunk on exit (starting
 * from the cache already in <dir>, so several warm-up runs add up).
 */
const vm = require('node:vm')
const path = require('node:path')
const fs = require('node:fs')
const sea = require('node:sea')
const {isBuiltin} = require('node:module')

const inSea = sea.isSea()
const appDir = process.env.KNMESH_SEA_APP
const writeCache = !inSea && process.env.KNMESH_SEA_WRITE_CACHE

function asset(name, encoding) {
  if (inSea) {
    try {
      return encoding ? sea.getAsset(name, encoding) : Buffer.from(sea.getAsset(name))
    } catch {
      return undefined
    }
  }
  const file = path.join(appDir, name)
  return fs.existsSync(file) ? fs.readFileSync(file, encoding) : undefined
}

// Where bundled code that asks for __dirname is told it lives: beside the executable.
const home = path.dirname(process.execPath)
const modules = new Map()
const scripts = new Map()

function load(id) {
  const loaded = modules.get(id)
  if (loaded) return loaded.exports
  const source = asset(id, 'utf8')
  if (source === undefined) throw new Error(`knmesh: chunk ${id} is missing from this executable`)
  const module = {exports: {}}
  modules.set(id, module)
  // Writing: start from the cache of earlier warm-up runs, so each run adds what it compiled.
  const cacheFile = writeCache && path.join(writeCache, 'cache', id)
  const cachedData = writeCache ? (fs.existsSync(cacheFile) ? fs.readFileSync(cacheFile) : undefined) : asset(`cache/${id}`)
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {filename: `knmesh:///${id}`, cachedData})
  scripts.set(id, script)
  const dir = path.posix.dirname(id)
  const localRequire = (spec) => {
    if (spec.startsWith('./') || spec.startsWith('../')) return load(path.posix.join(dir, spec))
    if (isBuiltin(spec)) return require(spec)
    // Optional packages that bundled code probes for (try { require('bufferutil') } ...): absent, as on disk.
    throw Object.assign(new Error(`Cannot find module '${spec}'`), {code: 'MODULE_NOT_FOUND'})
  }
  script.runInThisContext().call(module.exports, module.exports, localRequire, module, path.join(home, id), path.join(home, dir))
  return module.exports
}

if (process.env.KNMESH_SEA_DEBUG) {
  process.on('exit', () => {
    const rows = [...scripts].map(([id, sc]) => `${id}: ${sc.cachedDataRejected === undefined ? 'no code cache' : sc.cachedDataRejected ? 'code cache rejected' : 'code cache used'}`)
    process.stderr.write(`knmesh-sea: ${rows.length} chunks loaded\n${rows.join('\n')}\n`)
  })
}

if (writeCache) {
  // After the run, so the cache holds the functions that were compiled lazily too.
  process.on('exit', () => {
    // Chunks this run did not need get the cache of their top-level code (compiled, not run).
    for (const id of JSON.parse(asset('chunks.json', 'utf8')).files) {
      if (!scripts.has(id)) scripts.set(id, new vm.Script(`(function (exports, require, module, __filename, __dirname) {${asset(id, 'utf8')}\n})`, {filename: `knmesh:///${id}`}))
    }
    for (const [id, script] of scripts) {
      const file = path.join(writeCache, 'cache', id)
      fs.mkdirSync(path.dirname(file), {recursive: true})
      fs.writeFileSync(file, script.createCachedData())
    }
  })
}

load(JSON.parse(asset('chunks.json', 'utf8')).entry).start()
