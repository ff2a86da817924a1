import {mkdtempSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {stripServerFields} from '../../src/kube/objects.js'
import {Kinds, type KindInfo} from '../../src/kube/kinds.js'
import type {KObject} from '../../src/kube/types.js'
import {createNamespace, isolatedCluster} from '../support/cluster.js'
import {knmeshOnTty} from '../support/tty.js'

// enable-istio and tenant-authz edit fixed-name objects (KnativeServing, knative-serving policies): a control plane of its own.
const cluster = isolatedCluster()

/** This file's change journal: XDG_STATE_HOME of every run below. */
const state = mkdtempSync(join(tmpdir(), 'knmesh-undo-state-'))
const journal = join(state, 'knmesh')
const run = (args: string[]) => cluster.run(args, {env: {XDG_STATE_HOME: state}})

/** Every object the verbs under test touch, minus server fields and status, by kind/namespace/name. */
async function snapshot(): Promise<Record<string, KObject>> {
  const kinds: KindInfo[] = [
    Kinds.ServiceMeshMemberRoll,
    Kinds.ServiceMeshControlPlane,
    Kinds.AuthorizationPolicy,
    Kinds.PeerAuthentication,
    Kinds.KnativeServing,
    Kinds.KnativeEventing,
    Kinds.ServiceEntry,
    Kinds.Gateway,
    Kinds.NetworkPolicy,
    Kinds.Namespace,
  ]
  const out: Record<string, KObject> = {}
  for (const k of kinds) {
    for (const o of await cluster.client.listAll(k)) out[`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`] = stripServerFields(o)
  }
  for (const s of await cluster.client.listAll(Kinds.Secret, undefined, {metadataOnly: true}))
    out[`Secret/${s.metadata.namespace}/${s.metadata.name}`] = stripServerFields(s)
  return out
}

interface HistoryJson {
  journal: string
  changeSets: {
    id: string
    server: string
    verb: string
    args: string[]
    status: string
    undoes?: string
    undoneBy?: string
    changes: {action: string; kind: string; namespace?: string; name: string; result: string}[]
  }[]
}

async function history(): Promise<HistoryJson> {
  const r = await run(['history', '-o', 'json'])
  expect(r.exitCode, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as HistoryJson
}

async function latestId(): Promise<string> {
  const h = await history()
  return h.changeSets[h.changeSets.length - 1].id
}

/** Applies `args`, undoes it, and checks the cluster is as before; a second undo of the same set has nothing to do. */
async function roundTrip(args: string[]): Promise<string> {
  const before = await snapshot()
  const r = await run([...args, '--yes'])
  expect(r.exitCode, r.stderr).toBe(0)
  expect(await snapshot()).not.toEqual(before)
  const id = await latestId()
  const undo = await run(['undo', id, '--yes'])
  expect(undo.exitCode, undo.stderr).toBe(0)
  expect(undo.stdout).toContain(`undo change set ${id}: ${args[0]}`)
  expect(await snapshot()).toEqual(before)
  const again = await run(['undo', id, '--yes'])
  expect(again.exitCode, again.stderr).toBe(0)
  expect(again.stdout).toContain(`change set ${id} is already undone`)
  expect(again.stdout).toContain('nothing to do')
  expect(await snapshot()).toEqual(before)
  return id
}

describe('history and undo against a real API server', () => {
  it('history of an empty journal says so', async () => {
    const r = await run(['history'])
    expect(r.exitCode, r.stderr).toBe(0)
    // The footer names the cluster history lists (the current context's API server).
    expect(r.stdout.trim()).toBe(`no change set in ${journal} made against ${new URL(cluster.client.server.href).href}`)
  })

  it('undo after add-namespace leaves the cluster as before; a second undo has nothing to do', async () => {
    await createNamespace(cluster.client, 'undo-app-1')
    await roundTrip(['add-namespace', 'undo-app-1', 'undo-app-2'])
  })

  it('undo after add-namespace --kourier deletes the NetworkPolicy it created and restores the labels', async () => {
    await createNamespace(cluster.client, 'undo-kourier')
    await createNamespace(cluster.client, 'knative-serving-ingress')
    await roundTrip(['add-namespace', 'undo-kourier', '--kourier'])
  })

  it('undo after tenant-authz --add-to-mesh (creates the policies, updates the member roll) leaves the cluster as before', async () => {
    for (const ns of ['undo-alpha-1', 'undo-alpha-2']) await createNamespace(cluster.client, ns)
    await roundTrip(['tenant-authz', 'undo-alpha', '--namespaces', 'undo-alpha-1,undo-alpha-2', '--add-to-mesh'])
  })

  it('undo after enable-istio leaves the cluster as before', async () => {
    await roundTrip(['enable-istio'])
  })

  it('undo of an undo applies the change set again (re-creating what the undo deleted, without server fields)', async () => {
    await createNamespace(cluster.client, 'redo-app')
    const r = await run(['add-namespace', 'redo-app', '--kourier', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const applied = await snapshot()
    const policy = await cluster.client.get(Kinds.NetworkPolicy, 'allow-from-serving-system-namespace', 'redo-app')
    expect(policy).not.toBeNull()
    const id = await latestId()
    expect((await run(['undo', id, '--yes'])).exitCode).toBe(0)
    const undoId = await latestId()
    expect(undoId).not.toBe(id)
    const redo = await run(['undo', '--yes']) // the latest for this cluster: the undo itself
    expect(redo.exitCode, redo.stderr).toBe(0)
    expect(redo.stdout).toContain(`undo change set ${undoId}: undo ${id}`)
    expect(redo.stdout).toContain('+ create NetworkPolicy/redo-app/allow-from-serving-system-namespace')
    expect(await snapshot()).toEqual(applied)
    expect((await cluster.client.get(Kinds.NetworkPolicy, 'allow-from-serving-system-namespace', 'redo-app'))?.metadata.uid).not.toBe(policy?.metadata.uid)
    const h = await history()
    const set = (x: string) => h.changeSets.find((c) => c.id === x)!
    expect(set(undoId).undoes).toBe(id)
    expect(set(id).undoneBy).toBe(undoId)
    expect(set(undoId).undoneBy).toBe(await latestId())
    // Back to the start for the next tests.
    expect((await run(['undo', id, '--yes', '--force'])).exitCode).toBe(0)
  })

  it('refuses an object edited since the change set (exit 5, named in one line, nothing changed); --force then undoes it, keeping the edit', async () => {
    await createNamespace(cluster.client, 'edited-app')
    const before = await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')
    const r = await run(['add-namespace', 'edited-app', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const id = await latestId()
    // Someone else edits the member roll in between (as kubectl label would).
    const members = ((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.spec as {members: string[]}).members
    await cluster.client.mergePatch(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system', {
      metadata: {labels: {'edited-by': 'someone'}},
      spec: {members: [...members, 'added-since']},
    })
    const edited = await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')

    const refused = await run(['undo', id, '--yes'])
    expect(refused.exitCode).toBe(5)
    const lines = refused.stderr.trim().split('\n')
    expect(lines, refused.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(
      new RegExp(
        `^error: cannot undo change set ${id}: changed since it was applied: ServiceMeshMemberRoll istio-system/default \\(resourceVersion \\d+, the change set wrote \\d+\\); run again with --force`,
      ),
    )
    expect((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.metadata.resourceVersion).toBe(edited?.metadata.resourceVersion)

    const forced = await run(['undo', id, '--force', '--yes'])
    expect(forced.exitCode, forced.stderr).toBe(0)
    expect(forced.stderr).toContain('undone anyway (--force): ServiceMeshMemberRoll istio-system/default')
    const after = await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system')
    // Only what add-namespace added is taken out: the member added since stays.
    expect(after?.spec).toEqual({...before?.spec, members: [...((before?.spec as {members?: string[]})?.members ?? []), 'added-since']})
    expect(after?.metadata.labels).toEqual({...before?.metadata.labels, 'edited-by': 'someone'})
  })

  it('a Secret: its data is never journaled; undo of certs deletes the Secret it created', async () => {
    const out = mkdtempSync(join(tmpdir(), 'knmesh-undo-certs-'))
    const before = await snapshot()
    const r = await run(['certs', '--domain', 'apps.undo.example.com', '--out-dir', join(out, 'certs'), '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const secret = await cluster.client.get(Kinds.Secret, 'wildcard-certs', 'istio-system')
    expect(secret?.data?.['tls.key']).toBeTruthy()
    const id = await latestId()
    const text = readFileSync(join(journal, `${id}.json`), 'utf8')
    expect(text).toContain('"kind": "Secret"')
    expect(text).not.toContain(secret!.data['tls.key'])
    expect(text).not.toContain(secret!.data['tls.crt'])
    const undo = await run(['undo', id, '--yes'])
    expect(undo.exitCode, undo.stderr).toBe(0)
    expect(await snapshot()).toEqual(before)
  })

  it('a bulk run (filter-secrets --all-tls) is one change set; undo takes the label off again, touching only the labels', async () => {
    const ns = 'undo-secrets'
    await createNamespace(cluster.client, ns)
    const tls = {'tls.crt': Buffer.from('not a real certificate').toString('base64'), 'tls.key': Buffer.from('not a real key').toString('base64')}
    for (const name of ['web-1', 'web-2', 'web-3']) {
      await cluster.client.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {name, namespace: ns, labels: {app: 'web'}},
        type: 'kubernetes.io/tls',
        data: tls,
      })
    }
    const before = await snapshot()
    const r = await run(['filter-secrets', '--all-tls', '-n', ns, '--uid', 'team-certs', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const labelled = await cluster.client.get(Kinds.Secret, 'web-2', ns)
    expect(labelled?.metadata.labels?.['networking.internal.knative.dev/certificate-uid']).toBe('team-certs')
    const h = await history()
    const set = h.changeSets.at(-1)!
    expect(set.verb).toBe('filter-secrets')
    expect(set.changes.map((c) => `${c.action} ${c.kind} ${c.name} ${c.result}`).sort()).toEqual([
      'update Secret web-1 applied',
      'update Secret web-2 applied',
      'update Secret web-3 applied',
    ])
    const undo = await run(['undo', set.id, '--yes'])
    expect(undo.exitCode, undo.stderr).toBe(0)
    expect(await snapshot()).toEqual(before)
    expect((await cluster.client.get(Kinds.Secret, 'web-2', ns))?.data).toEqual(tls)
    expect(readFileSync(join(journal, `${set.id}.json`), 'utf8')).not.toContain(tls['tls.key'])
  })

  it('a bulk run over several pages appends its change set line by line (never rewritten); undo takes every label off', async () => {
    const ns = 'undo-secrets-pages'
    await createNamespace(cluster.client, ns)
    const tls = {'tls.crt': Buffer.from('not a real certificate').toString('base64'), 'tls.key': Buffer.from('not a real key').toString('base64')}
    // 600 secrets: two pages of the metadata list (500 each).
    const names = Array.from({length: 600}, (_, i) => `cert-${String(i).padStart(3, '0')}`)
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names
          .slice(i, i + 50)
          .map((name) => cluster.client.create({apiVersion: 'v1', kind: 'Secret', metadata: {name, namespace: ns}, type: 'kubernetes.io/tls', data: tls})),
      )
    }
    const before = await snapshot()
    const r = await run(['filter-secrets', '--all-tls', '-n', ns, '--uid', 'team-certs', '--yes'])
    expect(r.exitCode, r.stderr).toBe(0)
    const set = (await history()).changeSets.at(-1)!
    expect(set.verb).toBe('filter-secrets')
    expect(set.status).toBe('applied')
    expect(set.changes).toHaveLength(600)
    // The file: a header line, one line per change written, a closing line; together one JSON document.
    const text = readFileSync(join(journal, `${set.id}.json`), 'utf8')
    const lines = text.trimEnd().split('\n')
    expect(lines).toHaveLength(1 + 600 + 1)
    expect(lines[0]).toMatch(/^\{"version":1,.*"changes":\[$/)
    expect(lines.at(-1)).toBe('],"status":"applied"}')
    expect(JSON.parse(text).changes).toHaveLength(600)
    expect(text).not.toContain(tls['tls.key'])
    expect(statSync(join(journal, `${set.id}.json`)).mode & 0o777).toBe(0o600)
    const undo = await run(['undo', set.id, '--yes'])
    expect(undo.exitCode, undo.stderr).toBe(0)
    expect(await snapshot()).toEqual(before)
    expect((await cluster.client.get(Kinds.Secret, 'cert-599', ns))?.data).toEqual(tls)
  })

  it('journal files are 0600 in a 0700 folder and never hold Secret data or stringData', async () => {
    expect(statSync(journal).mode & 0o777).toBe(0o700)
    const files = readdirSync(journal)
    expect(files.length).toBeGreaterThan(5)
    for (const f of files) {
      expect(f).toMatch(/^\d{8}-\d{6}-\d{3}-[0-9a-f]{4}\.json$/)
      expect(statSync(join(journal, f)).mode & 0o777, f).toBe(0o600)
      const e = JSON.parse(readFileSync(join(journal, f), 'utf8'))
      for (const c of e.changes) {
        for (const img of [c.before, c.after]) {
          if (img?.kind !== 'Secret') continue
          expect(Object.keys(img), f).toEqual(['apiVersion', 'kind', 'metadata'])
          expect(JSON.stringify(img)).not.toMatch(/"(data|stringData)"/)
        }
      }
    }
  })

  it('history lists every change set with its command, context and state', async () => {
    const h = await history()
    expect(h.journal).toBe(journal)
    expect(h.changeSets.map((c) => c.verb)).toEqual(expect.arrayContaining(['add-namespace', 'tenant-authz', 'enable-istio', 'certs', 'undo']))
    const table = await run(['history'])
    expect(table.exitCode, table.stderr).toBe(0)
    const lines = table.stdout.split('\n')
    expect(lines[0]).toMatch(/^ID\s+TIME\s+COMMAND\s+CONTEXT\s+CHANGES\s+STATE/)
    expect(table.stdout).toMatch(/tenant-authz undo-alpha --namespaces undo-alpha-1,undo-alpha-2 --add-to-mesh --yes/)
    expect(table.stdout).toContain(`change set(s) in ${journal}`)
    // Dry runs and runs that change nothing are not change sets.
    const n = h.changeSets.length
    expect((await run(['add-namespace', 'dry-app', '--dry-run=server', '--yes'])).exitCode).toBe(0)
    expect((await run(['add-namespace', 'dry-app', '--dry-run=client'])).exitCode).toBe(0)
    expect((await history()).changeSets).toHaveLength(n)
    expect((await run(['add-namespace', 'noop-app', '--yes'])).exitCode).toBe(0)
    const noop = await run(['add-namespace', 'noop-app', '--yes'])
    expect(noop.exitCode, noop.stderr).toBe(0)
    expect(noop.stdout).toContain('nothing to do')
    expect((await history()).changeSets).toHaveLength(n + 1)
  })

  it('undo without --yes and without a terminal shows the plan and exits 3; against another API server it exits 2', async () => {
    await createNamespace(cluster.client, 'confirm-app')
    expect((await run(['add-namespace', 'confirm-app', '--yes'])).exitCode).toBe(0)
    const id = await latestId()
    const r = await run(['undo', id])
    expect(r.exitCode).toBe(3)
    expect(r.stdout).toContain('~ update ServiceMeshMemberRoll/istio-system/default')
    expect((await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.spec.members).toContain('confirm-app')
    // The same API server under another address is, for the journal, another cluster.
    const port = new URL((await history()).changeSets.at(-1)!.server ?? '').port
    const other = await run(['undo', id, '--yes', '--server', `https://localhost:${port}`, '--insecure-skip-tls-verify'])
    expect(other.exitCode, other.stderr).toBe(2)
    expect(other.stderr).toContain(`change set ${id} was made against https://127.0.0.1:${port}/`)
    // Same context name, another server: the hint is the kubeconfig, not --context (which would name the current one).
    expect(other.stderr).toContain(`use the kubeconfig whose context reaches https://127.0.0.1:${port}/`)
    // history lists this cluster's change sets only; --all-clusters every cluster's.
    const elsewhere = ['--server', `https://localhost:${port}`, '--insecure-skip-tls-verify']
    expect(JSON.parse((await run(['history', '-o', 'json', ...elsewhere])).stdout).changeSets).toEqual([])
    const everywhere = JSON.parse((await run(['history', '--all-clusters', '-o', 'json', ...elsewhere])).stdout).changeSets as {id: string}[]
    expect(everywhere.map((e) => e.id)).toContain(id)
    const table = await run(['history', ...elsewhere])
    expect(table.stdout).toMatch(/no change set in .* made against https:\/\/localhost:\d+\/ \(\d+ of other clusters: --all-clusters lists them\)/)
    expect((await run(['undo', id, '--yes'])).exitCode).toBe(0)
  })

  it('on a terminal, undo asks first: "no" changes nothing, "yes" undoes', async () => {
    await createNamespace(cluster.client, 'tty-undo')
    expect((await run(['add-namespace', 'tty-undo', '--yes'])).exitCode).toBe(0)
    const id = await latestId()
    const members = async () => (await cluster.client.get(Kinds.ServiceMeshMemberRoll, 'default', 'istio-system'))?.spec.members as string[]
    const no = await knmeshOnTty(['undo'], cluster.kubeconfig, 'n\r', 2500, {env: {XDG_STATE_HOME: state}})
    expect(no.output).toContain(`Undo change set ${id}?`)
    expect(no.exitCode, no.output).toBe(3)
    expect(await members()).toContain('tty-undo')
    const yes = await knmeshOnTty(['undo'], cluster.kubeconfig, 'y\r', 2500, {env: {XDG_STATE_HOME: state}})
    expect(yes.exitCode, yes.output).toBe(0)
    expect(await members()).not.toContain('tty-undo')
  }, 120_000)

  it('undo of an unknown id exits 6; a malformed one exits 2', async () => {
    const unknown = await run(['undo', '19990101-000000-000-abcd', '--yes'])
    expect(unknown.exitCode).toBe(6)
    expect(unknown.stderr).toContain('no change set "19990101-000000-000-abcd"')
    const bad = await run(['undo', 'Not_An_Id'])
    expect(bad.exitCode).toBe(2)
  })
})
