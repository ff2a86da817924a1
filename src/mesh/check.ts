/** One row of a read-only check (precheck, and the rows status and setup reuse). */

export type CheckStatus = 'ok' | 'warning' | 'failure'

export interface Check {
  /** Stable identifier, e.g. "crd/servicemeshcontrolplanes", "gateway-conflict/ns/name". */
  id: string
  status: CheckStatus
  /** One line: what was found. */
  detail: string
  /** For warnings and failures: the knmesh verb or manual step that fixes it. */
  fix?: string
}
