// The plain serdes are the serde module's; the registry re-exports them for existing imports.
export { BytesSerde, JsonSerde, StringSerde } from '../../serde/plain.ts'
export type { Serde } from '../../serde/serde.ts'
