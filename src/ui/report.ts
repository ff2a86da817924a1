import type {Printer} from './printer.js'

/**
 * Output of a read-only verb: `data` as JSON or YAML on stdout with -o json|yaml
 * (and --json), else a table of `head` and `rows` (and an optional last line).
 */
export async function printReport(
  printer: Printer,
  output: 'json' | 'yaml' | undefined,
  data: unknown,
  head: string[],
  rows: (string | number | undefined)[][],
  footer?: string,
): Promise<void> {
  if (output === 'json') printer.data(JSON.stringify(data, null, 2))
  else if (output === 'yaml') printer.data((await import('yaml')).stringify(data))
  else {
    if (rows.length) printer.table(head, rows)
    if (footer) printer.info(footer)
  }
}
