/** What the embedded authoritative DNS server serves: a provider emulator or the in-memory solver's store. */
export interface DnsRecordSource {
  /** Zones served authoritatively, absolute and lower-case with a trailing dot (`example.test.`). */
  zones(): string[];
  /** TXT values at an absolute lower-case name with trailing dot; [] when none. Unquoted, as in `key`. */
  txt(fqdn: string): string[];
}
