/**
 * Runs the code blocks of README.md and docs/**\/*.md as written, against the platform of `npm start` (broker and
 * schema registry), so the documentation cannot drift from what works. docs/contributing-docs.md describes the
 * rules for authors; in short:
 *
 * - Every fenced block names its language. ```ts / ```typescript blocks run as files with `node --import tsx`;
 *   ```sh / ```bash / ```shell blocks run with `bash -eo pipefail`. Both must exit 0 (or the code of an
 *   `exit: N` marker), within a time limit, so an example that never ends fails. Other languages (```text,
 *   ```json, ```properties, ...) are data and output samples and are not run.
 * - Markers are HTML comments on the lines right above a block:
 *   `<!-- not-run: why -->` skips a runnable block (a reason is required; keep these rare),
 *   `<!-- file: name -->` writes the block into the working directory (e.g. broker.properties) before later blocks,
 *   `<!-- background: text -->` runs a block that starts servers, in the background, until its output shows `text`;
 *     it replaces the servers running before it (the platform, or an earlier background block),
 *   `<!-- service: text -->` runs a block in the background beside the servers (a consumer that stays in its group,
 *     say) until its output shows `text`; it is stopped with them,
 *   `<!-- requires: kcat -->` marks a block that needs a Debian package: the interop suite runs those docs,
 *   `<!-- exit: N -->` expects exit code N, `<!-- prints: text -->` expects `text` in standard output.
 * - Each document runs in order in a fresh temporary directory set up like an application that installed the
 *   package (node_modules/tributary and its bin, so `npx tributary` and `import 'tributary/...'` work), with HOME
 *   there too. Before the first block that needs it, the platform is started as `npm start` does
 *   (`tributary dev`), with a fresh data directory.
 * - Documented ports are rewritten to free loopback ports chosen per document: 9092 is the broker, 8081 the
 *   registry, 8082 the REST proxy and 9464 the metrics of that platform; 9093-9095 and 19092 get ports of their own. Commands that rely on the
 *   defaults (127.0.0.1:9092, http://127.0.0.1:8081) are pointed there by TRIBUTARY_BOOTSTRAP and
 *   TRIBUTARY_REGISTRY_URL. Snippets may only name loopback hosts (127.0.0.1, localhost).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { root } from './cli.ts'

export const RUNNABLE = new Set(['ts', 'typescript', 'sh', 'bash', 'shell'])
const MARKERS = new Set(['not-run', 'file', 'background', 'service', 'requires', 'exit', 'prints'])
export const DOC_PORTS = ['9092', '8081', '9093', '9094', '9095', '19092', '8082', '9464'] as const

export interface Block {
  doc: string
  line: number
  lang: string
  text: string
  notRun?: string
  file?: string
  background?: string
  service?: string
  requires: string[]
  exit: number
  prints: string[]
}

/** README.md and every .md under docs/, relative to the repository. */
export function documents(): string[] {
  const out = ['README.md']
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (e.isDirectory()) walk(join(dir, e.name))
      else if (e.name.endsWith('.md')) out.push(join(dir, e.name))
    }
  }
  walk('docs')
  return out
}

/** The fenced blocks of a document with their markers; problems (untagged fences, bad markers) are returned. */
export function parseDocument(doc: string): { blocks: Block[]; problems: string[] } {
  const lines = readFileSync(join(root, doc), 'utf8').split('\n')
  const blocks: Block[] = []
  const problems: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(.*)$/.exec(lines[i]!)
    if (!open) continue
    const indent = open[1]!.length
    const lang = open[2]!.trim().split(/\s+/)[0] ?? ''
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++)
      body.push(lines[j]!.slice(Math.min(indent, lines[j]!.search(/\S|$/))))
    if (j >= lines.length) problems.push(`${doc}:${i + 1}: unclosed code block`)
    const block: Block = { doc, line: i + 1, lang, text: `${body.join('\n')}\n`, requires: [], exit: 0, prints: [] }
    if (!lang) problems.push(`${doc}:${i + 1}: a code block without a language (use text for output samples)`)
    // Markers: the comment lines right above the fence (blank lines between are allowed).
    for (let k = i - 1; k >= 0; k--) {
      const l = lines[k]!.trim()
      if (l === '') continue
      const m = /^<!--\s*([a-z-]+)\s*:?\s*(.*?)\s*-->$/.exec(l)
      if (!m) break
      const [, name, value] = m
      if (!MARKERS.has(name!)) {
        problems.push(`${doc}:${k + 1}: unknown snippet marker '${name}'`)
        continue
      }
      if (name === 'not-run') {
        if (!value) problems.push(`${doc}:${k + 1}: not-run needs a reason`)
        block.notRun = value
      } else if (name === 'file') block.file = value
      else if (name === 'background') block.background = value
      else if (name === 'service') block.service = value
      else if (name === 'requires') block.requires.push(...value!.split(/[\s,]+/).filter(Boolean))
      else if (name === 'exit') block.exit = Number(value)
      else if (name === 'prints') block.prints.push(value!)
      if ((name === 'file' || name === 'background' || name === 'service') && !value)
        problems.push(`${doc}:${k + 1}: ${name} needs a value`)
    }
    if ((block.background || block.service) && !/^(sh|bash|shell)$/.test(lang)) {
      problems.push(`${doc}:${block.line}: background and service blocks are shell blocks`)
    }
    blocks.push(block)
    i = j
  }
  return { blocks, problems }
}

