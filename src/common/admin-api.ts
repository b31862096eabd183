import { applyDecorators, ArgumentMetadata, BadRequestException, UseGuards, UsePipes, ValidationPipe } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, ValidateBy, ValidationError } from 'class-validator';
import { AdminGuard } from './admin.guard';
import { hasControlCharacters, nulPath } from './text';

/**
 * The parameters of an admin route, checked against its DTO (src/admin/dto). A refusal is a 400
 * with ONE message, the first rule broken in the order the DTO lists its fields (each field stops
 * at its first broken rule), so a request wrong in several ways gets the same answer as before the
 * DTOs. The unexpected-error filter renders it as `{status: 400, message}`.
 */
export class AdminParametersPipe extends ValidationPipe {
  constructor() {
    super({ transform: true, stopAtFirstError: true, exceptionFactory: (errors) => new BadRequestException(firstMessage(errors)) });
  }

  /**
   * First, on every argument of every admin route (query, path, body, DTO or not): a NUL is
   * refused, naming where it is. No text or jsonb column can hold one, so it would otherwise
   * reach Postgres and end in a 500.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- ValidationPipe's own signature
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<any> {
    const at = nulPath(value, metadata.data ?? '');
    if (at) throw new BadRequestException(`'${at}' must not contain a NUL character`);
    return super.transform(value, metadata);
  }

  /** A parameter read by name (`@Query('tgc')`) is the handler's to judge: it gets the raw value, an array included. */
  protected override transformPrimitive(value: unknown, _metadata: ArgumentMetadata): unknown {
    return value;
  }
}

function firstMessage(errors: ValidationError[]): string {
  return Object.values(errors[0]?.constraints ?? {})[0] ?? 'invalid parameters';
}

/** An /actuator controller: the admin credential (AdminGuard), checked parameters, the admin section of the API document. */
export function AdminApi(): ClassDecorator {
  return applyDecorators(ApiBearerAuth(), ApiTags('admin'), UseGuards(AdminGuard), UsePipes(AdminParametersPipe));
}

/**
 * A rule of a DTO field: `test` sees the field's value (as the client sent it, a string given once,
 * unless the field transforms it) and `message` says what was wrong.
 */
export function Rule<T = string>(name: string, test: (value: T) => boolean, message: string | ((value: string) => string)): PropertyDecorator {
  return ValidateBy({
    name,
    validator: {
      validate: (value: unknown) => test(value as T),
      defaultMessage: (args) => (typeof message === 'string' ? message : message(String(args?.value))),
    },
  });
}

/** A text parameter without control characters (a NUL above all: no text column can hold one, common/text.ts). */
export function NoControlCharacters(name: string): PropertyDecorator {
  return Rule('noControl', (v: string) => !hasControlCharacters(v), `'${name}' must not contain control characters`);
}

/** A query parameter given once whose value must pass `rules`, checked in the order written. */
export function QueryParam(name: string, ...rules: PropertyDecorator[]): PropertyDecorator {
  return applyDecorators(givenOnce(name), ...rules);
}

/** An optional query parameter: absent or empty (`?count=`) is the default, otherwise as QueryParam. */
export function OptionalQueryParam(name: string, ...rules: PropertyDecorator[]): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value)),
    IsOptional(),
    QueryParam(name, ...rules),
  );
}

/** A repeated parameter is refused: which copy would win is a question for an attacker. */
function givenOnce(name: string): PropertyDecorator {
  return Rule('givenOnce', (value) => !Array.isArray(value), `'${name}' must be given once`);
}
