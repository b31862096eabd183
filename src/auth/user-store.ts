import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storableAttributes } from '../common/attributes';
import { usernameKey } from '../common/username';
import type { Attributes } from '../common/attributes';

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

/**
 * The `users` table: the only SQL on it. Usernames compare by their canonical form
 * (`username_key`, see common/username.ts); `username` keeps the spelling the account was
 * created with, which is the principal CAS asserts.
 */
@Injectable()
export class UserStore {
  constructor(private readonly db: DataSource) {}

  async find(username: string): Promise<StoredUser | null> {
    const rows: { username: string; password_hash: string; attributes: Attributes; disabled: boolean }[] = await this.db.query(
      `SELECT username, password_hash, attributes, disabled FROM users WHERE username_key = $1`,
      [usernameKey(username)],
    );
    if (!rows.length) return null;
    const r = rows[0];
    return { username: r.username, passwordHash: r.password_hash, attributes: r.attributes, disabled: r.disabled };
  }

  /** Inserts a user; false when the name (in its canonical form) is taken. */
  async add(username: string, passwordHash: string, attributes: Attributes): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `INSERT INTO users (username, username_key, password_hash, attributes) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING username`,
      [username, usernameKey(username), passwordHash, JSON.stringify(storableAttributes(attributes))],
    );
    return rows.length === 1;
  }

  /** Replaces the password hash; false for an unknown user. */
  async setPassword(username: string, passwordHash: string): Promise<boolean> {
    const [, count] = (await this.db.query(
      `UPDATE users SET password_hash = $2, updated_at = now() WHERE username_key = $1`,
      [usernameKey(username), passwordHash],
    )) as [unknown, number];
    return count === 1;
  }

  /** Sets the disabled flag; false for an unknown user. */
  async setDisabled(username: string, disabled: boolean): Promise<boolean> {
    const [, count] = (await this.db.query(
      `UPDATE users SET disabled = $2, updated_at = now() WHERE username_key = $1`,
      [usernameKey(username), disabled],
    )) as [unknown, number];
    return count === 1;
  }

  async list(): Promise<UserSummary[]> {
    const rows: { username: string; disabled: boolean; attributes: Attributes; created_at: Date; updated_at: Date }[] =
      await this.db.query(`SELECT username, disabled, attributes, created_at, updated_at FROM users ORDER BY username_key`);
    return rows.map((r) => ({ username: r.username, disabled: r.disabled, attributes: r.attributes, createdAt: r.created_at, updatedAt: r.updated_at }));
  }
}