export function runsBlock(b: Block): boolean {
  return b.file !== undefined || (RUNNABLE.has(b.lang) && b.notRun === undefined)
}

/** Loopback only: any host:port a runnable block names must be 127.0.0.1, localhost or [::1]. */
export function nonLoopbackTargets(b: Block): string[] {
  const out: string[] = []
  for (const m of b.text.matchAll(/(?:\/\/|@|\s|^|["'=,])([a-zA-Z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{2,5})\b/gm)) {
    const host = m[1]!
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host) && !/^\d+$/.test(host)) out.push(`${host}:${m[2]}`)
  }
  return out
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

interface Server {
  child: ChildProcess
  exited: Promise<void>
  output(): string
}

/** One document's run: its working directory, port map and servers. */
export class DocSession {
  readonly work: string
  readonly ports = new Map<string, number>()
  #servers: Server | undefined
  #services: Server[] = []
  #platformWanted = true
  #n = 0

  private constructor(readonly doc: string) {
    this.work = mkdtempSync(join(tmpdir(), 'tributary-docs-'))
  }

  static async open(doc: string): Promise<DocSession> {
    const s = new DocSession(doc)
    for (const p of DOC_PORTS) s.ports.set(p, await freePort())
    s.#layout()
    return s
  }

  /** An application directory that installed tributary: node_modules/{tributary,<its dependencies>,.bin}. */
  #layout(): void {
    writeFileSync(join(this.work, 'package.json'), '{ "name": "docs-app", "private": true, "type": "module" }\n')
    const nm = join(this.work, 'node_modules')
    mkdirSync(join(nm, '.bin'), { recursive: true })
    for (const e of readdirSync(join(root, 'node_modules'))) {
      if (e !== '.bin' && !e.startsWith('.')) symlinkSync(join(root, 'node_modules', e), join(nm, e))
    }
    for (const e of readdirSync(join(root, 'node_modules', '.bin'))) {
      symlinkSync(join(root, 'node_modules', '.bin', e), join(nm, '.bin', e))
    }
    symlinkSync(root, join(nm, 'tributary'))
    symlinkSync(join('..', 'tributary', 'bin', 'tributary.js'), join(nm, '.bin', 'tributary'))
  }

  rewrite(text: string): string {
    return text.replace(new RegExp(`\\b(${DOC_PORTS.join('|')})\\b`, 'g'), (p) => String(this.ports.get(p)))
  }

  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('TRIBUTARY_') && !k.startsWith('npm_') && k !== 'NODE_OPTIONS') env[k] = v
    }
    return {
      ...env,
      HOME: this.work,
      // Commands and clients that rely on the defaults (127.0.0.1:9092, http://127.0.0.1:8081) reach this
      // document's ports too.
      TRIBUTARY_BOOTSTRAP: `127.0.0.1:${this.ports.get('9092')}`,
      TRIBUTARY_REGISTRY_URL: `http://127.0.0.1:${this.ports.get('8081')}`,
      PATH: `${join(this.work, 'node_modules', '.bin')}:${process.env.PATH}`,
      // npx must find the installed bin, never download a package.
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
    }
  }

  async #startServer(args: string[], ready: string, what: string, beside = false): Promise<void> {
    if (!beside) await this.stopServers()
    const child = spawn(args[0]!, args.slice(1), {
      cwd: this.work,
      env: this.env(),
      detached: true, // its own process group: stopping it stops everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const server = { child, exited, output: () => out }
    if (beside) this.#services.push(server)
    else this.#servers = server
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: no "${ready}" within 120 s:\n${out}`)), 120_000)
      const onData = (d: Buffer) => {
        out += d.toString()
        if (out.includes(ready)) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      exited.then(() => {
        clearTimeout(timer)
        reject(new Error(`${what} exited before "${ready}":\n${out}`))
      })
    })
  }

  /** The platform as `npm start` runs it (node bin/tributary.js dev), on this document's ports. */
  async ensurePlatform(): Promise<void> {
    if (this.#servers || !this.#platformWanted) return
    await this.#startServer(
      [
        process.execPath,
        join(root, 'bin', 'tributary.js'),
        'dev',
        '--data-dir',
        join(this.work, '.platform-data'),
        '--port',
        String(this.ports.get('9092')),
        '--registry-port',
        String(this.ports.get('8081')),
        '--rest-proxy-port',
        String(this.ports.get('8082')),
        '--metrics-port',
        String(this.ports.get('9464')),
      ],
      'schema registry started',
      'npm start (tributary dev)',
    )
  }

  async stopServers(): Promise<void> {
    const all = [...this.#services.reverse(), this.#servers]
    this.#services = []
    this.#servers = undefined
    for (const s of all) await stop(s)
  }

  /** Runs one block; throws with the block's location and output when it fails. */
  async run(b: Block): Promise<void> {
    const where = `${b.doc}:${b.line}`
    const text = this.rewrite(b.text)
    if (b.file !== undefined) {
      const path = join(this.work, b.file)
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, text)
      return
    }
    if (b.background) {
      // The servers this block starts take the place of the platform for the rest of the document.
      this.#platformWanted = false
      await this.#startServer(['bash', '-eo', 'pipefail', '-c', text], b.background, `${where} (background)`)
      return
    }
    if (!this.#servers) await this.ensurePlatform()
    if (b.service) {
      await this.#startServer(['bash', '-eo', 'pipefail', '-c', text], b.service, `${where} (service)`, true)
      return
    }
    let args: string[]
    if (b.lang === 'ts' || b.lang === 'typescript') {
      const file = join(this.work, `snippet-${++this.#n}.ts`)
      writeFileSync(file, text)
      args = [process.execPath, '--import', 'tsx', file]
    } else {
      args = ['bash', '-eo', 'pipefail', '-c', text]
    }
    const { code, output, stdout } = await runProcess(args, this.work, this.env(), 180_000)
    const serverLog = this.#servers ? `\n--- server output ---\n${this.#servers.output().slice(-4000)}` : ''
    if (code !== b.exit) {
      throw new Error(
        `${where}: exited with ${code} (expected ${b.exit})\n--- block ---\n${text}--- output ---\n${output}${serverLog}`,
      )
    }
    for (const p of b.prints) {
      if (!stdout.includes(this.rewrite(p))) {
        throw new Error(`${where}: expected the output to include "${p}"\n--- output ---\n${output}`)
      }
    }
  }

  async close(): Promise<void> {
    await this.stopServers()
    rmSync(this.work, { recursive: true, force: true })
  }
}

async function stop(s: Server | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return
  try {
    process.kill(-s.child.pid!, 'SIGTERM')
  } catch {}
  const killer = setTimeout(() => {
    try {
      process.kill(-s.child.pid!, 'SIGKILL')
    } catch {}
  }, 15_000)
  await s.exited
  // The shell that led the group is gone; its children (a broker finishing its shutdown) may not be yet. Wait for
  // the whole process group to be gone before the data directory is removed.
  while (groupAlive(s.child.pid!)) await new Promise((r) => setTimeout(r, 20))
  clearTimeout(killer)
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

function runProcess(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | string; output: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(args[0]!, args.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let stdout = ''
    child.stdout!.on('data', (d) => {
      output += d
      stdout += d
    })
    child.stderr!.on('data', (d) => {
      output += d
    })
    const timer = setTimeout(() => {
      output += `\n[still running after ${timeoutMs / 1000} s: killed]`
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    }, timeoutMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      // Anything the block left running in the background goes with it; then its output is complete.
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
      child.once('close', () => resolve({ code: code ?? `signal ${signal}`, output, stdout }))
    })
  })
}
