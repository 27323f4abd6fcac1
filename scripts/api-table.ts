/**
 * Prints the Markdown table of APIs and versions the broker serves (used in docs/broker/compatibility.md).
 *   node --import tsx scripts/api-table.ts
 */
import { allHandlers } from '../src/broker/handlers/index.ts'
import { apiCodecs } from '../src/protocol/generated/api-table.ts'

console.log('| API | key | versions served | flexible from |')
console.log('| --- | --- | --- | --- |')
for (const h of [...allHandlers].sort((a, b) => a.apiKey - b.apiKey)) {
  const codec = apiCodecs.get(h.apiKey)!
  const flex = codec.flexibleMin >= 0 && codec.flexibleMin <= h.maxVersion ? `v${codec.flexibleMin}` : '—'
  console.log(`| ${codec.name} | ${h.apiKey} | ${h.minVersion}–${h.maxVersion} | ${flex} |`)
}
