/**
 * Golden files: objects rendered or printed by knmesh's upstream sources, kept under
 * test/fixtures/golden/ (see SOURCES.md there: repository, branch, commit, path, command).
 * Tests compare knmesh's planners' output with them semantically: parsed YAML, so key order,
 * quoting and comments do not matter; list order and every value do.
 */
import {readFileSync} from 'node:fs'
import {parseAllDocuments} from 'yaml'
import type {KObject} from '../../src/kube/types.js'

export const GOLDEN_DIR = new URL('../fixtures/golden/', import.meta.url)

/**
 * The objects of a golden file (empty documents, as `helm template` prints them, are dropped).
 * `placeholders` replaces the guide's placeholders (e.g. `<wildcard_certs>`) in the text before parsing:
 * the fixture keeps the guide's text, the test says which value it stands for.
 */
export function golden(file: string, placeholders: Record<string, string> = {}): KObject[] {
  let text = readFileSync(new URL(file, GOLDEN_DIR), 'utf8')
  for (const [from, to] of Object.entries(placeholders)) {
    if (!text.includes(from)) throw new Error(`${file} has no placeholder ${from}`)
    text = text.split(from).join(to)
  }
  const docs = parseAllDocuments(text)
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`)
  return docs.map((d) => d.toJS() as KObject | null).filter((o): o is KObject => o !== null)
}

/** namespace/name, for sorting and matching. */
export const objKey = (o: KObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`

export function byKey(objs: KObject[]): KObject[] {
  return [...objs].sort((a, b) => objKey(a).localeCompare(objKey(b)))
}

/** A copy of `o` without the metadata labels named (fields knmesh adds by design); an emptied labels map is removed. */
export function withoutLabels(o: KObject, names: string[]): KObject {
  const c = structuredClone(o)
  for (const n of names) delete c.metadata.labels?.[n]
  if (c.metadata.labels && Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels
  return c
}
