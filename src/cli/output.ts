/**
 * How commands print: `--output table` (aligned columns with a header, for people) or `--output json` (one JSON
 * document, for scripts), and progress on a terminal for long operations.
 */
import type { Command } from 'commander'
import type { CliContext } from './context.ts'
import { usageError } from './context.ts'

export type OutputFormat = 'table' | 'json'
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json']

export function addOutputOption(cmd: Command, help = 'table or json (default: $TRIBUTARY_OUTPUT or table)'): Command {
  return cmd.option('-o, --output <format>', help)
}

export function outputFormat(flags: { output?: string }, ctx: CliContext): OutputFormat {
  const raw = (flags.output ?? ctx.env.TRIBUTARY_OUTPUT ?? 'table').toLowerCase()
  if (!(OUTPUT_FORMATS as readonly string[]).includes(raw)) {
    throw usageError(`unknown output format '${raw}': use table or json`)
  }
  return raw as OutputFormat
}

export type Cell = string | number | bigint | boolean | null | undefined

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '-'
  return String(c)
}

/** Columns separated by two spaces, each as wide as its widest cell; the last column is not padded. */
export function formatTable(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) => r.map(cellText))
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return `${[line(columns), ...text.map(line)].join('\n')}\n`
}

/** JSON with bigints as numbers when they are exact, else as strings. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_k, v) => {
      if (typeof v === 'bigint') {
        return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : String(v)
      }
      if (v instanceof Map) return Object.fromEntries(v)
      if (Buffer.isBuffer(v)) return v.toString('base64')
      return v
    },
    indent,
  )
}

export interface Listing {
  columns: readonly string[]
  rows: readonly (readonly Cell[])[]
  /** What `--output json` prints. */
  json: unknown
  /** Printed instead of an empty table, e.g. "no ACLs". */
  empty: string
}

export function printListing(ctx: CliContext, format: OutputFormat, listing: Listing): void {
  if (format === 'json') {
    ctx.out(`${toJson(listing.json)}\n`)
  } else if (listing.rows.length === 0) {
    ctx.out(`${listing.empty}\n`)
  } else {
    ctx.out(formatTable(listing.columns, listing.rows))
  }
}

/** A one-line result: a sentence in table mode, a JSON object in json mode. */
export function printResult(ctx: CliContext, format: OutputFormat, sentence: string, json: unknown): void {
  ctx.out(format === 'json' ? `${toJson(json)}\n` : `${sentence}\n`)
}

/**
 * Progress of a long operation on standard error, redrawn in place, only when standard error is a terminal (so
 * pipes and logs stay clean). At most ten redraws a second.
 */
export class Progress {
  #last = 0
  #shown = false
  constructor(
    private readonly ctx: CliContext,
    private readonly label: string,
    private readonly total?: number,
  ) {}

  update(done: number): void {
    if (!this.ctx.interactive) return
    const now = Date.now()
    if (now - this.#last < 100 && done !== this.total) return
    this.#last = now
    const of = this.total === undefined ? '' : `/${this.total}`
    const pct = this.total ? ` (${Math.floor((done / this.total) * 100)}%)` : ''
    this.ctx.err(`\r${this.label}: ${done}${of}${pct}\u001b[K`)
    this.#shown = true
  }

  done(): void {
    if (this.#shown) this.ctx.err('\r\u001b[K')
    this.#shown = false
  }
}

export const plural = (n: number | bigint, one: string, many = `${one}s`): string =>
  `${n} ${n === 1 || n === 1n ? one : many}`
