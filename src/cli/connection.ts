/**
 * The connection options every client command shares: `--bootstrap`, SASL, TLS and the schema registry URL, taken
 * from flags, else TRIBUTARY_* environment variables, else a profile, else the local defaults (the broker and
 * registry of `npm start`). Light on purpose: no client library is loaded here.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { TributaryError } from '../errors.ts'
import type { CliContext } from './context.ts'
import { usageError } from './context.ts'
import { addOutputOption } from './output.ts'

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092'
export const DEFAULT_REGISTRY = 'http://127.0.0.1:8081'
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const
export type SaslMechanism = (typeof SASL_MECHANISMS)[number]

export interface ConnectionFlags {
  bootstrap?: string
  saslMechanism?: string
  username?: string
  password?: string
  tls?: boolean
  ca?: string
  profile?: string
  registry?: string
  output?: string
}

export interface Connection {
  bootstrap: string[]
  sasl?: { mechanism: SaslMechanism; username: string; password: string }
  /** Present when the listener speaks TLS; `ca` replaces the system CAs. */
  tls?: { ca?: Buffer }
  registry: string
  /** The profile the settings came from, if any. */
  profile?: string
}

/** Adds the connection and output options to a client command. */
export function addConnectionOptions(cmd: Command, options: { registry?: boolean; outputHelp?: string } = {}): Command {
  cmd
    .option(
      '--bootstrap <host:port,...>',
      `Kafka bootstrap servers (default: $TRIBUTARY_BOOTSTRAP or ${DEFAULT_BOOTSTRAP})`,
    )
    .option('--sasl-mechanism <m>', 'log in with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 ($TRIBUTARY_SASL_MECHANISM)')
    .option('--username <name>', 'SASL user ($TRIBUTARY_SASL_USERNAME)')
    .option('--password <pw>', 'SASL password ($TRIBUTARY_SASL_PASSWORD)')
    .option('--tls', 'connect with TLS, to an SSL or SASL_SSL listener ($TRIBUTARY_TLS=true)')
    .option('--ca <file>', 'PEM file of the CA that signed the broker certificate ($TRIBUTARY_TLS_CA)')
    .option('--profile <name>', 'connection profile from the profiles file ($TRIBUTARY_PROFILE)')
  if (options.registry) {
    cmd.option('--registry <url>', `schema registry URL (default: $TRIBUTARY_REGISTRY_URL or ${DEFAULT_REGISTRY})`)
  }
  return addOutputOption(cmd, options.outputHelp)
}

const PROFILE_KEYS = ['bootstrap', 'sasl-mechanism', 'username', 'password', 'tls', 'ca', 'registry'] as const
type ProfileKey = (typeof PROFILE_KEYS)[number]
type Profile = Partial<Record<ProfileKey, string | boolean>>

/** `$TRIBUTARY_PROFILES`, else `$XDG_CONFIG_HOME/tributary/profiles.json`, else `~/.config/tributary/profiles.json`. */
export function profilesFile(env: NodeJS.ProcessEnv): string {
  if (env.TRIBUTARY_PROFILES) return env.TRIBUTARY_PROFILES
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config')
  return join(config, 'tributary', 'profiles.json')
}

function loadProfile(name: string | undefined, env: NodeJS.ProcessEnv): { name?: string; profile: Profile } {
  const file = profilesFile(env)
  if (!existsSync(file)) {
    if (name !== undefined) throw usageError(`profile '${name}' not found: there is no profiles file ${file}`)
    return { profile: {} }
  }
  let doc: { current?: unknown; profiles?: unknown }
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new TributaryError('TRB_CONFIG_INVALID', `profiles file ${file} is not valid JSON: ${(err as Error).message}`)
  }
  const profiles = (doc.profiles ?? {}) as Record<string, Profile>
  if (typeof profiles !== 'object' || Array.isArray(profiles)) {
    throw new TributaryError('TRB_CONFIG_INVALID', `profiles file ${file}: "profiles" must be an object`)
  }
  const chosen = name ?? (typeof doc.current === 'string' ? doc.current : undefined)
  if (chosen === undefined) return { profile: {} }
  const profile = profiles[chosen]
  if (!profile || typeof profile !== 'object') {
    const known = Object.keys(profiles)
    throw usageError(
      `profile '${chosen}' not found in ${file}${known.length ? ` (profiles: ${known.join(', ')})` : ''}`,
    )
  }
  for (const key of Object.keys(profile)) {
    if (!(PROFILE_KEYS as readonly string[]).includes(key)) {
      throw new TributaryError(
        'TRB_CONFIG_INVALID',
        `profiles file ${file}, profile '${chosen}': unknown key '${key}' (known: ${PROFILE_KEYS.join(', ')})`,
      )
    }
  }
  return { name: chosen, profile }
}

