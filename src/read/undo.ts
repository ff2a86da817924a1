import {pool} from '../change/bulk.js'
import {liveKey} from '../change/undo.js'
import {isSecret, type JournalChange, type JournalEntry} from '../journal/entry.js'
import type {KubeClient} from '../kube/client.js'
import {kindOf} from '../kube/kinds.js'
import type {KObject} from '../kube/types.js'

/**
 * undo's state: the live object (null when absent) of each change the change set applied, keyed by liveKey; one
 * GET per object, 16 at a time (a bulk change set holds thousands). A Secret is read as metadata only: its data is
 * never downloaded (nor journaled). Throws what the client throws.
 */
export async function readUndo(client: KubeClient, entry: JournalEntry): Promise<Map<string, KObject | null>> {
  const wanted = new Map<string, JournalChange>()
  for (const ch of entry.changes) if (ch.result === 'applied' && !wanted.has(liveKey(ch))) wanted.set(liveKey(ch), ch)
  const got = new Map<string, KObject | null>()
  await pool([...wanted], 16, async ([k, ch]) => {
    got.set(k, await client.get(kindOf(ch), ch.name, ch.namespace, {metadataOnly: isSecret(ch)}))
  })
  // In the change set's order, as read one by one.
  return new Map([...wanted.keys()].map((k): [string, KObject | null] => [k, got.get(k) ?? null]))
}
