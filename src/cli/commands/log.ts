/**
 * `tributary log verify --data-dir DIR`: checks the framing, CRC-32C and records of every segment of a broker's data
 * directory (like `kafka-dump-log --verify`), reading files only. Prints one line per segment as it goes, details
 * under damaged ones and a summary; exits with status 1 when anything is damaged.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import { TributaryError } from '../../errors.ts'

export function registerLogCommands(program: Command): void {
  const log = program.command('log').description("inspect a broker's log files")
  log
    .command('verify')
    .description('check every segment of a data directory: batch framing, CRC-32C, records, offsets, indexes')
    .requiredOption('--data-dir <dir>', 'the broker data directory')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { dataDir: string; json?: boolean }) => {
      const dir = path.resolve(flags.dataDir)
      let stat: fs.Stats
      try {
        stat = fs.statSync(dir)
      } catch {
        throw new TributaryError('TRB_CLI_NOT_FOUND', `data directory ${dir} does not exist`)
      }
      if (!stat.isDirectory()) throw new TributaryError('TRB_CLI_USAGE', `${dir} is not a directory`)
      const owner = runningBroker(dir)
      if (owner !== null) {
        process.stderr.write(
          `note: a broker (pid ${owner}) is using ${dir}; the newest segments may be in the middle of a write\n`,
        )
      }
      // Loaded here so that other commands start without the log's modules.
      const { formatSegment, formatSummary, verifyDataDir } = await import('../../log/verify.ts')
      const report = await verifyDataDir(dir, (s) => {
        if (!flags.json) process.stdout.write(`${formatSegment(s).join('\n')}\n`)
      })
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      const summary = formatSummary(report)
      if (report.damagedSegments > 0) throw new TributaryError('TRB_LOG_DAMAGED', summary)
      if (!flags.json) process.stdout.write(`${summary}\n`)
    })
}

/** The pid in the data directory's lock file, if that process is alive. */
function runningBroker(dir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, '.lock'), 'utf8').trim())
    if (!Number.isInteger(pid) || pid <= 0) return null
    process.kill(pid, 0)
    return pid
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? -1 : null
  }
}
