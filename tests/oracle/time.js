// Decides a file of xacct `simulate` cases with iam-simulate, as a whole process, so that
// `cargo xtask bench` can time it against `xtask simulate --input` on the same file:
//   node time.js <cases.json>
// Prints one JSON array with a {"decision"} or {"error"} per case, as run.js does.
'use strict'

const fs = require('fs')
const { decide } = require('./run.js')

async function main() {
  const file = process.argv[2]
  if (!file) throw new Error('usage: node time.js <cases.json>')
  const cases = JSON.parse(fs.readFileSync(file, 'utf8'))
  const out = []
  for (const c of cases) out.push(await decide(c))
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n')
  process.exit(1)
})
