/**
 * Prints the conversions (purchase → ad → campaign) and the clicks per campaign published so far:
 *   node --import tsx examples/ad-conversions/report.ts
 */
import { bootstrap, campaignClicks, readAll } from './io.ts'
import { type Conversion, Topics } from './topology.ts'

/** The conversions published so far, by order id. */
export async function conversions(bootstrapServers: string): Promise<Map<string, Conversion>> {
  const out = new Map<string, Conversion>()
  for (const r of await readAll(bootstrapServers, Topics.conversions)) {
    const c = JSON.parse(r.value.toString()) as Conversion
    out.set(c.orderId, c)
  }
  return new Map([...out].sort(([x], [y]) => (x < y ? -1 : 1)))
}

export function formatConversion(c: Conversion): string {
  return `${c.orderId}: ${c.userId} paid ${c.amount} after ad ${c.adId} (${c.campaign}, ${c.advertiser})`
}

if (import.meta.filename === process.argv[1]) {
  const all = await conversions(bootstrap)
  if (all.size === 0) console.log('no conversions yet')
  for (const c of all.values()) console.log(formatConversion(c))
  for (const [campaign, n] of [...(await campaignClicks(bootstrap))].sort()) console.log(`${campaign}: ${n} clicks`)
}
