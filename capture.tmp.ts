import {execa} from 'execa'
import {writeFileSync} from 'node:fs'
import {startSeededControlPlane} from './test/support/controlplane.js'
import {BIN} from './test/support/cli.js'
const {cp} = await startSeededControlPlane()
const env = {KUBECONFIG: cp.adminKubeconfig, NODE_ENV: '', PATH: `${cp.binDir}:${process.env.PATH}`, NO_COLOR: '1', CI: '', TERM: 'dumb'}
const run = (args: string[]) => execa('node', [BIN, ...args], {env, reject: false})
try {
  for (const ns of ['team-alpha-1', 'team-bravo-1', 'team-delta-1', 'team-delta-2', 'team-delta-3']) await execa('kubectl', ['create', 'namespace', ns], {env})
  for (const a of [['certs', '--out-dir', '/tmp/terminal-capture', '--yes', '--force'], ['configure-mesh', '--yes'], ['add-namespace', 'team-alpha-1', 'team-bravo-1', '--yes'], ['tenant-authz', '--defaults', '--yes'], ['tenant-authz', 'team-alpha', '--namespaces', 'team-alpha-1', '--yes']]) {
    const r = await run(a); if (r.exitCode) console.error(a.join(' '), r.exitCode, r.stderr)
  }
  const q = (s: string) => `'${s}'`
  const status = await execa('script', ['-qfec', `stty cols 120 rows 50 && exec node ${BIN} status`, '/dev/null'], {env, reject: false, stdin: 'ignore'})
  writeFileSync('/tmp/terminal-capture/status.txt', status.stdout)
  const plan = await execa('sh', ['-c', `(sleep 6; printf 'n\\r'; sleep 2) | script -qfec ${q(`stty cols 120 rows 50 && exec node ${BIN} tenant-authz team-delta --namespaces team-delta-1,team-delta-2,team-delta-3 --no-eventing --add-to-mesh`)} /dev/null`], {env, reject: false})
  writeFileSync('/tmp/terminal-capture/plan.txt', plan.stdout)
  const piped = await run(['status'])
  writeFileSync('/tmp/terminal-capture/status-piped.txt', piped.stdout)
} finally {
  await cp.stop()
}
