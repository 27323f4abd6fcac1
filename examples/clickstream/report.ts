/**
 * Prints the sessions published so far, one line per session, by user and start:
 *   node --import tsx examples/clickstream/report.ts [user-id]
 */
import { bootstrap, formatSession, sessions } from './io.ts'

const user = process.argv[2]
const all = (await sessions(bootstrap)).filter((s) => user === undefined || s.user === user)
if (all.length === 0) console.log('no sessions yet')
for (const s of all) console.log(formatSession(s))
