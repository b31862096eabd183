import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional } from 'class-validator';
import { Rule } from '../../common/admin-api';

const DEFAULT_COUNT = 100;

/**
 * `GET /actuator/auditLog?count=&before=`. Read as JavaScript numbers (`count=1e2` is 100), as
 * this endpoint always has; a repeated parameter is not a number. The API document lists both
 * as required query strings, as it always has (they are optional).
 */
export class AuditLogQuery {
  @ApiProperty({ type: String, required: true })
  @Transform(({ value }: { value: unknown }) => Number(value))
  @Rule<number>('count', (n) => Number.isInteger(n) && n >= 1 && n <= 1000, "'count' must be 1 to 1000")
  count: number = DEFAULT_COUNT;

  @ApiProperty({ type: String, required: true })
  @Transform(({ value }: { value: unknown }) => Number(value))
  @IsOptional()
  @Rule<number>('entryId', (n) => Number.isSafeInteger(n) && n >= 1, "'before' must be an entry id")
  before?: number;
}
