import {Kinds} from '../kube/kinds.js'
import {X509Certificate, createPrivateKey, randomBytes} from 'node:crypto'
import forge from 'node-forge'
import {info, type Plan} from '../change/plan.js'
import {newObject} from '../change/edit.js'
import type {KObject} from '../kube/types.js'
import {KnmeshError} from '../errors.js'

/**
 * Guide 1.3: a root CA and a wildcard certificate for *.<domain> signed by it,
 * and the TLS Secret the ingress gateway serves. Generation uses node-forge;
 * inspection uses Node's X509Certificate. Nothing here does I/O.
 */

export const RENEW_WITHIN_DAYS = 30
const DAY = 24 * 3600 * 1000

export interface KeyPairPem {
  certPem: string
  keyPem: string
}

export interface CertOptions {
  domain: string
  organization: string
  days: number
  keySize: number
  now?: Date
}

function serial(): string {
  // 16 random bytes, high bit cleared: a positive serial number.
  const b = randomBytes(16)
  b[0] &= 0x7f
  b[0] |= 0x01
  return b.toString('hex')
}

function validity(cert: forge.pki.Certificate, now: Date, days: number): void {
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60 * 1000) // a little slack for clock skew
  cert.validity.notAfter = new Date(now.getTime() + days * DAY)
}

function keyPair(bits: number): forge.pki.rsa.KeyPair {
  // node-forge uses Node's native RSA key generation when it is available.
  return forge.pki.rsa.generateKeyPair({bits, e: 0x10001})
}

/** A self-signed root CA: O=<organization>, CN=<domain>. */
export function createRootCa(opts: CertOptions): KeyPairPem {
  const keys = keyPair(opts.keySize)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = serial()
  validity(cert, opts.now ?? new Date(), opts.days)
  const subject = [
    {shortName: 'O', value: opts.organization},
    {shortName: 'CN', value: opts.domain},
  ]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    {name: 'basicConstraints', cA: true, critical: true},
    {name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true},
    {name: 'subjectKeyIdentifier'},
  ])
  cert.sign(keys.privateKey, forge.md.sha256.create())
  return {certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey)}
}

/** A leaf certificate for *.<domain> (subjectAltName DNS:*.<domain>) signed by `ca`. */
export function createWildcard(ca: KeyPairPem, opts: CertOptions): KeyPairPem {
  const caCert = forge.pki.certificateFromPem(ca.certPem)
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem)
  const keys = keyPair(opts.keySize)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = serial()
  validity(cert, opts.now ?? new Date(), opts.days)
  cert.setSubject([
    {shortName: 'CN', value: `*.${opts.domain}`},
    {shortName: 'O', value: opts.organization},
  ])
  cert.setIssuer(caCert.subject.attributes)
  const caSki = caCert.getExtension('subjectKeyIdentifier') as {subjectKeyIdentifier?: string} | null
  cert.setExtensions([
    {name: 'basicConstraints', cA: false, critical: true},
    {name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true},
    {name: 'extKeyUsage', serverAuth: true},
    {name: 'subjectAltName', altNames: [{type: 2, value: `*.${opts.domain}`}]},
    {name: 'subjectKeyIdentifier'},
    ...(caSki?.subjectKeyIdentifier ? [{name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(caSki.subjectKeyIdentifier)}] : []),
  ])
  cert.sign(caKey, forge.md.sha256.create())
  return {certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey)}
}

export interface CertVerdict {
  usable: boolean
  /** Why not, or what it is ("valid for *.apps.example.com until …"). */
  reason: string
  notAfter?: Date
}

/**
 * Whether a certificate (and its key) serves *.<domain> and does not expire
 * within RENEW_WITHIN_DAYS days.
 */
