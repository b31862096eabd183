import { Injectable, Optional } from '@nestjs/common';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource, QueryRunner } from 'typeorm';
import { CasMetrics } from '../metrics/cas-metrics';

export type Params = readonly unknown[];

/**
 * Statements on one connection: the pool's next free one (Sql) or a transaction's (Tx). Every
 * file that owns a table runs its SQL through these three, so none of them needs to know that
 * TypeORM answers an UPDATE or DELETE with `[rows, rowCount]` and anything else with `rows`.
 */
export interface SqlRunner {
  /** The rows the statement returned (none for a statement without RETURNING). */
  rows<R>(text: string, params?: Params): Promise<R[]>;
  /** The first row, or null. */
  one<R>(text: string, params?: Params): Promise<R | null>;
  /** How many rows the statement inserted, updated or deleted. */
  affected(text: string, params?: Params): Promise<number>;
}

interface Result {
  records?: unknown[];
  affected?: number;
}

abstract class Runner implements SqlRunner {
  protected abstract run(text: string, params: Params): Promise<Result>;

  async rows<R>(text: string, params: Params = []): Promise<R[]> {
    return ((await this.run(text, params)).records ?? []) as R[];
  }

  async one<R>(text: string, params: Params = []): Promise<R | null> {
    const rows = await this.rows<R>(text, params);
    return rows.length ? rows[0] : null;
  }

  async affected(text: string, params: Params = []): Promise<number> {
    return (await this.run(text, params)).affected ?? 0;
  }
}

/** A transaction's statements: what Sql.transaction hands its callback. */
export class Tx extends Runner {
  constructor(private readonly runner: QueryRunner) {
    super();
  }

  protected run(text: string, params: Params): Promise<Result> {
    return this.runner.query(text, [...params], true) as Promise<Result>;
  }

  /**
   * Sql.prepared inside the transaction: a named prepared statement on the transaction's own
   * connection (parsed and planned once per pooled connection, as the autocommit ones; a name is
   * one text on every connection, whichever of the two runs it first). TypeORM's query() only
   * sends unnamed statements, so this goes to the pg client under the runner.
   */
  async prepared<R extends QueryResultRow>(name: string, text: string, values: Params): Promise<R[]> {
    const client = (await this.runner.connect()) as PoolClient;
    return (await client.query<R>({ name, text, values: [...values] })).rows;
  }
}

/** The one SQL helper: autocommit statements, named prepared statements, transactions. */
@Injectable()
export class Sql extends Runner {
  private readonly pool: Pool;

  /** Without metrics (a test building it by hand), nothing is timed. */
  constructor(
    private readonly db: DataSource,
    @Optional() private readonly metrics?: CasMetrics,
  ) {
    super();
    this.pool = poolOf(db);
    metrics?.watchPool(this.pool);
  }

  protected async run(text: string, params: Params): Promise<Result> {
    const took = this.metrics?.queryTimer('statement');
    // What DataSource.query does, asking for the structured result instead of the raw shape.
    const runner = this.db.createQueryRunner();
    try {
      return (await runner.query(text, [...params], true)) as Result;
    } finally {
      await runner.release();
      took?.();
    }
  }

  /**
   * A hot-path statement as a named prepared statement, so each pooled connection parses and
   * plans it once instead of at every call (planning was most of a validation's Postgres CPU:
   * docs/benchmarks.md). Single autocommit statements only; a transaction's go through its Tx.
   */
  async prepared<R extends QueryResultRow>(name: string, text: string, values: Params): Promise<R[]> {
    const took = this.metrics?.queryTimer('prepared');
    try {
      return (await this.pool.query<R>({ name, text, values: [...values] })).rows;
    } finally {
      took?.();
    }
  }

  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const took = this.metrics?.queryTimer('transaction');
    try {
      return await this.db.transaction((m) => fn(new Tx(m.queryRunner!)));
    } finally {
      took?.();
    }
  }
}

/** The pg.Pool under a TypeORM DataSource: only this file reaches into the driver. */
export function poolOf(db: DataSource): Pool {
  return (db.driver as unknown as { master: Pool }).master;
}
