import {createTwoFilesPatch} from 'diff'
import {stringify} from 'yaml'
import type {KObject} from '../kube/types.js'
import {redact, stripServerFields, type Action} from '../kube/objects.js'
import {key} from '../kube/types.js'

const c = (code: number, on: boolean) => (s: string) => (on ? `\u001B[${code}m${s}\u001B[0m` : s)

export function toYaml(obj: KObject): string {
  return stringify(redact(stripServerFields(obj)), {lineWidth: 0})
}

/**
 * A unified YAML diff of one change, coloured when `color`: a title line
 * ("+ create Kind/ns/name", "~ update …", "- delete …") and, unless `body` is false,
 * the diff indented by four spaces (a create: the whole object).
 */
export function renderChange(
  action: Exclude<Action, 'unchanged'>,
  live: KObject | null,
  desired: KObject | null,
  color: boolean,
  opts: {body?: boolean} = {},
): string {
  const obj = (desired ?? live)!
  const head = {create: c(32, color)('+ create'), update: c(33, color)('~ update'), delete: c(31, color)('- delete')}[action]
  const title = `${head} ${key(obj)}`
  if (action === 'delete' || opts.body === false) return title + '\n'
  const before = live ? stringify(redact(stripServerFields(live), desired, 'before'), {lineWidth: 0}) : ''
  const after = desired ? stringify(redact(stripServerFields(desired), live), {lineWidth: 0}) : ''
  const patch = createTwoFilesPatch('live', 'desired', before, after, '', '', {context: 3})
  const all = patch.split('\n')
  const lines = all.slice(
    Math.max(
      0,
      all.findIndex((l) => l.startsWith('@@')),
    ),
  ) // drop the ===/---/+++ file headers
  const body = lines
    .filter((l) => l !== '\\ No newline at end of file' && l !== '')
    .map((l) => (l.startsWith('+') ? c(32, color)(l) : l.startsWith('-') ? c(31, color)(l) : l.startsWith('@@') ? c(36, color)(l) : l))
    .map((l) => '    ' + l)
    .join('\n')
  return `${title}\n${body}\n`
}

/** English plural of a kind: AuthorizationPolicy → AuthorizationPolicies, Ingress → Ingresses, Gateway → Gateways. */
export function pluralKind(kind: string): string {
  if (/[^aeiou]y$/i.test(kind)) return kind.slice(0, -1) + 'ies'
  if (/(s|x|z|ch|sh)$/i.test(kind)) return kind + 'es'
  return kind + 's'
}

/** "create 10 AuthorizationPolicies in 3 namespaces", "update 1 ServiceMeshMemberRoll in istio-system", "delete 2 ClusterRoles". */
export function summaryPhrase(action: string, kind: string, count: number, namespaces: string[]): string {
  const where = namespaces.length === 0 ? '' : namespaces.length === 1 ? ` in ${namespaces[0]}` : ` in ${namespaces.length} namespaces`
  return `${action} ${count} ${count === 1 ? kind : pluralKind(kind)}${where}`
}
