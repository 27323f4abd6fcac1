/** The ACL bindings of the cluster, kept in the metadata log (keys `acl:...`). */
import type { MetadataLog } from '../metadata-log.ts'
import type { AclBinding } from './acl.ts'

function aclKey(b: AclBinding): string {
  return `acl:${JSON.stringify([b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permissionType])}`
}

export class AclStore {
  private readonly bindings = new Map<string, AclBinding>()
  private version = 0
  private snapshot: { version: number; bindings: AclBinding[] } | undefined

  constructor(private readonly log: MetadataLog) {
    log.register('acl:', (key, rec) => {
      if (rec?.type === 'acl') this.bindings.set(key, rec.acl)
      else this.bindings.delete(key)
      this.version++
    })
  }

  /** The ACL set; `version` changes with every change so readers can cache indexes. Called per authorization. */
  acls(): { version: number; bindings: AclBinding[] } {
    if (this.snapshot?.version !== this.version) {
      this.snapshot = { version: this.version, bindings: [...this.bindings.values()] }
    }
    return this.snapshot
  }

  /** Adds an ACL binding durably; adding one that exists changes nothing. */
  async addAcl(acl: AclBinding): Promise<void> {
    const key = aclKey(acl)
    if (!this.bindings.has(key)) await this.log.write(key, { type: 'acl', acl })
  }

  async removeAcl(acl: AclBinding): Promise<void> {
    const key = aclKey(acl)
    if (this.bindings.has(key)) await this.log.write(key, null)
  }
}
