import {Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {CheckFailedError} from '../errors.js'

export default class Analyze extends KnmeshCommand {
  static summary = 'Find what breaks the Serverless–Service Mesh integration, from API objects alone (read-only)'
  static description = `Like istioctl analyze, but Knative-aware and for Service Mesh 2.x, where istioctl is not supported, and Service Mesh 3: reads each kind once, cluster-wide (Gateways, Services, Secrets where gateways run, Deployments/StatefulSets/DaemonSets, KnativeServing/Eventing/Kafka, config-istio, ServiceEntries, AuthorizationPolicies, PeerAuthentications, NetworkPolicies, Knative Services, Revisions, KIngresses, the member roll and control plane) and reports each problem with a stable code (KNM0101…), the objects involved, a message and the command that fixes it. Needs no running pods: pod templates count, so Knative Services scaled to zero are not "unmatched".

On Service Mesh 3 the same rules read the Istio, the mesh-wide PeerAuthentication and the namespace injection labels instead of the control plane and the member roll, and look for the gateway in knative-serving-ingress; the member-roll rule is skipped, and the Service Mesh 3 hazards are added (inject annotation without label, wildcard-certs left in the mesh namespace, config-istio naming the mesh namespace, stale Routes; --list-codes shows which codes run on which generation).

Findings are grouped by severity (Error, Warning, Info). Exit code 1 when a finding is at or above --fail-threshold (default: error). The README lists every code with an example.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> -o json',
    '<%= config.bin %> <%= command.id %> --fail-threshold warning',
    '<%= config.bin %> <%= command.id %> --list-codes',
    '<%= config.bin %> <%= command.id %> --mesh-version 3   # during a 2 → 3 migration: analyze the Service Mesh 3 side',
  ]

  static readsOnly = true
  static flags = {
    ...meshNamespaceFlag,
    'fail-threshold': Flags.option({
      options: ['info', 'warning', 'error'] as const,
      description: 'exit 1 when a finding is at or above this severity (as istioctl analyze --failure-threshold)',
      default: 'error' as const,
    })(),
    'list-codes': Flags.boolean({description: 'print every code with its severity and summary, read nothing', default: false}),
  }

  async run() {
    const {flags} = await this.parseFlags(Analyze)
    const mesh = flags['mesh-namespace']
    const {RULES, analyze, exceeds, findingLine, generationsText, summary} = await import('../mesh/analyze/index.js')
    if (flags['list-codes']) {
      const codes = RULES.map((r) => ({code: r.code, severity: r.severity, generations: r.generations ?? [2, 3], summary: r.summary}))
      return {data: codes, table: {head: ['code', 'severity', 'mesh', 'summary'], rows: RULES.map((r) => [r.code, r.severity, generationsText(r), r.summary])}}
    }
    const {readAnalyzeFor} = await import('../read/analyze.js')
    const client = await this.client()
    const state = await readAnalyzeFor(client, mesh, await this.meshGeneration())
    const findings = analyze(state).map((f) => (f.fix ? {...f, fix: this.named(f.fix)} : f))
    const counts = summary(findings)
    const threshold = ({info: 'Info', warning: 'Warning', error: 'Error'} as const)[flags['fail-threshold']]
    const failed = exceeds(findings, threshold)
    const report = {meshNamespace: mesh, summary: counts, findings, meshVersion: state.generation}
    const notes =
      findings.length === 0
        ? [`✔ No issues found in the Serverless–Service Mesh integration (mesh ${mesh}).`]
        : [
            ...findings.flatMap((f) => [findingLine(f), ...(f.fix ? [`  fix: ${f.fix}`] : [])]),
            `${findings.length} finding(s): ${counts.Error} error(s), ${counts.Warning} warning(s), ${counts.Info} info`,
          ]
    return {data: report, notes, error: failed ? new CheckFailedError(`analyze found issues at or above ${flags['fail-threshold']} severity`) : undefined}
  }
}
