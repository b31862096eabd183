import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source';
import { DatabaseHealth } from '../../src/database/database-health';
import { Sql } from '../../src/database/sql';
import { createTestDatabase } from '../helpers/test-database';

/** What /actuator/health reports, against a real database that answers, then one that is gone. */
describe('DatabaseHealth', () => {
  it('case=check: UP while the database answers, DOWN (not a throw) once it is gone', async () => {
    const db = await createTestDatabase();
    const ds = await new DataSource(dataSourceOptions(db.url)).initialize();
    try {
      const health = new DatabaseHealth(new Sql(ds));
      expect(await health.check()).toBe('UP');
      await db.drop(); // WITH (FORCE): the pool's connections are terminated and no new one can open
      expect(await health.check()).toBe('DOWN');
    } finally {
      await ds.destroy();
      await db.drop();
    }
  });
});
