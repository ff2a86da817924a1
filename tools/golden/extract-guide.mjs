#!/usr/bin/env node
// Extracts the YAML the OpenShift Serverless 1.32 "Integrations" guide prints into
// test/fixtures/golden/guide/, for the golden tests (test/unit/golden.test.ts).
//
//   node tools/golden/extract-guide.mjs /work/shared/reference/openshift-serverless-1.32-integrations.txt
//
// Each block is copied as printed (placeholders such as <wildcard_certs> kept: the tests substitute
// them and say so), with only these edits, which the guide's rendering adds and YAML cannot carry:
//  - the block's indentation is removed;
//  - the callout numbers at line ends ("mtls: true 1") are removed, in order, as many as the block
//    has callouts (each one is asserted to be there);
//  - the elision lines "..." are removed (in YAML "..." would end the document).
// The script fails if a block's first line is not what it expects (a different edition of the guide).
import {readFileSync, writeFileSync, mkdirSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const guide = process.argv[2]
if (!guide) {
  console.error('usage: extract-guide.mjs GUIDE.txt')
  process.exit(2)
}
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'golden', 'guide')
const lines = readFileSync(guide, 'utf8').split('\n')

// [file, section, first line, last line (1-based, inclusive), callouts, expected first line]
const BLOCKS = [
  ['1.4.2-step1-smcp.yaml', '1.4.2 step 1', 137, 164, 4, 'apiVersion: maistra.io/v2'],
  ['1.4.2-step2-smmr.yaml', '1.4.2 step 2', 177, 186, 1, 'apiVersion: maistra.io/v1'],
  ['1.4.2-step4-gateways.yaml', '1.4.2 step 4', 201, 252, 3, 'apiVersion: networking.istio.io/v1alpha3'],
  ['1.4.3-step1-knativeserving.yaml', '1.4.3 step 1', 272, 293, 3, 'apiVersion: operator.knative.dev/v1beta1'],
  ['1.4.3-step3-knativeeventing.yaml', '1.4.3 step 3', 308, 333, 2, 'apiVersion: operator.knative.dev/v1beta1'],
  ['1.4.3-step5-knativekafka.yaml', '1.4.3 step 5', 346, 393, 3, 'apiVersion: operator.serverless.openshift.io/v1alpha1'],
  ['1.4.3-step7-kafka-serviceentry.yaml', '1.4.3 step 7', 406, 433, 2, 'apiVersion: networking.istio.io/v1alpha3'],
  ['1.4.4-step1-knative-service.yaml', '1.4.4 step 1', 457, 472, 3, 'apiVersion: serving.knative.dev/v1'],
  ['1.6-step3-networkpolicy.yaml', '1.6 step 3.1', 590, 604, 1, 'apiVersion: networking.k8s.io/v1'],
  ['2.3-step1-smmr.yaml', '2.3 step 1', 687, 700, 0, 'apiVersion: maistra.io/v1'],
  ['2.3-step2-default-authz-policies.yaml', '2.3 step 2', 707, 882, 0, 'apiVersion: security.istio.io/v1beta1'],
  ['2.4-step1-knative-services.yaml', '2.4 step 1', 948, 983, 0, 'apiVersion: serving.knative.dev/v1'],
]

mkdirSync(out, {recursive: true})
for (const [file, section, from, to, callouts, first] of BLOCKS) {
  const block = lines.slice(from - 1, to)
  if (block[0].trim() !== first) throw new Error(`${file}: line ${from} is ${JSON.stringify(block[0])}, expected ${JSON.stringify(first)}`)
  const indent = block[0].length - block[0].trimStart().length
  let body = block.filter((l) => l.trim() !== '...').map((l) => (l.slice(0, indent).trim() === '' ? l.slice(indent) : l))
  let next = 1
  body = body.map((l) => {
    if (next > callouts) return l
    const m = new RegExp(`^(.*\\S)\\s+${next}$`).exec(l)
    if (!m) return l
    next++
    return m[1]
  })
  if (next !== callouts + 1) throw new Error(`${file}: found ${next - 1} of ${callouts} callouts`)
  const head = `# OpenShift Serverless 1.32 "Integrations" guide, section ${section} (lines ${from}-${to} of the text edition),\n# extracted by tools/golden/extract-guide.mjs: indentation, callout numbers and "..." removed, nothing else.\n`
  writeFileSync(path.join(out, file), head + body.join('\n').replace(/\s+$/, '') + '\n')
  console.log(`${file}  <=  ${section}, lines ${from}-${to}`)
}
