import {Flags} from '@oclif/core'
import {KnmeshCommand, meshNamespaceFlag} from '../base-command.js'
import {UsageError} from '../errors.js'
import {validateObjectName} from '../mesh/names.js'

const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/

export default class Certs extends KnmeshCommand {
  static summary = 'Create the wildcard certificate and the TLS Secret the ingress gateway serves'
  static description = `Does what guide section 1.3 does with openssl: creates a root CA (or uses the one given with --ca-cert/--ca-key) and a certificate for *.DOMAIN signed by it (subjectAltName, basicConstraints, keyUsage set; RSA, SHA-256), writes root.crt, root.key, wildcard.crt and wildcard.key to --out-dir (keys with mode 0600), and creates or updates the kubernetes.io/tls Secret wildcard-certs in the mesh namespace.

DOMAIN is the cluster's apps domain (spec.domain of ingresses.config.openshift.io/cluster) unless --domain is given. A Secret that already holds a valid certificate for the domain, not expiring within 30 days, is left alone unless --rotate. Existing files are never overwritten without --force; a complete, valid set in --out-dir is reused. Private keys are never printed.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --out-dir ./certs',
    '<%= config.bin %> <%= command.id %> --domain apps.openshift.example.com --days 730 --yes',
    '<%= config.bin %> <%= command.id %> --ca-cert ca.crt --ca-key ca.key --out-dir ./certs',
    '<%= config.bin %> <%= command.id %> --rotate --force --out-dir ./certs --yes',
  ]

  static flags = {
    ...meshNamespaceFlag,
    domain: Flags.string({description: "the domain: the certificate is for *.DOMAIN (default: the cluster's apps domain)", helpValue: 'DOMAIN'}),
    'out-dir': Flags.string({description: 'folder for root.crt, root.key, wildcard.crt, wildcard.key', default: '.', helpValue: 'DIR'}),
    'ca-cert': Flags.string({description: 'sign with this CA certificate (PEM) instead of a new root CA', dependsOn: ['ca-key'], helpValue: 'FILE'}),
    'ca-key': Flags.string({description: 'the private key (PEM, RSA) of --ca-cert', dependsOn: ['ca-cert'], helpValue: 'FILE'}),
    days: Flags.integer({description: 'validity of the new certificates in days', default: 365, min: 31, max: 3650}),
    'key-size': Flags.option({options: ['2048', '3072', '4096'] as const, description: 'RSA key size', default: '2048' as const})(),
    organization: Flags.string({description: "O= of the new certificates' subjects", default: 'knmesh', helpValue: 'ORG'}),
    secret: Flags.string({description: 'name of the TLS Secret in the mesh namespace', default: 'wildcard-certs', helpValue: 'NAME'}),
    rotate: Flags.boolean({description: 'replace a Secret that still holds a valid certificate', default: false}),
    force: Flags.boolean({description: 'overwrite existing files in --out-dir', default: false}),
  }

  async run() {
    const {flags} = await this.parseFlags(Certs)
    const mesh = flags['mesh-namespace']
    const secretName = validateObjectName(flags.secret, 'secret name')
    if (flags.domain !== undefined && !DOMAIN.test(flags.domain.toLowerCase())) {
      throw new UsageError(`invalid --domain "${flags.domain}": a DNS name such as apps.example.com expected (without "*.")`)
    }
    if (!flags.organization.trim()) throw new UsageError('--organization must not be empty')
    const fs = await import('node:fs/promises')
    const path = await import('node:path')
    const certs = await import('../mesh/certs.js')

    // Bad input is refused before any request: the CA files, the output folder.
    let ca: {certPem: string; keyPem: string} | undefined
    if (flags['ca-cert'] && flags['ca-key']) {
      const read = (f: string) =>
        fs.readFile(f, 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read ${f}: ${error.code ?? error.message}`)
        })
      ca = {certPem: await read(flags['ca-cert']), keyPem: await read(flags['ca-key'])}
      const problem = certs.caProblem(ca)
      if (problem) throw new UsageError(`--ca-cert/--ca-key: ${problem}`)
    }
    const outDir = path.resolve(flags['out-dir'])
    const stat = await fs.stat(outDir).catch(() => null)
    if (stat && !stat.isDirectory()) throw new UsageError(`--out-dir ${flags['out-dir']} is not a folder`)
    // The files are written after the Secret: make sure they can be, before anything changes.
    let existingDir = outDir
    let found = await fs.stat(existingDir).catch(() => null)
    while (!found) {
      existingDir = path.dirname(existingDir)
      found = await fs.stat(existingDir).catch(() => null)
    }
    if (!found.isDirectory()) throw new UsageError(`cannot create --out-dir ${flags['out-dir']}: ${existingDir} is not a folder`)
    const {constants} = await import('node:fs')
    await fs.access(existingDir, constants.W_OK | constants.X_OK).catch(() => {
      throw new UsageError(`cannot write to ${existingDir}: choose another --out-dir`)
    })
    const files = {
      rootCrt: path.join(outDir, 'root.crt'),
      rootKey: path.join(outDir, 'root.key'),
      wildcardCrt: path.join(outDir, 'wildcard.crt'),
      wildcardKey: path.join(outDir, 'wildcard.key'),
    }
    const readIf = (f: string) => fs.readFile(f, 'utf8').catch(() => undefined)

    // Service Mesh 3: the Secret goes where the gateway pods run (knative-serving-ingress), not the mesh namespace.
    const {gatewayNamespace} = await import('../mesh/generation.js')
    const secretNs = gatewayNamespace((await this.meshGeneration()).generation, mesh)
    await this.requireNamespaces([secretNs])
    const {readCerts, readCertSecret} = await import('../read/certs.js')
    const {domain, secret: live} = await readCerts(await this.client(), secretNs, secretName, flags.domain?.toLowerCase())
    if (!domain) throw new UsageError("cannot tell the cluster's apps domain (no ingresses.config.openshift.io/cluster spec.domain): pass --domain")
    certs.refuseOtherSecretType(live, secretNs, secretName)
    const verdict = certs.inspectSecret(live, domain)
    const where = `Secret ${secretNs}/${secretName}`
    if (verdict.usable && !flags.rotate) {
      this.printer.info(`${where} already holds a certificate ${verdict.reason}; --rotate replaces it`)
      this.printer.info('nothing to do: the cluster already matches')
      return {
        data: {applied: false, noop: true, changes: [], objects: [], notes: [], domain, secret: `${secretNs}/${secretName}`, files: []},
        machine: 'done' as const,
      }
    }
    if (live)
      this.printer.info(
        verdict.usable ? `${where} holds a certificate ${verdict.reason}: replacing it (--rotate)` : `${where} will be replaced: ${verdict.reason}`,
      )

    // Reuse a complete, valid set of files from an earlier run (e.g. one that was not confirmed).
    const existing = {crt: await readIf(files.wildcardCrt), key: await readIf(files.wildcardKey), root: await readIf(files.rootCrt)}
    let pair: {certPem: string; keyPem: string}
    let write: [string, string, number][] = []
    if (!flags.rotate && !ca && existing.crt && existing.key && existing.root && certs.inspectCert(existing.crt, existing.key, domain).usable) {
      this.printer.info(`using the certificate already in ${outDir} (valid for *.${domain})`)
      pair = {certPem: existing.crt, keyPem: existing.key}
    } else {
      // Refuse to overwrite before spending time on keys. A file that already holds exactly what would be
      // written (the given CA's root.crt) is no clash.
      const targets = [files.rootCrt, ...(ca ? [] : [files.rootKey]), files.wildcardCrt, files.wildcardKey]
      const clash: string[] = []
      for (const f of targets) {
        const now = await readIf(f)
        if (now !== undefined && !(ca && f === files.rootCrt && now === ca.certPem)) clash.push(path.basename(f))
      }
      if (clash.length && !flags.force) throw new UsageError(`${clash.join(', ')} already exist in ${outDir}: pass --force to overwrite, or another --out-dir`)
      const opts = {domain, organization: flags.organization, days: flags.days, keySize: Number(flags['key-size'])}
      const root = ca ?? certs.createRootCa(opts)
      pair = certs.createWildcard(root, opts)
      const contents: Record<string, [string, number]> = {
        [files.rootCrt]: [root.certPem, 0o644],
        [files.rootKey]: [root.keyPem, 0o600],
        [files.wildcardCrt]: [pair.certPem, 0o644],
        [files.wildcardKey]: [pair.keyPem, 0o600],
      }
      write = targets.filter((f) => !(ca && f === files.rootCrt && existing.root === ca.certPem)).map((f) => [f, ...contents[f]])
    }

    const result = await this.change({
      read: (c) => readCertSecret(c, secretNs, secretName),
      plan: (s) => certs.planCertSecret(s, secretNs, secretName, pair),
    })
    const written: string[] = []
    if (result.data.applied && write.length) {
      await fs.mkdir(outDir, {recursive: true})
      for (const [f, content, mode] of write) {
        // A new file with its final mode, renamed over the old one: a key is never readable by others, even briefly.
        const tmp = `${f}.${process.pid}.tmp`
        await fs.writeFile(tmp, content, {mode, flag: 'wx'})
        await fs.chmod(tmp, mode) // the umask may have narrowed it further; keep exactly 0600/0644
        await fs.rename(tmp, f)
        written.push(f)
      }
      this.printer.info(`wrote ${written.map((f) => path.relative(process.cwd(), f) || f).join(', ')}`)
    } else if (write.length) {
      this.printer.info('no files written: the Secret was not changed')
    }
    if (result.data.applied)
      this.printer.info(
        `clients trust the gateway with: curl --cacert ${path.relative(process.cwd(), files.rootCrt) || files.rootCrt} https://<service>.${domain}`,
      )
    // The engine's summary (Secret values redacted) and what was written: never a key.
    return {...result, data: {...result.data, domain, secret: `${secretNs}/${secretName}`, files: written}}
  }
}
