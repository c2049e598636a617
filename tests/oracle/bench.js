// Times iam-simulate on the cross-account s3:GetObject case that the criterion bench
// `crates/policy-model/benches/eval.rs` uses (both read `cross_account_case.json`),
// so that one run reports both engines' medians:
// - `authorize()`: iam-simulate's core engine, policies already loaded;
// - `runSimulation()`: its public entry point, which also validates and loads the policies.
'use strict'

const fs = require('fs')
const path = require('path')
const { runSimulation } = require('@cloud-copilot/iam-simulate')
const { loadPolicy } = require('@cloud-copilot/iam-policy')

// The core engine is not exported: load it from its files.
const dist = path.join(__dirname, 'node_modules/@cloud-copilot/iam-simulate/dist/cjs')
const { authorize } = require(path.join(dist, 'core_engine/CoreSimulatorEngine.js'))
const { AwsRequestImpl } = require(path.join(dist, 'request/request.js'))
const { RequestContextImpl } = require(path.join(dist, 'requestContext.js'))
const { DiscoveryContextKeyConstraints } = require(path.join(dist, 'context_keys/discoveryContextKeyConstraints.js'))

const casePath = path.join(__dirname, '../../crates/policy-model/benches/cross_account_case.json')
const c = JSON.parse(fs.readFileSync(casePath, 'utf8'))

function median(samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** Median microseconds per call, measured in batches. */
function time(fn, batches = 200, perBatch = 50) {
  for (let i = 0; i < 2000; i++) fn() // warm up the JIT
  const samples = []
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < perBatch; i++) fn()
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / perBatch)
  }
  return median(samples)
}

async function timeAsync(fn, batches = 100, perBatch = 10) {
  for (let i = 0; i < 200; i++) await fn()
  const samples = []
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < perBatch; i++) await fn()
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / perBatch)
  }
  return median(samples)
}

async function main() {
  const identityPolicies = c.identity_policies.map((p, i) => loadPolicy(p, { name: `identity_policies[${i}]` }))
  const resourcePolicy = loadPolicy(c.resource_policy, { name: 'resource_policy' })
  const request = new AwsRequestImpl(
    c.principal,
    { resource: c.resource, accountId: c.resource_account },
    c.action,
    new RequestContextImpl(c.context),
    false
  )
  const authorizationRequest = {
    request,
    sessionPolicy: undefined,
    identityPolicies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: {
      simulationMode: 'Strict',
      discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([])
    }
  }
  const result = authorize(authorizationRequest).result
  if (result !== 'Allowed') throw new Error(`authorize() decided ${result}, expected Allowed`)
  const core = time(() => authorize(authorizationRequest))

  const simulation = {
    request: {
      principal: c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: c.resource_account },
      contextVariables: c.context
    },
    identityPolicies: c.identity_policies.map((policy, i) => ({ name: `identity_policies[${i}]`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: c.resource_policy
  }
  const full = await timeAsync(() => runSimulation(simulation, { simulationMode: 'Strict' }))

  console.log(JSON.stringify({ case: 'cross-account s3:GetObject, 10+10 statements', authorize_median_us: core, run_simulation_median_us: full }))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
