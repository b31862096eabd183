import { Injectable } from '@nestjs/common';
import { storableAttributes, type Attributes } from '../common/attributes';
import { usernameKey } from '../common/username';
import { Sql } from '../database/sql';

export interface StoredUser {
  username: string;
  passwordHash: string;
  attributes: Attributes;
  disabled: boolean;
}

export interface UserSummary {
  username: string;
  disabled: boolean;
  attributes: Attributes;
  createdAt: Date;
  updatedAt: Date;
}

/** A stored user's columns, read from `users u`: find(), and the form token's use that looks the account up with it. */
export const STORED_USER_COLUMNS = `u.username, u.password_hash, u.attributes, u.disabled`;

export interface StoredUserRow {
  username: string | null;
  password_hash: string | null;
  attributes: Attributes | null;
  disabled: boolean | null;
}

/** The account of a row of STORED_USER_COLUMNS, null when the row has none (a LEFT JOIN that found no account). */
export function storedUserOf(r: StoredUserRow | undefined): StoredUser | null {
  if (!r || r.username === null || r.password_hash === null) return null;
  return { username: r.username, passwordHash: r.password_hash, attributes: r.attributes ?? {}, disabled: r.disabled === true };
}

/**
 * An account looked up ahead, in the statement that used the login form's token (LoginFlows.useAndFind,
 * LoginThrottle.reserveOnUse): `user` is the row of the name typed, or null for no such account. The
 * users-table handler takes it instead of reading the table again.
 */
export interface AccountLookup {
  user: StoredUser | null;
}

/** A page of accounts: $1 canonical prefix or null, $2 the last key of the previous page or null, $3 rows. */
export const USER_PAGE_SQL = `SELECT username, username_key, disabled, attributes, created_at, updated_at FROM users
  WHERE ($1::text IS NULL OR (username_key COLLATE "C") ^@ $1::text)
    AND ($2::text IS NULL OR (username_key COLLATE "C") > $2::text)
  ORDER BY (username_key COLLATE "C") LIMIT $3`;

/**
 * The `users` table: the only SQL on it. Usernames compare by their canonical form
 * (`username_key`, see common/username.ts); `username` keeps the spelling the account was
 * created with, which is the principal CAS asserts.
 */
@Injectable()
export class UserStore {
  constructor(private readonly sql: Sql) {}

  async find(username: string): Promise<StoredUser | null> {
    // Prepared: every password login of a users-table account runs it.
    const [r] = await this.sql.prepared<StoredUserRow>('cas_find_user', `SELECT ${STORED_USER_COLUMNS} FROM users u WHERE u.username_key = $1`, [usernameKey(username)]);
    return storedUserOf(r);
  }

  /** The account without its password hash; null for an unknown name. */
  async summary(username: string): Promise<UserSummary | null> {
    const r = await this.sql.one<{ username: string; disabled: boolean; attributes: Attributes; created_at: Date; updated_at: Date }>(
      `SELECT username, disabled, attributes, created_at, updated_at FROM users WHERE username_key = $1`,
      [usernameKey(username)],
    );
    return r && summary(r);
  }

  /** Inserts a user; false when the name (in its canonical form) is taken. */
  async add(username: string, passwordHash: string, attributes: Attributes): Promise<boolean> {
    const added = await this.sql.one(
      `INSERT INTO users (username, username_key, password_hash, attributes) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING username`,
      [username, usernameKey(username), passwordHash, JSON.stringify(storableAttributes(attributes))],
    );
    return added !== null;
  }

  /** Replaces the password hash; false for an unknown user. */
  async setPassword(username: string, passwordHash: string): Promise<boolean> {
    const updated = await this.sql.affected(
      `UPDATE users SET password_hash = $2, updated_at = now() WHERE username_key = $1`,
      [usernameKey(username), passwordHash],
    );
    return updated === 1;
  }

  /** Sets the disabled flag; false for an unknown user. */
  async setDisabled(username: string, disabled: boolean): Promise<boolean> {
    const updated = await this.sql.affected(
      `UPDATE users SET disabled = $2, updated_at = now() WHERE username_key = $1`,
      [usernameKey(username), disabled],
    );
    return updated === 1;
  }

  /**
   * One page of accounts in canonical-name order (byte order: COLLATE "C"), those after `after` (a
   * `username_key` from the previous page) whose canonical name starts with the canonical form of
   * `prefix`. Both are range conditions on ix_users_username_key_c, whatever the database's collation.
   */
  async page(f: { prefix?: string; after?: string }, limit: number): Promise<(UserSummary & { key: string })[]> {
    const rows = await this.sql.rows<{ username: string; username_key: string; disabled: boolean; attributes: Attributes; created_at: Date; updated_at: Date }>(
      USER_PAGE_SQL,
      [f.prefix ? usernameKey(f.prefix) : null, f.after ?? null, limit],
    );
    return rows.map((r) => ({ ...summary(r), key: r.username_key }));
  }

  async list(): Promise<UserSummary[]> {
    const rows = await this.sql.rows<{ username: string; disabled: boolean; attributes: Attributes; created_at: Date; updated_at: Date }>(
      `SELECT username, disabled, attributes, created_at, updated_at FROM users ORDER BY username_key`,
    );
    return rows.map(summary);
  }
}

const summary = (r: { username: string; disabled: boolean; attributes: Attributes; created_at: Date; updated_at: Date }): UserSummary => ({
  username: r.username,
  disabled: r.disabled,
  attributes: r.attributes,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
