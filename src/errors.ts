/**
 * Errors a user sees. Each carries the process exit code documented in the
 * README ("Exit codes"). Messages are one line: what is wrong and what to do.
 */
export const ExitCode = {
  OK: 0,
  /** A check found failures (precheck, status, probe --expect, filter-secrets --check). */
  CHECK_FAILED: 1,
  /** Bad input: invalid names, flags or arguments. Nothing was sent to the cluster. */
  USAGE: 2,
  /** The plan was shown but not applied: declined at the prompt, or no terminal and no --yes. */
  NOT_APPLIED: 3,
  /** The cluster refused or could not be reached (forbidden, not served, unreachable, invalid). */
  CLUSTER: 4,
  /** Optimistic-concurrency retries were exhausted. */
  CONFLICT: 5,
  /** A name given on the command line (namespace, mesh namespace, Knative Service, tenant) does not exist. Nothing was changed. */
  NOT_FOUND: 6,
  /** probe --live gave no observation: the probe pod did not run to completion within --timeout (or failed). Not a mismatch. */
  LIVE_NO_RESULT: 7,
  /**
   * Partially applied: some writes of a multi-object change were made, then the API server failed
   * (unreachable, 5xx, throttled past the retries). Each write is whole; running the same command again finishes.
   */
  PARTIAL: 8,
  /** Interrupted (Ctrl-C): at a prompt (nothing applied), or during a bulk run (every write sent is whole). */
  INTERRUPTED: 130,
} as const

export class KnmeshError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.CLUSTER,
  ) {
    super(message)
    this.name = new.target.name
  }
}

export class UsageError extends KnmeshError {
  constructor(message: string) {
    super(message, ExitCode.USAGE)
  }
}

export class NotAppliedError extends KnmeshError {
  constructor(message: string) {
    super(message, ExitCode.NOT_APPLIED)
  }
}

/**
 * Some changes of a plan were applied and the rest were not (exit 8): the message names both, the cause,
 * and that running the same command again finishes the rest (every write is atomic: nothing is half-written).
 */
export class PartialError extends KnmeshError {
  constructor(message: string) {
    super(message, ExitCode.PARTIAL)
  }
}

/** A namespace, mesh namespace or Knative Service named on the command line does not exist (exit 6), said before any diff. */
export class MissingError extends KnmeshError {
  constructor(message: string) {
    super(message, ExitCode.NOT_FOUND)
  }
}

/**
 * Not an error: the person answered "no" at the prompt (exit 3). Printed without the "error:" prefix.
 */
export class DeclinedError extends NotAppliedError {}

/** Ctrl-C (exit 130). Printed without the "error:" prefix: the person asked for it. */
export class InterruptedError extends KnmeshError {
  constructor(message = 'interrupted: nothing changed') {
    super(message, ExitCode.INTERRUPTED)
  }
}

export class CheckFailedError extends KnmeshError {
  constructor(message: string) {
    super(message, ExitCode.CHECK_FAILED)
  }
}

/** An error answered by (or on the way to) the API server. */
export class KubeError extends KnmeshError {
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
  ) {
    super(message, status === 409 ? ExitCode.CONFLICT : ExitCode.CLUSTER)
  }
}

export class ConflictError extends KubeError {}
export class NotFoundError extends KubeError {}
export class ForbiddenError extends KubeError {}
export class NotServedError extends KubeError {}
