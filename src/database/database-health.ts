import { Injectable } from '@nestjs/common';
import { Sql } from './sql';

export type HealthStatus = 'UP' | 'DOWN';

/** Whether the database answers: what `GET /actuator/health` reports. */
@Injectable()
export class DatabaseHealth {
  constructor(private readonly sql: Sql) {}

  /** UP when a trivial statement round-trips on the request pool; DOWN on any failure (lost, refused, timed out). */
  async check(): Promise<HealthStatus> {
    try {
      await this.sql.one('SELECT 1');
      return 'UP';
    } catch {
      return 'DOWN';
    }
  }
}
