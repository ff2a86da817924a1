import {describe, expect, it} from 'vitest'
import {ChangeSummary, presentChanges, type EngineOptions} from '../../src/change/engine.js'
import {changesOf} from '../../src/change/plan.js'
import type {KObject} from '../../src/kube/types.js'
import {planTenantAuthz} from '../../src/mesh/tenant-authz.js'
import {pluralKind, summaryPhrase} from '../../src/ui/diff.js'
import {fitColumns, table, wrapCell} from '../../src/ui/table.js'
import {colorEnabled, pagerCommand, setWide, terminalHeight, terminalWidth} from '../../src/ui/terminal.js'

// Rows as the verbs print them (texts from src/mesh/status.ts, precheck.ts, probe, gpu-limit, tenant-authz).
const STATUS: [string, string[], string[][]] = [
  'status',
  ['area', 'check', 'state', 'detail', 'fix'],
  [
    [
      'prerequisites',
      'gateway-conflict',
      'failure',
      'Gateway team-x/public binds port 443 with host "*": it conflicts with knative-ingress-gateway',
      'remove that Gateway, or give Serverless a mesh of its own (guide 1.4.1)',
    ],
    [
      'prerequisites',
      'ingressgateway-service',
      'warning',
      'Service istio-system/istio-ingressgateway is exposed as LoadBalancer: unsupported, Knative Services are reached through OpenShift Routes',
      'make it ClusterIP (SMCP spec.gateways.ingress.service.type)',
    ],
    ['prerequisites', 'crd/servicemeshmemberrolls.maistra.io', 'ok', 'served', ''],
    ['mesh', 'control plane settings', 'failure', 'would update ServiceMeshControlPlane/istio-system/basic', 'kubectl knmesh configure-mesh'],
    [
      'members',
      'member roll',
      'failure',
      'would update ServiceMeshMemberRoll/istio-system/default',
      'kubectl knmesh add-namespace knative-serving knative-eventing',
    ],
    ['certificates', 'wildcard-certs', 'failure', 'no Secret istio-system/wildcard-certs', 'kubectl knmesh certs'],
    [
      'gateways',
      'knative gateways',
      'failure',
      'would create Gateway/knative-serving/knative-ingress-gateway; create Gateway/knative-serving/knative-local-gateway; create Service/istio-system/knative-local-gateway',
      'kubectl knmesh create-gateways',
    ],
    [
      'serverless',
      'KnativeServing',
      'failure',
      'Istio integration settings missing: would update KnativeServing/knative-serving/knative-serving',
      'kubectl knmesh enable-istio',
    ],
    ['serverless', 'KnativeEventing', 'ok', 'not installed (optional)', ''],
    [
      'services',
      'mesh annotations in team-alpha-1',
      'failure',
      '3 Knative Service(s) lack sidecar.istio.io/inject: "true" and sidecar.istio.io/rewriteAppHTTPProbers: "true": hello, world, inference-gpu-large',
      'kubectl knmesh annotate-services -n team-alpha-1',
    ],
    [
      'tenants',
      'tenant team-alpha in the mesh',
      'failure',
      'team-alpha-1, team-alpha-2 not in the member roll: no sidecar enforces the policies',
      'kubectl knmesh add-namespace team-alpha-1 team-alpha-2',
    ],
    [
      'tenants',
      'team-alpha-1 -> team-bravo-1',
      'failure',
      'predicted allow, expected deny: team-bravo-1/allow-from-knative-and-istio rule 0 allows source namespace team-alpha-1',
      'kubectl knmesh probe --from team-alpha-1 --to team-bravo-1',
    ],
  ],
]
const PRECHECK: [string, string[], string[][]] = [
  'precheck',
  ['check', 'status', 'detail', 'fix'],
  STATUS[2]
    .filter((r) => r[0] === 'prerequisites')
    .map((r) => r.slice(1))
    .concat([
      ['smcp', 'ok', 'ServiceMeshControlPlane basic in istio-system', ''],
      ['mesh-version/basic', 'warning', 'basic: version unknown (no spec.version, no status yet)', 'set spec.version to v2.2 or later'],
      [
        'crd/knativekafkas.operator.serverless.openshift.io',
        'warning',
        'not served (optional: Knative Kafka is not installed)',
        'nothing, unless you use it: install it with the OpenShift Serverless Operator',
      ],
    ]),
]
const NS12 = Array.from({length: 12}, (_v, i) => `team-${['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'][i % 6]}-${(i >> 1) + 1}`)
const MATRIX: [string, string[], string[][]] = [
  'probe --matrix',
  ['from \\ to', ...NS12],
  NS12.map((f, i) => [f, ...NS12.map((_t, j) => (i === j ? 'allow' : j === 3 ? 'allow (!)' : 'deny'))]),
]
const GPU: [string, string[], string[][]] = [
  'gpu-limit --list',
  ['service', 'container', 'gpu limit', 'a node fits'],
  [
    ['hello', 'user-container', '1', 'yes'],
    ['inference-with-a-rather-long-knative-service-name', '(first, unnamed)', '8', 'no'],
    ['hello', 'sidecar', '-', ''],
  ],
]
const TENANTS: [string, string[], string[][]] = [
  'tenant-authz --list',
  ['tenant', 'namespaces', 'policies', 'components', 'not in mesh'],
  [
    ['team-alpha', 'team-alpha-1,team-alpha-2', '12', 'serving,eventing', '-'],
    ['team-bravo', Array.from({length: 9}, (_v, i) => `team-bravo-${i + 1}`).join(','), '26', 'serving,eventing', 'team-bravo-7,team-bravo-8,team-bravo-9'],
  ],
]
const RESULT: [string, string[], string[][]] = [
  'result of a writing verb',
  ['action', 'kind', 'namespace', 'name', 'result'],
  [
    ['create', 'AuthorizationPolicy', 'knative-eventing', 'allow-team-alpha-mt-channel-based-broker-reply', 'applied'],
    ['update', 'ServiceMeshMemberRoll', 'istio-system', 'default', 'applied'],
  ],
]

