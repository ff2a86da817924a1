import {X509Certificate, createPrivateKey} from 'node:crypto'
import forge from 'node-forge'
import {describe, expect, it} from 'vitest'
import {caProblem, createRootCa, createWildcard, desiredTlsSecret, inspectCert, inspectSecret, planCertSecret} from '../../src/mesh/certs.js'
import type {KObject} from '../../src/kube/types.js'

const opts = {domain: 'apps.example.com', organization: 'Example Inc.', days: 365, keySize: 2048}
const root = createRootCa(opts)
const leaf = createWildcard(root, opts)
const DAY = 24 * 3600 * 1000

describe('certs: generation (guide 1.3)', () => {
  it('creates a root CA: self-signed, CA:TRUE, O and CN as the guide, RSA 2048, SHA-256', () => {
    const ca = new X509Certificate(root.certPem)
    expect(ca.ca).toBe(true)
    expect(ca.subject).toBe('O=Example Inc.\nCN=apps.example.com')
    expect(ca.issuer).toBe(ca.subject)
    expect(ca.verify(ca.publicKey)).toBe(true)
    expect(ca.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048)
    expect(ca.checkPrivateKey(createPrivateKey(root.keyPem))).toBe(true)
    // Node does not expose keyUsage/criticality: read them with node-forge.
    const ext = forge.pki.certificateFromPem(root.certPem).getExtension('keyUsage') as Record<string, boolean>
    expect(ext).toMatchObject({critical: true, keyCertSign: true, cRLSign: true})
    expect(forge.pki.certificateFromPem(root.certPem).getExtension('basicConstraints')).toMatchObject({critical: true, cA: true})
    const days = (Date.parse(ca.validTo) - Date.now()) / DAY
    expect(days).toBeGreaterThan(364.9)
    expect(days).toBeLessThan(365.1)
  })

  it('creates a wildcard certificate signed by the root, with SAN *.domain, CA:FALSE and serverAuth', () => {
    const ca = new X509Certificate(root.certPem)
    const cert = new X509Certificate(leaf.certPem)
    expect(cert.verify(ca.publicKey)).toBe(true)
    expect(cert.checkIssued(ca)).toBe(true)
    expect(cert.ca).toBe(false)
    expect(cert.subjectAltName).toBe('DNS:*.apps.example.com')
    expect(cert.subject).toBe('CN=*.apps.example.com\nO=Example Inc.')
    expect(cert.checkHost('hello-default.apps.example.com')).toBe('*.apps.example.com')
    expect(cert.checkHost('a.b.apps.example.com')).toBeUndefined()
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']) // extKeyUsage serverAuth
    const f = forge.pki.certificateFromPem(leaf.certPem)
    expect(f.getExtension('keyUsage')).toMatchObject({critical: true, digitalSignature: true, keyEncipherment: true, keyCertSign: false})
    expect(f.getExtension('basicConstraints')).toMatchObject({critical: true, cA: false})
    expect(cert.checkPrivateKey(createPrivateKey(leaf.keyPem))).toBe(true)
    expect(cert.serialNumber).not.toBe(ca.serialNumber)
    expect(leaf.keyPem).not.toBe(root.keyPem)
  })

  it('signs with a given CA and honours --days and --key-size', () => {
    const other = createWildcard(root, {...opts, days: 90, keySize: 3072})
    const cert = new X509Certificate(other.certPem)
    expect(cert.checkIssued(new X509Certificate(root.certPem))).toBe(true)
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072)
    expect(Math.round((Date.parse(cert.validTo) - Date.now()) / DAY)).toBe(90)
  })
})

describe('certs: inspection', () => {
  it('accepts a certificate for the domain, with its key, not expiring within 30 days', () => {
    expect(inspectCert(leaf.certPem, leaf.keyPem, 'apps.example.com')).toMatchObject({usable: true})
  })
  it('refuses another domain, a mismatched key, and one expiring within 30 days', () => {
    expect(inspectCert(leaf.certPem, leaf.keyPem, 'apps.other.com').reason).toMatch(/not for \*\.apps\.other\.com/)
    expect(inspectCert(leaf.certPem, root.keyPem, 'apps.example.com').reason).toBe('the private key does not match the certificate')
    expect(inspectCert(leaf.certPem, leaf.keyPem, 'apps.example.com', new Date(Date.now() + 340 * DAY)).reason).toMatch(/within 30 days/)
    expect(inspectCert('garbage', undefined, 'apps.example.com').reason).toBe('the certificate cannot be parsed')
  })
  it('checks a given CA', () => {
    expect(caProblem(root)).toBeUndefined()
    expect(caProblem(leaf)).toMatch(/not a CA/)
    expect(caProblem({certPem: root.certPem, keyPem: leaf.keyPem})).toMatch(/does not match/)
  })
})

describe('certs: the TLS Secret', () => {
  const secretOf = (pair: {certPem: string; keyPem: string}, type = 'kubernetes.io/tls'): KObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type,
    metadata: {name: 'wildcard-certs', namespace: 'istio-system', labels: {keep: 'me'}},
    data: {'tls.crt': Buffer.from(pair.certPem).toString('base64'), 'tls.key': Buffer.from(pair.keyPem).toString('base64'), 'ca.crt': 'Y2E='},
  })
  it('is kubernetes.io/tls in the mesh namespace with tls.crt and tls.key', () => {
    const s = desiredTlsSecret(null, 'istio-system', 'wildcard-certs', leaf)
    expect(s).toMatchObject({apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: {name: 'wildcard-certs', namespace: 'istio-system'}})
    expect(Buffer.from(s.data['tls.crt'], 'base64').toString()).toBe(leaf.certPem)
    expect(Object.keys(s.data)).toEqual(['tls.crt', 'tls.key'])
  })
  it('keeps other keys and labels when it updates; tells when a Secret is usable', () => {
    const live = secretOf(createWildcard(root, {...opts, domain: 'old.example.com'}))
    expect(inspectSecret(live, 'apps.example.com').usable).toBe(false)
    const d = desiredTlsSecret(live, 'istio-system', 'wildcard-certs', leaf)
    expect(d.data['ca.crt']).toBe('Y2E=')
    expect(d.metadata.labels).toEqual({keep: 'me'})
    expect(inspectSecret(d, 'apps.example.com').usable).toBe(true)
  })
  it('refuses to turn a Secret of another type into a TLS Secret', () => {
    expect(() => planCertSecret(secretOf(leaf, 'Opaque'), 'istio-system', 'wildcard-certs', leaf)).toThrow(/exists with type Opaque, not kubernetes.io\/tls/)
    expect(inspectSecret(secretOf(leaf, 'Opaque'), 'apps.example.com').usable).toBe(false)
  })
})