export function inspectCert(certPem: string | undefined, keyPem: string | undefined, domain: string, now = new Date()): CertVerdict {
  if (!certPem) return {usable: false, reason: 'no certificate'}
  let cert: X509Certificate
  try {
    cert = new X509Certificate(certPem)
  } catch {
    return {usable: false, reason: 'the certificate cannot be parsed'}
  }
  const notAfter = new Date(cert.validTo)
  if (!cert.checkHost(`knmesh-probe.${domain}`, {wildcards: true, subject: 'default'}) || !sanNames(cert).includes(`*.${domain}`)) {
    return {usable: false, reason: `the certificate is not for *.${domain} (${cert.subjectAltName ?? cert.subject.replace(/\n/g, ', ')})`, notAfter}
  }
  if (new Date(cert.validFrom) > now) return {usable: false, reason: `the certificate is not valid before ${cert.validFrom}`, notAfter}
  if (notAfter.getTime() - now.getTime() < RENEW_WITHIN_DAYS * DAY) {
    return {usable: false, reason: `the certificate expires ${notAfter.toISOString()} (within ${RENEW_WITHIN_DAYS} days)`, notAfter}
  }
  if (keyPem !== undefined) {
    try {
      if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return {usable: false, reason: 'the private key does not match the certificate', notAfter}
    } catch {
      return {usable: false, reason: 'the private key cannot be parsed', notAfter}
    }
  }
  return {usable: true, reason: `valid for *.${domain} until ${notAfter.toISOString()}`, notAfter}
}

export function sanNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4))
}

/** Checks a CA given with --ca-cert/--ca-key: a CA certificate whose key matches. Returns an error text or undefined. */
export function caProblem(ca: KeyPairPem): string | undefined {
  let cert: X509Certificate
  try {
    cert = new X509Certificate(ca.certPem)
  } catch {
    return 'the CA certificate cannot be parsed (PEM expected)'
  }
  if (!cert.ca) return 'the CA certificate is not a CA (basicConstraints CA:FALSE)'
  try {
    if (!cert.checkPrivateKey(createPrivateKey(ca.keyPem))) return 'the CA key does not match the CA certificate'
  } catch {
    return 'the CA key cannot be parsed (unencrypted PEM expected)'
  }
  try {
    forge.pki.privateKeyFromPem(ca.keyPem)
  } catch {
    return 'the CA key must be an RSA key'
  }
  return undefined
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
const unb64 = (s: unknown) => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : undefined)

/** The certificate and key a TLS Secret holds. */
export function secretPair(secret: KObject | null): {certPem?: string; keyPem?: string} {
  return {certPem: unb64(secret?.data?.['tls.crt']), keyPem: unb64(secret?.data?.['tls.key'])}
}

/** Whether the Secret already holds a usable certificate for the domain. */
export function inspectSecret(secret: KObject | null, domain: string, now = new Date()): CertVerdict {
  if (!secret) return {usable: false, reason: 'the Secret does not exist'}
  if (secret.type !== 'kubernetes.io/tls') return {usable: false, reason: `the Secret is of type ${secret.type ?? 'Opaque'}, not kubernetes.io/tls`}
  const {certPem, keyPem} = secretPair(secret)
  return inspectCert(certPem, keyPem ?? '', domain, now)
}

/** The TLS Secret holding `pair`: other data keys, labels and annotations of a live Secret are kept. */
export function desiredTlsSecret(live: KObject | null, namespace: string, name: string, pair: KeyPairPem): KObject {
  const secret = live ? structuredClone(live) : newObject(Kinds.Secret, name, namespace, {type: 'kubernetes.io/tls'})
  secret.data = {...secret.data, 'tls.crt': b64(pair.certPem), 'tls.key': b64(pair.keyPem)}
  return secret
}

/** The type of a Secret cannot change: refuse (one line) rather than delete someone's Secret. */
export function refuseOtherSecretType(live: KObject | null, namespace: string, name: string): void {
  if (live && live.type !== 'kubernetes.io/tls') {
    throw new KnmeshError(`Secret ${namespace}/${name} exists with type ${live.type ?? 'Opaque'}, not kubernetes.io/tls; delete it or choose another --secret`)
  }
}

/**
 * certs: the TLS Secret `namespace`/`name` (guide 1.3 step 3, `oc create secret tls wildcard-certs`) holding `pair`.
 * State: the live Secret (null when absent). Returns one item: create it, or update its tls.crt/tls.key (its other
 * data keys, labels and annotations kept; equal data: unchanged). Throws KnmeshError (exit 4) when a Secret of that
 * name exists with another type (the type of a Secret cannot change). Upstream: the guide's 1.3 (Integrations,
 * "Creating a certificate to encrypt incoming external traffic").
 */
export function planCertSecret(live: KObject | null, namespace: string, name: string, pair: KeyPairPem): Plan {
  refuseOtherSecretType(live, namespace, name)
  const notes = live ? [] : [info(`Secret ${namespace}/${name} does not exist: it will be created`)]
  return {items: [{live, desired: desiredTlsSecret(live, namespace, name, pair)}], notes}
}
