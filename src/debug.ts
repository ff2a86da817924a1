import {format} from 'node:util'

/** DEBUG=knmesh* (or DEBUG=*) prints request traces and stack traces to stderr. */
export const debugEnabled = /(^|,)\s*(knmesh\*?|knmesh:.*|\*)\s*(,|$)/.test(process.env.DEBUG ?? '')

export function debug(fmt: string, ...args: unknown[]): void {
  if (debugEnabled) process.stderr.write(`knmesh ${format(fmt, ...args)}\n`)
}