const visible = (s: string) => s.replace(/\s+/g, '')

describe('tables fit the terminal', () => {
  for (const [verb, head, rows] of [STATUS, PRECHECK, MATRIX, GPU, TENANTS, RESULT]) {
    for (const width of [80, 120]) {
      it(`${verb} at ${width} columns: no line is longer, nothing is lost`, () => {
        const out = table(head, rows, {width})
        const lines = out.split('\n')
        expect(Math.max(...lines.map((l) => l.length)), out).toBeLessThanOrEqual(width)
        // Wrapping moves characters to other lines but drops none.
        expect(visible(out).length).toBe(visible(table(head, rows, {width: null})).length)
        for (const h of head) expect(out).toContain(h.toUpperCase().split(' ')[0].slice(0, 3))
      })
    }
  }

  it('wide (null) or piped: one line per row, cells in full', () => {
    const out = table(STATUS[1], STATUS[2], {width: null})
    expect(out.split('\n')).toHaveLength(STATUS[2].length + 1)
    expect(out).toContain(STATUS[2][9][3])
    expect(Math.max(...out.split('\n').map((l) => l.length))).toBeGreaterThan(200)
  })

  it('a table that fits is printed as without a width', () => {
    expect(table(GPU[1], GPU[2], {width: 120})).toBe(table(GPU[1], GPU[2], {width: null}))
  })

  it('wraps inside the column: the status DETAIL and FIX columns stay in their own columns', () => {
    const out = table(STATUS[1], STATUS[2], {width: 80})
    const lines = out.split('\n')
    const starts = ['CHECK', 'STATE', 'DETAIL', 'FIX'].map((h) => lines[0].indexOf(h))
    const fixAt = starts[3]
    // No cell runs into the next column: the three spaces before every column are blank on every line.
    for (const l of lines) for (const at of starts) expect(l.slice(at - 3, at).trim(), l).toBe('')
    expect(lines.length).toBeGreaterThan(STATUS[2].length + 10)
    // The fix of the gateways row is under FIX, in pieces.
    const fixText = lines.map((l) => l.slice(fixAt).trim()).join('')
    expect(fixText).toContain('kubectlknmeshcreate-gateways')
  })

  it('lists and paths are cut after commas and slashes, before cutting a name', () => {
    expect(wrapCell('team-alpha-1,team-alpha-2,team-alpha-3', 27).split('\n')).toEqual(['team-alpha-1,team-alpha-2,', 'team-alpha-3'])
    expect(wrapCell('no Secret istio-system/wildcard-certs', 16).split('\n')).toEqual(['no Secret', 'istio-system/', 'wildcard-certs'])
    expect(wrapCell('would update ServiceMeshMemberRoll/istio-system/default', 40).split('\n')).toEqual([
      'would update ServiceMeshMemberRoll/',
      'istio-system/default',
    ])
    expect(wrapCell('knative-ingress-gateway', 10).split('\n')).toEqual(['knative-', 'ingress-', 'gateway'])
    expect(wrapCell('abcdefghijklmnopqrstuvwxyz', 10).split('\n')).toEqual(['abcdefghij', 'klmnopqrst', 'uvwxyz'])
    expect(wrapCell('a b  c', 3)).toBe('a b\nc')
  })

  it('fitColumns: narrow columns keep their width, wide ones share the rest', () => {
    const w = fitColumns(
      [
        ['AREA', 'STATE', 'DETAIL'],
        ['mesh', 'failure', 'x'.repeat(200)],
      ],
      60,
    )
    expect(w).toEqual([4, 7, 60 - 6 - 4 - 7])
  })
})

