import { TributaryError, type TributaryErrorCode } from '../errors.ts'
import { resolveBootstrap } from './clients.ts'

const NETWORK_HINTS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing is listening there; is the broker running, on that port?',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (DNS)',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset by the server (a TLS or SASL listener answered plain Kafka?)',
}

/**
 * The Kafka client reports an unreachable cluster as "metadata failed 4 times." with the causes nested inside.
 * This names the bootstrap address and the distinct causes at the bottom of that tree (e.g. ECONNREFUSED), as a
 * TributaryError with `code` (a TributaryError, e.g. a bad bootstrap address, is returned unchanged).
 */
export function kafkaUnreachable(
  bootstrap: string | string[] | undefined,
  doing: string,
  err: unknown,
  code: TributaryErrorCode = 'TRB_CLIENT_KAFKA_UNREACHABLE',
): Error {
  if (err instanceof TributaryError) return err
  let addresses: string
  try {
    addresses = resolveBootstrap(bootstrap).join(',')
  } catch (e) {
    return e as Error
  }
  const causes = new Set<string>()
  const walk = (e: unknown, depth: number): void => {
    if (!e || typeof e !== 'object' || depth > 8) return
    const nested = [...((e as { errors?: unknown[] }).errors ?? []), (e as { cause?: unknown }).cause].filter(Boolean)
    if (nested.length > 0) {
      for (const n of nested) walk(n, depth + 1)
      return
    }
    const errno = (e as { code?: string }).code
    const message = (e as Error).message
    causes.add(errno && NETWORK_HINTS[errno] ? `${message} (${NETWORK_HINTS[errno]})` : message)
  }
  walk(err, 0)
  const why = causes.size > 0 ? [...causes].join('; ') : String((err as Error)?.message ?? err)
  return new TributaryError(code, `cannot reach Kafka at ${addresses} while ${doing}: ${why}`, { cause: err })
}
