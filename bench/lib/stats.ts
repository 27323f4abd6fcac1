/** Small statistics for benchmark samples. */

export interface Spread {
  min: number
  median: number
  max: number
  samples: number[]
}

export function spread(samples: number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b)
  return { min: sorted[0] ?? Number.NaN, median: median(sorted), max: sorted.at(-1) ?? Number.NaN, samples }
}

function median(sorted: number[]): number {
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Nearest-rank percentile (p in 0..100) of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

export function ratio(a: number, b: number): number {
  return b > 0 && Number.isFinite(a) ? a / b : Number.NaN
}
