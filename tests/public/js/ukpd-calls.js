// Runs `ukpd` (a police.uk client from npm) method by method and prints what each returned,
// as one JSON array, for tests/public/test_real_clients.py. Usage:
//   POLICE_UK_BASE_URL=http://127.0.0.1:PORT node --require ./police-uk-base.js ukpd-calls.js \
//     '[["forces", []], ["streetLevel", [51.515, -0.09, "2024-03"]]]'
'use strict'

const UKPD = require('ukpd')

async function main () {
  const calls = JSON.parse(process.argv[2])
  const answers = []
  for (const [method, args] of calls) {
    try {
      answers.push({ method, args, result: await UKPD[method](...args) })
    } catch (error) {
      answers.push({ method, args, error: String(error) })
    }
  }
  process.stdout.write(JSON.stringify(answers))
}

main().catch((error) => { console.error(error); process.exit(1) })
