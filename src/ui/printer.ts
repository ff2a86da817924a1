import type {TableOptions} from './table.js'

/** Where a verb's output goes (the base command implements it; tests record it). */
export interface Printer {
  /** Human-readable progress and diffs. */
  info(text: string): void
  warn(text: string): void
  /** Machine-readable output (-o yaml|json). */
  data(text: string): void
  /** A table (src/ui/table.ts) fitted to the terminal; cells are human text, named like info(). Awaited: it may load the table module. */
  table(head: string[], rows: (string | number | undefined)[][], opts?: TableOptions): void | Promise<void>
}
