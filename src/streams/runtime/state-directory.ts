/**
 * The application's local state directory (`<state.dir>/<application.id>/`), as Kafka Streams lays it out: one
 * directory per task holding its persistent stores and a `.checkpoint` file (changelog offsets of what the stores
 * hold, in Kafka Streams' text format), a process id that survives restarts, and a lock so that two instances
 * never share one directory.
 */
import { randomUUID } from 'node:crypto'
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { streamsError } from '../errors.ts'

export const CHECKPOINT_FILE = '.checkpoint'
const PROCESS_FILE = 'kafka-streams-process-metadata'
const LOCK_FILE = '.lock'
const TASK_DIR = /^\d+_\d+$/

/** store changelog partition (`topic:partition`) → offset of the last record the store holds. */
export type Checkpoint = Map<string, number>

export function readCheckpoint(path: string): Checkpoint | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const lines = text.split('\n').filter((l) => l.trim().length > 0)
  const version = Number(lines[0])
  const count = Number(lines[1])
  if (version !== 0 || !Number.isInteger(count) || lines.length - 2 !== count) {
    throw streamsError('TRB_STREAMS_ILLEGAL_STATE', `checkpoint file ${path} is malformed`)
  }
  const out: Checkpoint = new Map()
  for (const line of lines.slice(2)) {
    const parts = line.trim().split(' ')
    const offset = Number(parts.pop())
    const partition = Number(parts.pop())
    const topic = parts.join(' ')
    if (!topic || !Number.isInteger(partition) || !Number.isFinite(offset)) {
      throw streamsError('TRB_STREAMS_ILLEGAL_STATE', `checkpoint file ${path} has a malformed line: ${line}`)
    }
    out.set(`${topic}:${partition}`, offset)
  }
  return out
}

/** Writes a checkpoint atomically (a crash leaves the old file or the new one, never half of one). */
export function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  const lines = ['0', String(checkpoint.size)]
  for (const [tp, offset] of checkpoint) {
    const at = tp.lastIndexOf(':')
    lines.push(`${tp.slice(0, at)} ${tp.slice(at + 1)} ${offset}`)
  }
  const tmp = `${path}.tmp`
  writeFileSync(tmp, `${lines.join('\n')}\n`)
  renameSync(tmp, path)
}

/** Directories locked by this process (the lock file alone cannot tell two instances of one process apart). */
const lockedHere = new Set<string>()

export class StateDirectory {
  readonly root: string
  readonly #lockPath: string
  #locked = false

  constructor(stateDir: string, applicationId: string) {
    this.root = join(stateDir, applicationId)
    this.#lockPath = join(this.root, LOCK_FILE)
  }

  /** Takes the directory for this process; refuses when a live process holds it. */
  lock(): void {
    if (lockedHere.has(this.root)) {
      throw streamsError(
        'TRB_STREAMS_STATE_DIR_LOCKED',
        `state directory ${this.root} is in use by another KafkaStreams of this process: give each its own state.dir`,
      )
    }
    mkdirSync(this.root, { recursive: true })
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.#lockPath, 'wx')
        writeFileSync(fd, String(process.pid))
        closeSync(fd)
        this.#locked = true
        lockedHere.add(this.root)
        return
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const holder = Number(readFileSync(this.#lockPath, 'utf8').trim())
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
          throw streamsError(
            'TRB_STREAMS_STATE_DIR_LOCKED',
            `state directory ${this.root} is in use by process ${holder}: give each instance its own state.dir`,
          )
        }
        // Left behind by a process that died (or by this one): take it over.
        rmSync(this.#lockPath, { force: true })
      }
    }
    throw streamsError('TRB_STREAMS_STATE_DIR_LOCKED', `cannot lock state directory ${this.root}`)
  }

  unlock(): void {
    if (!this.#locked) return
    this.#locked = false
    lockedHere.delete(this.root)
    rmSync(this.#lockPath, { force: true })
  }

  /** The process id, created once and kept across restarts. */
  processId(): string {
    const path = join(this.root, PROCESS_FILE)
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as { processId?: string }
      if (typeof parsed.processId === 'string' && parsed.processId) return parsed.processId
    } catch {
      // absent or unreadable: make a new one
    }
    const id = randomUUID()
    mkdirSync(this.root, { recursive: true })
    writeFileSync(path, JSON.stringify({ processId: id }))
    return id
  }

  taskDir(taskId: string): string {
    return join(this.root, taskId)
  }

  checkpointPath(taskId: string): string {
    return join(this.taskDir(taskId), CHECKPOINT_FILE)
  }

  readCheckpoint(taskId: string): Checkpoint | undefined {
    return readCheckpoint(this.checkpointPath(taskId))
  }

  writeCheckpoint(taskId: string, checkpoint: Checkpoint): void {
    mkdirSync(this.taskDir(taskId), { recursive: true })
    writeCheckpoint(this.checkpointPath(taskId), checkpoint)
  }

  deleteCheckpoint(taskId: string): void {
    rmSync(this.checkpointPath(taskId), { force: true })
  }

  /** Removes a task's local state (its stores are rebuilt from the changelog). */
  wipeTask(taskId: string): void {
    rmSync(this.taskDir(taskId), { recursive: true, force: true })
  }

  /** Tasks with state on disk → the sum of their checkpointed offsets (how caught up they are; -1 unknown). */
  tasksWithState(): Record<string, number> {
    const out: Record<string, number> = {}
    if (!existsSync(this.root)) return out
    for (const name of readdirSync(this.root)) {
      if (!TASK_DIR.test(name)) continue
      try {
        if (!statSync(join(this.root, name)).isDirectory()) continue
        const cp = this.readCheckpoint(name)
        out[name] = cp ? [...cp.values()].reduce((a, b) => a + b + 1, 0) : -1
      } catch {
        out[name] = -1
      }
    }
    return out
  }

  /** Deletes all local state of the application (KafkaStreams.cleanUp()). */
  cleanUp(): void {
    for (const name of existsSync(this.root) ? readdirSync(this.root) : []) {
      if (name === LOCK_FILE || name === PROCESS_FILE) continue
      rmSync(join(this.root, name), { recursive: true, force: true })
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
