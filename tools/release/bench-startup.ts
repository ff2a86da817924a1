/**
 * npm run bench:startup: the startup budget of issue 7, measured in one run with each pair
 * interleaved (a, b, b, a, a, b, ...) so machine load hits both sides alike; prints medians and ratios.
 *
 *   kubectl-knmesh --help        within 3x `kubectl --help`, and at most 60 ms above `node -e 0`
 *   a read-only verb (one round trip to the API server) within 4x the equivalent `kubectl get --raw`
 *
 * The binary is the installed single executable (what krew installs): by default the linux/amd64
 * one of `npm run dist` (build/release/stage/linux-amd64/kubectl-knmesh); --bin FILE for another.
 * The npm package's entry (node bin/knmesh.js) is measured too, for information.
 * The API server: $KUBECONFIG / --kubeconfig if given, else a local control plane started here.
 * The budgets are judged on wall-time medians; CPU time (user+sys, via GNU time) is printed beside them.
 *
 *   npm run bench:startup -- [--runs 21] [--bin FILE] [--kubeconfig FILE] [--check]
 * --check: exit 1 when a budget is missed.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const {values: opts} = parseArgs({
  options: {
    runs: {type: 'string', default: '21'},
    bin: {type: 'string'},
    kubeconfig: {type: 'string'},
    check: {type: 'boolean', default: false},
  },
})
const runs = Number(opts.runs)
const bin = resolve(opts.bin ?? join(root, 'build/release/stage/linux-amd64/kubectl-knmesh'))
if (!existsSync(bin)) {
  process.stderr.write(`error: ${bin} not found: run \`npm run dist -- --platforms linux/amd64\` first, or pass --bin\n`)
  process.exit(2)
}
if (!existsSync(join(root, 'build/npm/knmesh.js'))) {
  process.stderr.write('error: build/npm not found: run `npm run bundle` first\n')
  process.exit(2)
}

type Cmd = string[]
interface Pair {
  name: string
  a: Cmd
  b: Cmd
  budget?: {ratio?: number; overMs?: number}
}

/** GNU time, when installed, adds each side's CPU time (user+sys), which load on the machine disturbs less than wall time. */
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined

