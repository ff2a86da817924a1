import {KnmeshCommand} from '../base-command.js'

export default class Whoami extends KnmeshCommand {
  static summary = 'Show who the API server takes you for (read-only, like kubectl auth whoami)'
  static description = `Sends a SelfSubjectReview (authentication.k8s.io/v1, else v1beta1 or v1alpha1 on older clusters) with the same connection settings every verb uses (kubeconfig, context, --as, --token, …) and prints the user name, UID, groups and extra attributes the API server saw: the quickest way to check which identity knmesh will act as. -o json|yaml prints the SelfSubjectReview as kubectl auth whoami does. Changes nothing.`

  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --as system:admin',
    '<%= config.bin %> <%= command.id %> -o json',
  ]

  async run() {
    await this.parseFlags(Whoami)
    const {selfSubjectReview} = await import('../kube/whoami.js')
    const review = await selfSubjectReview(await this.client())
    const u = review.status?.userInfo ?? {}
    const rows: string[][] = [['Username', u.username ?? '']]
    if (u.uid) rows.push(['UID', u.uid])
    if (u.groups?.length) rows.push(['Groups', `[${u.groups.join(' ')}]`])
    for (const [k, v] of Object.entries(u.extra ?? {}).sort(([a], [b]) => a.localeCompare(b))) rows.push([`Extra: ${k}`, `[${v.join(' ')}]`])
    return {data: review, table: {head: ['attribute', 'value'], rows}}
  }
}
