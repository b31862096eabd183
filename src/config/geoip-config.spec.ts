import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadCasConfig } from './cas-config';
import { ConfigurationError } from './env.validation';
import { loadGeoIpConfig } from './geoip-config';
import { buildMmdb, cityRecord } from '../../test/helpers/mmdb-writer';
import { messageOf } from '../../test/helpers/thrown';

/** GEOIP_DATABASE: read once at boot; a file that is not a MaxMind DB stops the boot naming the variable. */
describe('GeoIP settings', () => {
  let dir: string;
  const file = (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  const errorOf = (path: string) => messageOf(ConfigurationError, () => loadCasConfig({ GEOIP_DATABASE: path }));
  const good = () => buildMmdb([{ network: '81.2.69.0/24', data: cityRecord('GB', 'London') }]);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cas-geoip-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('unset or blank: no database, no location', () => {
    expect(loadGeoIpConfig({})).toEqual({ database: null });
    expect(loadGeoIpConfig({ GEOIP_DATABASE: '  ' })).toEqual({ database: null });
    expect(loadCasConfig({}).geoIp).toEqual({ database: null });
  });

  it('a MaxMind DB file is opened once, its path resolved, and answers lookups from memory', () => {
    const path = file('city.mmdb', good());
    const { database } = loadGeoIpConfig({ GEOIP_DATABASE: path });
    expect(database?.path).toBe(path);
    expect(database?.reader.metadata.databaseType).toBe('Test-City');
    expect(database?.reader.get('81.2.69.142')).toMatchObject({ country: { iso_code: 'GB' }, city: { names: { en: 'London' } } });
    expect(database?.reader.get('192.0.2.1')).toBeNull();
    rmSync(path);
    // Opened at boot: the file going away afterwards changes nothing until the next start.
    expect(database?.reader.get('81.2.69.1')).toMatchObject({ country: { iso_code: 'GB' } });
  });

  it('a missing file, a directory, a gzip archive, another file or a truncated database stops the boot, naming the variable', () => {
    expect(errorOf(join(dir, 'absent.mmdb'))).toBe(`Invalid configuration:\n  GEOIP_DATABASE: cannot read ${join(dir, 'absent.mmdb')} (ENOENT)`);
    expect(errorOf(dir)).toMatch(/^Invalid configuration:\n {2}GEOIP_DATABASE: cannot read .* \(EISDIR\)$/);
    expect(errorOf(file('city.mmdb.gz', gzipSync(good())))).toMatch(/GEOIP_DATABASE: .*city\.mmdb\.gz is compressed \(gzip\); give the extracted \.mmdb file$/);
    expect(errorOf(file('notes.txt', Buffer.from('not a database')))).toMatch(/GEOIP_DATABASE: .*notes\.txt is not a readable MaxMind DB file/);
    const bytes = good();
    // The metadata kept, the search tree and data gone: the probe lookup fails at boot.
    const marker = bytes.indexOf(Buffer.from('MaxMind.com')) - 3;
    expect(errorOf(file('truncated.mmdb', bytes.subarray(marker)))).toMatch(/GEOIP_DATABASE: .*truncated\.mmdb is not a readable MaxMind DB file/);
  });
});