describe('terminal settings', () => {
  const tty = {isTTY: true, columns: 132, rows: 40}
  it("width: $COLUMNS, else the terminal's; none when piped, in CI or with -o wide", () => {
    expect(terminalWidth({}, tty)).toBe(132)
    expect(terminalWidth({COLUMNS: '80'}, tty)).toBe(80)
    expect(terminalWidth({COLUMNS: '100'}, {isTTY: false})).toBe(100)
    expect(terminalWidth({}, {isTTY: false})).toBeUndefined()
    expect(terminalWidth({CI: 'true'}, tty)).toBeUndefined()
    expect(terminalWidth({COLUMNS: 'abc'}, {isTTY: false})).toBeUndefined()
    setWide(true)
    try {
      expect(terminalWidth({COLUMNS: '80'}, tty)).toBeUndefined()
    } finally {
      setWide(false)
    }
    expect(terminalHeight({}, tty)).toBe(40)
    expect(terminalHeight({LINES: '30'}, tty)).toBe(30)
    expect(terminalHeight({}, {isTTY: false})).toBeUndefined()
    expect(terminalHeight({LINES: '30'}, {isTTY: false})).toBeUndefined()
    expect(terminalHeight({}, {isTTY: true, columns: 0, rows: 0})).toBeUndefined() // size unknown: nothing is paged
  })

  it('pager: $KNMESH_PAGER, $PAGER, less -R; none when piped, in CI, with --no-pager, or set to "" or cat', () => {
    expect(pagerCommand({}, {}, tty)).toBe('less -R')
    expect(pagerCommand({}, {PAGER: 'more'}, tty)).toBe('more')
    expect(pagerCommand({}, {PAGER: 'more', KNMESH_PAGER: 'most'}, tty)).toBe('most')
    expect(pagerCommand({}, {KNMESH_PAGER: ''}, tty)).toBeUndefined()
    expect(pagerCommand({}, {PAGER: 'cat'}, tty)).toBeUndefined()
    expect(pagerCommand({noPager: true}, {}, tty)).toBeUndefined()
    expect(pagerCommand({}, {CI: '1'}, tty)).toBeUndefined()
    expect(pagerCommand({}, {}, {isTTY: false})).toBeUndefined()
  })

  it('colours: a terminal and no NO_COLOR', () => {
    expect(colorEnabled({}, tty)).toBe(true)
    expect(colorEnabled({NO_COLOR: '1'}, tty)).toBe(false)
    expect(colorEnabled({}, {isTTY: false})).toBe(false)
  })
})

// A new tenant in three namespaces plus the member roll update, as `tenant-authz team-d --namespaces …` plans it.
function tenantPlan() {
  const smmr: KObject = {
    apiVersion: 'maistra.io/v1',
    kind: 'ServiceMeshMemberRoll',
    metadata: {name: 'default', namespace: 'istio-system', resourceVersion: '7'},
    spec: {members: ['knative-serving', 'knative-eventing']},
  }
  const namespaces = new Set(['team-d-1', 'team-d-2', 'team-d-3', 'knative-serving', 'knative-eventing', 'istio-system'])
  const plan = planTenantAuthz(
    {policies: [], smmr, namespaces},
    {
      tenant: 'team-d',
      add: ['team-d-1', 'team-d-2', 'team-d-3'],
      meshNamespace: 'istio-system',
      clusterDomain: 'cluster.local',
      serving: true,
      eventing: false,
      addToMesh: true,
    },
  )
  return changesOf(plan)
}

function options(over: Partial<EngineOptions> = {}) {
  const out: string[] = []
  const paged: string[] = []
  const o: EngineOptions = {
    yes: false,
    dryRun: 'client',
    color: false,
    interactive: true,
    confirm: async () => true,
    printer: {info: (s) => out.push(s), warn: (s) => out.push(`warning: ${s}`), data: (s) => out.push(s), table: (h, r, o) => void out.push(table(h, r, o))},
    ...over,
  }
  return {o, out, paged}
}