function str(v: string | boolean | undefined): string | undefined {
  return v === undefined ? undefined : String(v)
}

function truthy(v: string | boolean | undefined): boolean {
  return v === true || (typeof v === 'string' && /^(1|true|yes|on)$/i.test(v))
}

/** host:port[,host:port...]; IPv6 literals in brackets. */
export function parseBootstrap(raw: string): string[] {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  if (list.length === 0) throw usageError('--bootstrap is empty: give host:port')
  for (const entry of list) {
    const m = /^(?:\[[^\]]+\]|[^:\s[\]]+):(\d+)$/.exec(entry)
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) {
      throw usageError(`bootstrap address '${entry}' is not host:port`)
    }
  }
  return list
}

export function resolveConnection(flags: ConnectionFlags, ctx: CliContext): Connection {
  const env = ctx.env
  const { name, profile } = loadProfile(flags.profile ?? (env.TRIBUTARY_PROFILE || undefined), env)
  const pick = (flag: string | undefined, envName: string, key: ProfileKey): string | undefined =>
    flag ?? (env[envName] || undefined) ?? str(profile[key])

  const bootstrap = parseBootstrap(pick(flags.bootstrap, 'TRIBUTARY_BOOTSTRAP', 'bootstrap') ?? DEFAULT_BOOTSTRAP)

  let sasl: Connection['sasl']
  const mechanismRaw = pick(flags.saslMechanism, 'TRIBUTARY_SASL_MECHANISM', 'sasl-mechanism')
  if (mechanismRaw) {
    const mechanism = mechanismRaw.toUpperCase() as SaslMechanism
    if (!SASL_MECHANISMS.includes(mechanism)) {
      throw usageError(`unknown SASL mechanism '${mechanismRaw}': use ${SASL_MECHANISMS.join(', ')}`)
    }
    const username = pick(flags.username, 'TRIBUTARY_SASL_USERNAME', 'username')
    const password = pick(flags.password, 'TRIBUTARY_SASL_PASSWORD', 'password')
    if (!username || password === undefined) {
      throw usageError(
        `SASL ${mechanism} needs a user and a password: --username and --password (or $TRIBUTARY_SASL_USERNAME and $TRIBUTARY_SASL_PASSWORD)`,
      )
    }
    sasl = { mechanism, username, password }
  } else if (flags.username !== undefined) {
    throw usageError('--username needs --sasl-mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)')
  }

  const caFile = pick(flags.ca, 'TRIBUTARY_TLS_CA', 'ca')
  const tlsOn = flags.tls === true || truthy(env.TRIBUTARY_TLS) || truthy(profile.tls) || caFile !== undefined
  let tls: Connection['tls']
  if (tlsOn) {
    tls = {}
    if (caFile) {
      try {
        tls.ca = readFileSync(caFile)
      } catch (err) {
        throw usageError(`cannot read the CA file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? err}`)
      }
    }
  }

  const registry = (pick(flags.registry, 'TRIBUTARY_REGISTRY_URL', 'registry') ?? DEFAULT_REGISTRY).replace(/\/+$/, '')
  if (!/^https?:\/\/[^\s]+$/.test(registry)) throw usageError(`registry URL '${registry}' is not http(s)://host:port`)

  return { bootstrap, sasl, tls, registry, profile: name }
}
