import {describe, expect, it} from 'vitest'
import {closest} from '../../src/mesh/names.js'
import {shellQuote} from '../../src/commands/setup.js'

describe('closest: "did you mean" for verbs and namespaces (issue 18 items 6, 11)', () => {
  it('finds typos and swapped letters, and nothing for unrelated words', () => {
    const verbs = ['status', 'setup', 'precheck', 'probe', 'certs']
    expect(closest('stauts', verbs)).toBe('status')
    expect(closest('statsu', verbs)).toBe('status')
    expect(closest('prob', verbs)).toBe('probe')
    expect(closest('istio-sytem', ['istio-system', 'knative-serving'])).toBe('istio-system')
    expect(closest('zzz', verbs)).toBeUndefined()
    expect(closest('status', verbs)).toBeUndefined() // itself is not a suggestion
  })
})

describe("shellQuote: setup's resume line reads back as typed", () => {
  it('leaves safe words alone and quotes the rest', () => {
    expect(shellQuote('--namespaces')).toBe('--namespaces')
    expect(shellQuote('team-a=team-a-1,team-a-2')).toBe('team-a=team-a-1,team-a-2')
    expect(shellQuote('')).toBe("''")
    expect(shellQuote('/tmp/my certs')).toBe("'/tmp/my certs'")
    expect(shellQuote("it's")).toBe("'it'\\''s'")
  })
})
