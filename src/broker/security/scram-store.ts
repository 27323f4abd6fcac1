/** SCRAM credentials per user and mechanism, kept in the metadata log (keys `scram:<mechanism>:<user>`). */
import type { MetadataLog } from '../metadata-log.ts'
import type { ScramCredential, ScramMechanism } from './scram.ts'

export class ScramCredentialStore {
  private readonly credentials = new Map<string, ScramCredential>()

  constructor(private readonly log: MetadataLog) {
    log.register('scram:', (key, rec) => {
      if (rec?.type === 'scram-credential') this.credentials.set(key, rec.credential)
      else this.credentials.delete(key)
    })
  }

  scramCredential(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.credentials.get(`scram:${mechanism}:${user}`)
  }

  /** Every user with SCRAM credentials, with the mechanisms and iteration counts (never the keys). */
  scramUsers(): Map<string, ScramCredential[]> {
    const out = new Map<string, ScramCredential[]>()
    for (const [key, cred] of this.credentials) {
      const user = key.slice(`scram:${cred.mechanism}:`.length)
      out.set(user, [...(out.get(user) ?? []), cred])
    }
    return out
  }

  /** Stores (or, with null, deletes) one user's credential for one mechanism, durably. */
  setScramCredential(user: string, mechanism: ScramMechanism, credential: ScramCredential | null): Promise<void> {
    const key = `scram:${mechanism}:${user}`
    return this.log.write(key, credential ? { type: 'scram-credential', user, credential } : null)
  }
}
