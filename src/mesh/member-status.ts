import type {Printer} from '../change/engine.js'
import type {KubeClient} from '../kube/client.js'
import {Kinds} from '../kube/kinds.js'
import {SMMR_NAME} from './constants.js'

/** Prints the member roll's status when the Service Mesh Operator reports one. */
export async function reportMemberStatus(client: KubeClient, meshNamespace: string, printer: Printer): Promise<void> {
  const smmr = await client.get(Kinds.ServiceMeshMemberRoll, SMMR_NAME, meshNamespace)
  const st = smmr?.status
  if (!st) {
    printer.info('member roll status: not reported yet (the Service Mesh Operator fills it in)')
    return
  }
  const list = (v: unknown) => (Array.isArray(v) && v.length ? v.join(', ') : 'none')
  printer.info(`configured members: ${list(st.configuredMembers)}`)
  printer.info(`pending members: ${list(st.pendingMembers)}`)
}
