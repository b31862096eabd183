import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { migrations } from '../../migrations';
import { dataSourceOptions } from '../../src/database/data-source';
import { startTestApp, TestApp } from './test-app';

export interface MigrationCase {
  /** The migration under test, by class name. */
  migration: MigrationInterface;
  /** The current case's connection, inside its transaction. */
  runner(): QueryRunner;
  app(): TestApp;
}

/**
 * For a migration's tests: an app on its own database (every migration applied at boot), and for
 * each case a connection in a transaction that is rolled back afterwards, as the server runs each
 * migration in one of its own. `beforeEachCase` runs inside that transaction (e.g. the migration's
 * down, to start from the schema before it).
 */
export function migrationCases(name: string, beforeEachCase?: (runner: QueryRunner) => Promise<void>): MigrationCase {
  const found = migrations.find((m) => m.name === name);
  if (!found) throw new Error(`no migration ${name}`);
  let t: TestApp;
  let ds: DataSource;
  let runner: QueryRunner;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTHN_THROTTLE_ENABLED: 'false' } });
    ds = new DataSource(dataSourceOptions(t.config.databaseUrl!));
    await ds.initialize();
  });
  afterAll(async () => {
    await ds.destroy();
    await t.close();
  });
  beforeEach(async () => {
    runner = ds.createQueryRunner();
    await runner.startTransaction();
    // The session counter's write trigger (migration 1764000025000) is deferred to commit; a
    // case that adds or deletes TGT rows and then alters tickets (a down) would find them pending
    // ("cannot ALTER TABLE tickets because it has pending trigger events"). Immediate, it writes as it goes.
    await runner.query('SET CONSTRAINTS ALL IMMEDIATE');
    await beforeEachCase?.(runner);
  });
  afterEach(async () => {
    await runner.rollbackTransaction();
    await runner.release();
  });
  return { migration: new found(), runner: () => runner, app: () => t };
}