describe('the plan: a summary first, then the details', () => {
  const changes = tenantPlan()
  const summaryOf = () => {
    const s = new ChangeSummary()
    for (const c of changes) s.add(c)
    return s
  }

  it('plural kinds and phrases', () => {
    expect(pluralKind('AuthorizationPolicy')).toBe('AuthorizationPolicies')
    expect(pluralKind('Gateway')).toBe('Gateways')
    expect(pluralKind('Ingress')).toBe('Ingresses')
    expect(pluralKind('Secret')).toBe('Secrets')
    expect(summaryPhrase('create', 'AuthorizationPolicy', 10, ['a', 'b', 'c'])).toBe('create 10 AuthorizationPolicies in 3 namespaces')
    expect(summaryPhrase('update', 'ServiceMeshMemberRoll', 1, ['istio-system'])).toBe('update 1 ServiceMeshMemberRoll in istio-system')
    expect(summaryPhrase('delete', 'ClusterRole', 2, [])).toBe('delete 2 ClusterRoles')
  })

  it('one line for the question: per action and kind, with the namespaces counted', () => {
    const creates = changes.filter((c) => c.action === 'create')
    const nss = new Set(creates.map((c) => c.desired!.metadata.namespace))
    expect(summaryOf().oneLine()).toBe(
      `create ${creates.length} AuthorizationPolicies in ${nss.size} namespaces, update 1 ServiceMeshMemberRoll in istio-system`,
    )
    expect(summaryOf().oneLine(80)).toBe(`create ${creates.length} AuthorizationPolicies in ${nss.size} namespaces, update 1 ServiceMeshMemberRoll`)
    expect(summaryOf().oneLine(65)).toBe(`create ${creates.length} AuthorizationPolicies, update 1 ServiceMeshMemberRoll`)
    expect(summaryOf().oneLine(40)).toBe(`create ${creates.length} AuthorizationPolicies, +1 more`)
    expect(summaryOf().oneLine(20)).toBe(`${changes.length} changes`)
  })

  it('creates are listed, not dumped; the update keeps its diff; the summary comes first', async () => {
    const {o, out} = options()
    await presentChanges(summaryOf(), changes, o)
    const text = out.join('\n')
    expect(out[0]).toBe(`${changes.length} changes:`)
    expect(out[1]).toMatch(/^ {2}create AuthorizationPolicy in team-d-1: 2 \(allow-from-knative-and-istio, allow-wait-for-drain\)$/)
    expect(text).toContain('  update ServiceMeshMemberRoll in istio-system: 1 (default)')
    expect(text).toContain('+ create AuthorizationPolicy/team-d-2/allow-wait-for-drain')
    expect(text).not.toContain('kind: AuthorizationPolicy') // no object body
    expect(text).not.toContain('action: ALLOW')
    expect(text).toContain('~ update ServiceMeshMemberRoll/istio-system/default')
    expect(text).toMatch(/\+\s+- team-d-3/) // the member roll's diff
    expect(text).toContain(`(${changes.length - 1} new objects listed, not shown: --show-objects or -o yaml prints them in full)`)
    expect(text.indexOf('changes:')).toBeLessThan(text.indexOf('+ create'))
  })

  it('--show-objects dumps the new objects', async () => {
    const {o, out} = options({showObjects: true})
    await presentChanges(summaryOf(), changes, o)
    const text = out.join('\n')
    expect(text).toContain('action: ALLOW')
    expect(text).not.toContain('listed, not shown')
  })

  it('details longer than the screen go to the pager; short ones, or a pager that fails, are printed', async () => {
    const paged: string[] = []
    const long = options({height: 20, page: async (t) => (paged.push(t), true)})
    await presentChanges(summaryOf(), changes, long.o)
    expect(paged).toHaveLength(1)
    expect(paged[0]).toContain('~ update ServiceMeshMemberRoll/istio-system/default')
    expect(long.out.join('\n')).not.toContain('+ create') // only the summary outside the pager
    expect(long.out[0]).toBe(`${changes.length} changes:`)

    const tall = options({height: 200, page: async (t) => (paged.push(t), true)})
    await presentChanges(summaryOf(), changes, tall.o)
    expect(paged).toHaveLength(1)
    expect(tall.out.join('\n')).toContain('+ create')

    const broken = options({height: 20, page: async () => false})
    await presentChanges(summaryOf(), changes, broken.o)
    expect(broken.out.join('\n')).toContain('~ update ServiceMeshMemberRoll/istio-system/default')
  })

  it('the summary fits one screen and its lines the width', async () => {
    const s = new ChangeSummary()
    for (let i = 0; i < 200; i++)
      s.add({
        action: 'create',
        live: null,
        desired: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: `a-very-long-config-map-name-${i}`, namespace: `namespace-number-${i % 50}`}},
      })
    const {o, out} = options({height: 24, width: 60})
    await presentChanges(s, undefined, o)
    expect(out.length).toBeLessThanOrEqual(24 - 2)
    expect(Math.max(...out.map((l) => l.length))).toBeLessThanOrEqual(60)
    expect(out).toContain('  … and 31 more group(s)')
  })
})
