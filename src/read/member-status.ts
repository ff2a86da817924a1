import type {Printer} from '../ui/printer.js'
import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import {SMMR_NAME} from '../mesh/constants.js'
import {members, pendingMembers, pendingText} from '../mesh/members.js'

/**
 * Prints the member roll's status when the Service Mesh Operator reports one,
 * naming (as a warning) the members it has not configured yet: those get no
 * sidecars until it has. `added`: the namespaces this run just added, which
 * the operator cannot have configured yet.
 */
export async function reportMemberStatus(client: KubeClient, meshNamespace: string, printer: Printer, added: string[] = []): Promise<void> {
  const smmr = await client.get(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace)
  const st = smmr?.status
  let fresh = added.filter((n) => members(smmr).includes(n))
  if (!st) {
    printer.info('member roll status: not reported yet (the Service Mesh Operator fills it in)')
  } else {
    const list = (v: unknown) => (Array.isArray(v) && v.length ? v.join(', ') : 'none')
    printer.info(`configured members: ${list(st.configuredMembers)}`)
    printer.info(`pending members: ${list(st.pendingMembers)}`)
    const pending = pendingMembers(smmr)
    fresh = fresh.filter((n) => pending.includes(n))
    const earlier = pending.filter((n) => !fresh.includes(n))
    if (earlier.length) printer.warn(pendingText(earlier))
  }
  if (fresh.length) {
    printer.info(
      `${fresh.join(', ')} ${fresh.length > 1 ? 'join' : 'joins'} the mesh once the Service Mesh Operator lists ${fresh.length > 1 ? 'them' : 'it'} in status.configuredMembers; only pods started after that get sidecars`,
    )
  }
}
