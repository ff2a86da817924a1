import {createServer} from 'node:http'
import {mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {Kinds} from '../../src/kube/kinds.js'
import {BIN, knmesh} from '../support/cli.js'
import {createNamespace, sharedCluster, uniqueName} from '../support/cluster.js'
import {knmeshOnTty} from '../support/tty.js'

const cluster = sharedCluster()

/** Each test gets a mesh namespace of its own, so its member roll is its own. */
async function meshNamespace(): Promise<string> {
  const ns = uniqueName('mesh')
  await createNamespace(cluster.client, ns)
  return ns
}

const smmr = (mesh: string) => cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', mesh)

describe('add-namespace against a real API server', () => {
  it('creates the member roll when absent, with knative-serving and knative-eventing', async () => {
    const mesh = await meshNamespace()
    const r = await cluster.run(['add-namespace', 'team-bravo-1', '--mesh-namespace', mesh, '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('+ create ServiceMeshMemberRoll/' + mesh + '/default')
    const roll = await smmr(mesh)
    expect(roll?.spec).toEqual({members: ['knative-serving', 'knative-eventing', 'team-bravo-1']})
    expect(r.stderr).toContain('team-bravo-1 does not exist yet')
  })

  it('adds to an existing member roll keeping its members, order, labels and other fields; a second run does nothing', async () => {
    const mesh = await meshNamespace()
    await cluster.client.create({
      apiVersion: 'maistra.io/v1',
      kind: 'ServiceMeshMemberRoll',
      metadata: {name: 'default', namespace: mesh, labels: {owner: 'platform'}, annotations: {note: 'keep me'}},
      // Maistra 2.5's SMMR spec has `members` only: the real CRD prunes anything else (the former stand-in
      // accepted a `memberSelectors` list here, which this test used to check was kept). Unknown spec fields
      // are kept by the planner (test/unit/members.test.ts); here: the other members, their order, metadata.
      spec: {members: ['legacy-app', 'knative-serving']},
    })
    const a = uniqueName('team')
    const b = uniqueName('team')
    await createNamespace(cluster.client, a)
    await createNamespace(cluster.client, b)
    const r = await cluster.run(['add-namespace', a, b, '--mesh-namespace', mesh, '-y'])
    expect(r.exitCode, r.stderr).toBe(0)
    const roll = await smmr(mesh)
    expect(roll?.spec.members).toEqual(['legacy-app', 'knative-serving', 'knative-eventing', a, b])
    expect(Object.keys(roll?.spec ?? {})).toEqual(['members'])
    expect(roll?.metadata.labels).toEqual({owner: 'platform'})
    expect(roll?.metadata.annotations).toEqual({note: 'keep me'})

    const again = await cluster.run(['add-namespace', a, b, '--mesh-namespace', mesh])
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('nothing to do')
    expect((await smmr(mesh))?.metadata.resourceVersion).toBe(roll?.metadata.resourceVersion)
  })

  it('loses no update when 20 runs for 20 namespaces race against one member roll', async () => {
    const mesh = await meshNamespace()
    const names = Array.from({length: 20}, (_, i) => `race-${i}`)
    const results = await Promise.all(names.map((n) => cluster.run(['add-namespace', n, '--mesh-namespace', mesh, '--yes'])))
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0)
    const members = (await smmr(mesh))?.spec.members as string[]
    expect([...members].sort()).toEqual(['knative-eventing', 'knative-serving', ...names].sort())
    expect(results.some((r) => r.stdout.includes('conflict: re-read and re-planned'))).toBe(true)
  }, 180_000)

  it('refuses invalid names before sending any request', async () => {
    let requests = 0
    const server = createServer((_req, res) => {
      requests++
      res.writeHead(500).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as {port: number}).port
    const dir = mkdtempSync(join(tmpdir(), 'knmesh-'))
    const kc = join(dir, 'kubeconfig')
    writeFileSync(
      kc,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
    )
    for (const bad of ['Team_Bravo', '-lead', 'a'.repeat(64), 'dots.not.allowed']) {
      const r = await knmesh(['add-namespace', '--yes', '--', bad], {kubeconfig: kc})
      expect(r.exitCode).toBe(2)
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1)
      expect(r.stderr).toContain(`invalid namespace name "${bad}"`)
    }
    server.close()
    expect(requests).toBe(0)
  })

  it('without a terminal and without --yes shows the plan, applies nothing and exits 3', async () => {
    const mesh = await meshNamespace()
    const r = await cluster.run(['add-namespace', 'x1', '--mesh-namespace', mesh])
    expect(r.exitCode).toBe(3)
    expect(r.stdout).toContain('+ create ServiceMeshMemberRoll')
    expect(r.stderr).toContain('not applied: no terminal to confirm on; run again with --yes')
    expect(await smmr(mesh)).toBeNull()
  })

  it('on a terminal, answering "no" changes nothing; answering "yes" applies', async () => {
    const mesh = await meshNamespace()
    const no = await knmeshOnTty(['add-namespace', 'tty-ns', '--mesh-namespace', mesh], cluster.kubeconfig, 'n\r')
    expect(no.output).toContain('Apply 1 change(s)?')
    expect(no.exitCode).toBe(3)
    expect(await smmr(mesh)).toBeNull()
    const yes = await knmeshOnTty(['add-namespace', 'tty-ns', '--mesh-namespace', mesh], cluster.kubeconfig, 'y\r')
    expect(yes.exitCode, yes.output).toBe(0)
    expect((await smmr(mesh))?.spec.members).toContain('tty-ns')
  }, 90_000)

  it('on a terminal, Ctrl-C at the prompt applies nothing', async () => {
    const mesh = await meshNamespace()
    const r = await knmeshOnTty(['add-namespace', 'ctrl-c', '--mesh-namespace', mesh], cluster.kubeconfig, '\u0003')
    expect(r.exitCode).toBe(130) // issue 18 item 4: Ctrl-C at any prompt is exit 130 (was 3, "aborted")
    expect(r.output).toContain('interrupted: nothing changed')
    expect(await smmr(mesh)).toBeNull()
  }, 60_000)

  it('--dry-run=client and --dry-run=server change nothing; -o yaml prints the desired object', async () => {
    const mesh = await meshNamespace()
    const client = await cluster.run(['add-namespace', 'd1', '--mesh-namespace', mesh, '--dry-run=client', '-o', 'yaml'])
    expect(client.exitCode, client.stderr).toBe(0)
    expect(client.stdout).toBe(
      `apiVersion: maistra.io/v1\nkind: ServiceMeshMemberRoll\nmetadata:\n  name: default\n  namespace: ${mesh}\nspec:\n  members:\n    - knative-serving\n    - knative-eventing\n    - d1`,
    )
    const json = await cluster.run(['add-namespace', 'd1', '--mesh-namespace', mesh, '--dry-run=client', '--json'])
    const summary = JSON.parse(json.stdout) // one JSON document on stdout, the human text on stderr
    expect(summary.changes).toEqual([{action: 'create', kind: 'ServiceMeshMemberRoll', namespace: mesh, name: 'default', result: 'dry-run'}])
    expect(summary.objects[0].spec.members).toEqual(['knative-serving', 'knative-eventing', 'd1'])
    const server = await cluster.run(['add-namespace', 'd1', '--mesh-namespace', mesh, '--dry-run=server', '--yes'])
    expect(server.exitCode, server.stderr).toBe(0)
    expect(server.stdout).toContain('dry-run')
    expect(await smmr(mesh)).toBeNull()
  })

  it('gives the restricted user one clear line for a 403', async () => {
    const mesh = await meshNamespace()
    const r = await cluster.run(['add-namespace', 'ns1', '--mesh-namespace', mesh, '--yes'], {kubeconfig: cluster.restrictedKubeconfig})
    expect(r.exitCode).toBe(4)
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('warning:'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^error: forbidden: you cannot create servicemeshmemberrolls\.maistra\.io in namespace /)
    expect(lines[0]).toContain('User "restricted"')
  })

  it("--kourier creates the guide's NetworkPolicy in each namespace; remove-namespace --kourier removes both", async () => {
    const mesh = await meshNamespace()
    const app = uniqueName('kourier')
    await createNamespace(cluster.client, app)
    const r = await cluster.run(['add-namespace', app, '--kourier', '--mesh-namespace', mesh, '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const np = await cluster.client.get(Kinds.NetworkPolicy, 'allow-from-serving-system-namespace', app)
    expect(np?.spec).toEqual({
      ingress: [{from: [{namespaceSelector: {matchLabels: {'knative.openshift.io/part-of': 'openshift-serverless'}}}]}],
      podSelector: {},
      policyTypes: ['Ingress'],
    })
    const rm = await cluster.run(['remove-namespace', app, '--kourier', '--mesh-namespace', mesh, '--yes'])
    expect(rm.exitCode, rm.stderr).toBe(0)
    // Guide 1.6 lists only the user's namespaces: with --kourier the Knative system namespaces never joined.
    expect((await smmr(mesh))?.spec.members).toEqual([])
    expect(await cluster.client.get(Kinds.NetworkPolicy, 'allow-from-serving-system-namespace', app)).toBeNull()
  })

  it('a namespace that does not exist is exit 6 with nothing changed: add-namespace --strict, remove-namespace of a non-member (a deleted member can still be removed)', async () => {
    const mesh = await meshNamespace()
    await cluster.client.create({
      apiVersion: 'maistra.io/v1',
      kind: 'ServiceMeshMemberRoll',
      metadata: {name: 'default', namespace: mesh},
      spec: {members: ['knative-serving', 'knative-eventing', 'gone-member']},
    })
    const strict = await cluster.run(['add-namespace', 'team-brav0-1', '--strict', '--mesh-namespace', mesh, '--yes'])
    expect(strict.exitCode, strict.stderr).toBe(6)
    expect(strict.stderr.trim()).toBe('error: namespace team-brav0-1 does not exist yet (--strict)')
    const typo = await cluster.run(['remove-namespace', 'team-alhpa-1', '--mesh-namespace', mesh, '--yes'])
    expect(typo.exitCode, typo.stderr).toBe(6)
    expect(typo.stderr.trim()).toBe(`error: namespace team-alhpa-1 does not exist and is not in ${mesh}/default: nothing was changed`)
    expect((await smmr(mesh))?.spec.members).toEqual(['knative-serving', 'knative-eventing', 'gone-member'])
    const gone = await cluster.run(['remove-namespace', 'gone-member', '--mesh-namespace', mesh, '--yes'])
    expect(gone.exitCode, gone.stderr).toBe(0)
    expect((await smmr(mesh))?.spec.members).toEqual(['knative-serving', 'knative-eventing'])
  })

  it('remove-namespace refuses knative-serving and knative-eventing', async () => {
    const r = await cluster.run(['remove-namespace', 'knative-serving', '--yes'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('knative-serving must stay in the mesh')
  })

  it('reports an unreachable API server in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'knmesh-'))
    const kc = join(dir, 'kubeconfig')
    writeFileSync(
      kc,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
    )
    const down = await knmesh(['add-namespace', 'a', '--yes'], {kubeconfig: kc})
    expect(down.exitCode).toBe(4)
    expect(down.stderr.trim()).toMatch(/^error: cannot reach the API server at https:\/\/127\.0\.0\.1:1 .*ECONNREFUSED$/)
  })

  it('runs as a kubectl plugin: kubectl finds kubectl-knmesh on PATH and prints "kubectl knmesh" help', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'knmesh-path-'))
    symlinkSync(BIN, join(dir, 'kubectl-knmesh'))
    symlinkSync(BIN, join(dir, 'oc-knmesh'))
    const env = {PATH: `${dir}:${process.env.PATH}`}
    const list = await execa('kubectl', ['plugin', 'list'], {env, reject: false})
    expect(list.stdout).toContain(join(dir, 'kubectl-knmesh'))
    const help = await execa('kubectl', ['knmesh', '--help'], {env})
    expect(help.stdout).toContain('$ kubectl knmesh [COMMAND]')
    expect(help.stdout).toContain('add-namespace')
    const oc = await execa(join(dir, 'oc-knmesh'), ['add-namespace', '--help'], {env})
    expect(oc.stdout).toContain('$ oc knmesh add-namespace team-bravo-1')
  })
})
