import {liveKey} from '../change/undo.js'
import {isSecret, type JournalEntry} from '../journal/entry.js'
import type {KubeClient} from '../kube/client.js'
import {kindOf} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'

/**
 * undo's state: the live object (null when absent) of each change the change set applied, keyed by liveKey. A
 * Secret is read as metadata only: its data is never downloaded (nor journaled). Throws what the client throws.
 */
export async function readUndo(client: KubeClient, entry: JournalEntry): Promise<Map<string, KObject | null>> {
  const live = new Map<string, KObject | null>()
  for (const ch of entry.changes) {
    if (ch.result !== 'applied' || live.has(liveKey(ch))) continue
    live.set(liveKey(ch), await client.get(kindOf(ch), ch.name, ch.namespace, {metadataOnly: isSecret(ch)}))
  }
  return live
}
