import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CityResponse, Reader } from 'maxmind';
import { ConfigurationError } from './env.validation';

/**
 * `GEOIP_DATABASE`: a MaxMind DB file (GeoLite2/GeoIP2 City or Country, or any database in that
 * format with `country.iso_code` / `city.names.en`) that gives each new session a country and a
 * city. Unset: no location is recorded. The file is read once, here, at boot; nothing is ever
 * fetched from the network, and a new file takes effect at the next start. A file that cannot be
 * read or is not a MaxMind DB stops the boot, naming the variable: a location silently missing on
 * every session would be found out weeks later.
 */
export interface GeoIpConfig {
  /** The opened database, or null when GEOIP_DATABASE is unset. */
  database: { path: string; reader: Reader<CityResponse> } | null;
}

export function loadGeoIpConfig(env: Record<string, string | undefined>): GeoIpConfig {
  const raw = env.GEOIP_DATABASE?.trim();
  if (!raw) return { database: null };
  const path = resolve(raw);
  const fail = (why: string): never => {
    throw new ConfigurationError(`Invalid configuration:\n  GEOIP_DATABASE: ${why}`);
  };
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    return fail(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // A gzip file (GeoLite2-City.tar.gz as downloaded) holds the database but is not one.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) fail(`${path} is compressed (gzip); give the extracted .mmdb file`);
  try {
    const reader = new Reader<CityResponse>(bytes);
    // One lookup walks the search tree and decodes data: a truncated or damaged file fails here, not at a login.
    reader.get('192.0.2.1');
    reader.get(reader.metadata.ipVersion === 6 ? '2001:db8::1' : '198.51.100.1');
    return { database: { path, reader } };
  } catch (e) {
    return fail(`${path} is not a readable MaxMind DB file (${(e as Error).message})`);
  }
}
