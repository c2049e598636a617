// Decides a batch of xacct `simulate` cases with @cloud-copilot/iam-simulate.
//
// Reads a JSON array of cases (docs/ "simulate case format") on stdin and
// prints a JSON array with one object per case, in order:
// {"decision": "allowed" | "implicitDeny" | "explicitDeny"} or {"error": "..."}.
'use strict'

const { runSimulation } = require('@cloud-copilot/iam-simulate')

const DECISIONS = {
  Allowed: 'allowed',
  ImplicitlyDenied: 'implicitDeny',
  ExplicitlyDenied: 'explicitDeny'
}

function named(prefix, policies) {
  return (policies || []).map((policy, i) => ({ name: `${prefix}[${i}]`, policy }))
}

function levels(prefix, lists) {
  return (lists || []).map((level, l) => ({
    orgIdentifier: `${prefix}-level-${l}`,
    policies: named(`${prefix}[${l}]`, level)
  }))
}

function resourceAccount(c) {
  if (c.resource_account) return c.resource_account
  const account = (c.resource || '').split(':')[4]
  return account || ''
}

function toSimulation(c) {
  const simulation = {
    request: {
      principal: c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: resourceAccount(c) },
      contextVariables: c.context || {}
    },
    identityPolicies: named('identity_policies', c.identity_policies),
    serviceControlPolicies: levels('scps', c.scps),
    resourceControlPolicies: levels('rcps', c.rcps)
  }
  if (c.resource_policy) simulation.resourcePolicy = c.resource_policy
  if (c.permission_boundaries && c.permission_boundaries.length > 0) {
    simulation.permissionBoundaryPolicies = named('permission_boundaries', c.permission_boundaries)
  }
  if (c.session_policy) simulation.sessionPolicy = c.session_policy
  return simulation
}

async function decide(c) {
  try {
    const response = await runSimulation(toSimulation(c), { simulationMode: 'Strict' })
    if (response.resultType === 'error') {
      return { error: JSON.stringify(response.errors) }
    }
    return { decision: DECISIONS[response.overallResult] || response.overallResult }
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) }
  }
}

async function main() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const out = []
  for (const c of cases) out.push(await decide(c))
  process.stdout.write(JSON.stringify(out))
}

module.exports = { decide }

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(String(e && e.stack ? e.stack : e) + '\n')
    process.exit(1)
  })
}