function once(cmd: Cmd, env: NodeJS.ProcessEnv): {wall: number; cpu?: number} {
  const argv = gnuTime ? [gnuTime, '-f', 'knmesh-bench-cpu %U %S', ...cmd] : cmd
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {stdio: ['ignore', 'ignore', 'pipe'], env})
  const wall = Number(process.hrtime.bigint() - t0) / 1e6
  const stderr = r.stderr?.toString() ?? ''
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited ${r.status}: ${stderr.trim()}`)
  const m = /knmesh-bench-cpu ([\d.]+) ([\d.]+)/.exec(stderr)
  return {wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined}
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function main(): Promise<void> {
  let kubeconfig = opts.kubeconfig ?? process.env.KUBECONFIG
  let stop: (() => Promise<void>) | undefined
  if (!kubeconfig) {
    process.stderr.write('starting a local control plane (test/support/controlplane.ts)...\n')
    const {startSeededControlPlane} = await import('../../test/support/controlplane.js')
    const {cp} = await startSeededControlPlane()
    kubeconfig = cp.adminKubeconfig
    stop = () => cp.stop()
  }
  const env = {...process.env, KUBECONFIG: kubeconfig, NO_COLOR: '1'}
  // The verb: `tenant-authz --list` reads the tenants' AuthorizationPolicies with one labelled list
  // (and the member roll, in parallel with it); kubectl fetches the same list.
  const policies = '/apis/security.istio.io/v1beta1/authorizationpolicies?labelSelector=knmesh.openshift.io%2Ftenant&limit=500'
  const npmBin: Cmd = [process.execPath, join(root, 'bin/knmesh.js')]
  const pairs: Pair[] = [
    {name: 'kubectl-knmesh --help vs kubectl --help', a: [bin, '--help'], b: ['kubectl', '--help'], budget: {ratio: 3}},
    {name: 'kubectl-knmesh --help vs node -e 0', a: [bin, '--help'], b: [process.execPath, '-e', '0'], budget: {overMs: 60}},
    {
      name: 'kubectl-knmesh tenant-authz --list vs kubectl get --raw',
      a: [bin, 'tenant-authz', '--list'],
      b: ['kubectl', 'get', '--raw', policies],
      budget: {ratio: 4},
    },
    {name: '(npm) node bin/knmesh.js --help vs node -e 0', a: [...npmBin, '--help'], b: [process.execPath, '-e', '0']},
    {
      name: '(npm) node bin/knmesh.js tenant-authz --list vs kubectl get --raw',
      a: [...npmBin, 'tenant-authz', '--list'],
      b: ['kubectl', 'get', '--raw', policies],
    },
  ]
  try {
    const times = pairs.map(() => ({a: [] as number[], b: [] as number[], ca: [] as number[], cb: [] as number[]}))
    const record = (j: number, side: 'a' | 'b', r: {wall: number; cpu?: number}) => {
      times[j][side].push(r.wall)
      if (r.cpu !== undefined) times[j][side === 'a' ? 'ca' : 'cb'].push(r.cpu)
    }
    for (const p of pairs)
      for (let w = 0; w < 2; w++) {
        once(p.a, env)
        once(p.b, env)
      } // warm the page cache
    for (let i = 0; i < runs; i++) {
      pairs.forEach((p, j) => {
        if (i % 2 === 0) {
          record(j, 'a', once(p.a, env))
          record(j, 'b', once(p.b, env))
        } else {
          record(j, 'b', once(p.b, env))
          record(j, 'a', once(p.a, env))
        }
      })
    }
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {version: string}
    const nodeVersion = spawnSync(process.execPath, ['--version'], {encoding: 'utf8'}).stdout.trim()
    const kubectlVersion = spawnSync('kubectl', ['version', '--client'], {encoding: 'utf8'}).stdout.split('\n')[0]
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
    process.stdout.write(
      `knmesh ${pkg.version} startup, ${runs} interleaved runs per side (node ${nodeVersion}, ${kubectlVersion}, load ${load})\nbinary: ${bin}\n\n`,
    )
    let failed = 0
    pairs.forEach((p, j) => {
      const ma = median(times[j].a)
      const mb = median(times[j].b)
      const ratio = ma / mb
      const over = ma - mb
      let verdict = ''
      if (p.budget?.ratio !== undefined) verdict = ratio <= p.budget.ratio ? `ok (budget ${p.budget.ratio}x)` : `OVER BUDGET (${p.budget.ratio}x)`
      if (p.budget?.overMs !== undefined) verdict = over <= p.budget.overMs ? `ok (budget +${p.budget.overMs} ms)` : `OVER BUDGET (+${p.budget.overMs} ms)`
      if (verdict.startsWith('OVER')) failed++
      process.stdout.write(
        `${p.name}\n  wall median ${ma.toFixed(1)} ms vs ${mb.toFixed(1)} ms   ratio ${ratio.toFixed(2)}x   difference ${over >= 0 ? '+' : ''}${over.toFixed(1)} ms   ${verdict}\n`,
      )
      if (times[j].ca.length) {
        const ca = median(times[j].ca)
        const cb = median(times[j].cb)
        process.stdout.write(
          `  cpu  median ${ca.toFixed(0)} ms vs ${cb.toFixed(0)} ms   ratio ${(ca / cb).toFixed(2)}x   difference ${ca - cb >= 0 ? '+' : ''}${(ca - cb).toFixed(0)} ms\n`,
        )
      }
    })
    process.stdout.write(failed ? `\n${failed} budget(s) missed\n` : '\nall budgets met\n')
    if (failed && opts.check) process.exitCode = 1
  } finally {
    await stop?.()
  }
}

await main()
