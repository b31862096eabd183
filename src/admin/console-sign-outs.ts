import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { Sql } from '../database/sql';

/**
 * The `console_sign_outs` table: the only SQL on it. The console (above admin) asks it whether a
 * console session was signed out; the console cookie itself holds no state a node could forget.
 */
@Injectable()
export class ConsoleSignOuts {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
  ) {}

  /**
   * Records that the session with this random value has ended, until `until` (when its cookie
   * would have ended anyway). Rows past their `until` are deleted by the same statement: sign-outs
   * are rare, so the table stays as small as the console sessions of the last eight hours.
   */
  async record(nonce: string, until: Date): Promise<void> {
    await this.sql.affected(
      `WITH expired AS (DELETE FROM console_sign_outs WHERE until < $3)
       INSERT INTO console_sign_outs (session_nonce, until) VALUES ($1, $2) ON CONFLICT (session_nonce) DO NOTHING`,
      [nonce, until, this.clock.now()],
    );
  }

  async isSignedOut(nonce: string): Promise<boolean> {
    return (await this.sql.rows(`SELECT 1 FROM console_sign_outs WHERE session_nonce = $1`, [nonce])).length > 0;
  }
}
