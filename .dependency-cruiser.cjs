/**
 * The shape of src/ (docs/HACKING.md, ../shared/DESIGN.md), checked by
 * dependency-cruiser in `npm run lint`:
 *
 *   main → commands → base-command → read → mesh → change → journal → ui → kube → errors, debug
 *
 * A folder imports only folders to its right, so there is no cycle between
 * folders; src/mesh/ (what the guide knows, as pure functions) does no I/O.
 */
const LAYERS = [
  // [folder (a path regex), what it must not import]
  ['^src/commands/', '^src/main\\.ts$'],
  ['^src/base-command\\.ts$', '^src/main\\.ts$|^src/commands/'],
  ['^src/read/', '^src/(main|base-command)\\.ts$|^src/commands/'],
  ['^src/mesh/', '^src/(main|base-command)\\.ts$|^src/(commands|read)/'],
  ['^src/change/', '^src/(main|base-command)\\.ts$|^src/(commands|read|mesh)/'],
  ['^src/journal/', '^src/(main|base-command)\\.ts$|^src/(commands|read|mesh|change)/'],
  ['^src/ui/', '^src/(main|base-command)\\.ts$|^src/(commands|read|mesh|change|journal)/'],
  ['^src/kube/', '^src/(main|base-command)\\.ts$|^src/(commands|read|mesh|change|journal|ui)/'],
  ['^src/(errors|debug)\\.ts$', '^src/'],
]


/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'mesh-is-pure',
      comment:
        'src/mesh/ is pure (state in, desired objects or findings out): it never imports the API client, ' +
        'the change engine, ui/, readers, the file system or @kubernetes/client-node (its types are fine). ' +
        'Reads go in src/read/, output in the command or ui/.',
      severity: 'error',
      from: {path: '^src/mesh/'},
      to: {
        path: [
          '^src/kube/(client|config|credentials|whoami)\\.ts$',
          '^src/change/engine\\.ts$',
          '^src/journal/store\\.ts$',
          '^src/ui/',
          '^(node:)?(fs|fs/promises|child_process|net|http|https|http2|tls|dgram|readline|process|worker_threads|cluster)$',
        ],
      },
    },
    {
      name: 'mesh-no-client-node-values',
      comment: 'src/mesh/ may use the types of @kubernetes/client-node, never its values (they do I/O).',
      severity: 'error',
      from: {path: '^src/mesh/'},
      to: {path: '@kubernetes/client-node', dependencyTypesNot: ['type-only']},
    },
    ...LAYERS.map(([from, to]) => ({
      name: 'no-folder-cycle',
      comment: 'main → commands → base-command → read → mesh → change → journal → ui → kube → errors, debug: a folder imports only folders to its right.',
      severity: 'error',
      from: {path: from},
      to: {path: to},
    })),
    {
      name: 'no-circular',
      comment: 'No module imports itself through others.',
      severity: 'error',
      from: {path: '^src/'},
      to: {circular: true},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: {couldNotResolve: true},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
    enhancedResolveOptions: {exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types']},
  },
}
