/**
 * Coded errors. Every error Tributary raises on purpose carries a stable `code` (TRB_*) that callers and tests
 * can match on, independent of the message text.
 */
export class TributaryError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'TributaryError'
  }
}
