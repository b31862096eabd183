import { plainToInstance, Transform } from 'class-transformer';
import { isIP } from 'node:net';
import {
  IsBoolean,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  Validate,
  ValidatorConstraint,
  ValidatorConstraintInterface,
  validateSync,
} from 'class-validator';

// The only place that reads process.env. A setting Apereo CAS also has is named after CAS's
// property (relaxed binding: upper case, dots and dashes as underscores) so CAS admins find it.

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const toNumber = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : value;
 /** Seconds, or an ISO-8601 duration as CAS 7 writes them (`PT8H`, `P14D`, `PT1M30S`). */
const toDurationSeconds = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i.exec(v);
  if (!m || v.length < 3 || /T$/i.test(v)) return value;
  const [d, h, min, sec] = m.slice(1).map((x) => Number(x ?? 0));
  return ((d * 24 + h) * 60 + min) * 60 + sec;
};
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : value;
};

/**
 * Comma-separated IP addresses or CIDR ranges (v4 or v6), each one a real address with a prefix
 * length that fits it: `1.2.3` or `10.0.0.0/33` must stop the boot here, naming the variable,
 * rather than later in the request-id trust list or Fastify's.
 */
@ValidatorConstraint({ name: 'isAddressList' })
class IsAddressList implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return String(value)
      .split(',')
      .every((entry) => {
        const [address, bits, ...rest] = entry.trim().split('/');
        const family = isIP(address);
        if (!family || rest.length) return false;
        return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
      });
  }

  defaultMessage(): string {
    return '$property must be comma-separated IP addresses or CIDR ranges';
  }
}

@ValidatorConstraint({ name: 'isRegex' })
class IsRegex implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    try {
      new RegExp(String(value));
      return true;
    } catch {
      return false;
    }
  }

  defaultMessage(): string {
    return '$property must be a valid regular expression';
  }
}

@ValidatorConstraint({ name: 'isJsonObject' })
class IsJsonObject implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    try {
      const parsed = JSON.parse(String(value));
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
    } catch {
      return false;
    }
  }

  defaultMessage(): string {
    return '$property must be a JSON object keyed by username';
  }
}

export class EnvironmentVariables {
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 8080;

  @IsOptional() @IsString() @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsOptional() @IsString()
  CAS_DATA_DIR = './.data';

  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  CAS_SERVER_PREFIX = 'http://localhost:8080/cas';

  /** Unset: `./services`, plus the open development registry in development mode (cas-config.ts). */
  @IsOptional() @IsString()
  CAS_SERVICE_REGISTRY_JSON_LOCATION?: string;

  /** Node's convention, read only to rule out development mode (`production`). */
  @IsOptional() @IsString()
  NODE_ENV?: string;

  @IsOptional() @Transform(toBool) @IsBoolean()
  SERVICE_REGISTRY_IMPORT_OVERWRITE = false;

  @IsOptional() @IsString() @Matches(/^[^:,]+::[^,]*(,[^:,]+::[^,]*)*$/, {
    message: 'CAS_AUTHN_ACCEPT_USERS must look like user::password,user2::password2',
  })
  CAS_AUTHN_ACCEPT_USERS?: string;

  @IsOptional() @IsString() @Validate(IsJsonObject)
  AUTHN_ACCEPT_USERS_ATTRIBUTES?: string;

  /** `cas.authn.accept.name`: the static list's handler name, released as `authenticationMethod`. */
  @IsOptional() @IsString() @Matches(/^[\x21-\x7e]([\x20-\x7e]{0,98}[\x21-\x7e])?$/, {
    message: 'CAS_AUTHN_ACCEPT_NAME must be 1 to 100 printable ASCII characters, not starting or ending with a space',
  })
  CAS_AUTHN_ACCEPT_NAME = 'AcceptUsersAuthenticationHandler';

  /** `cas.authn.accept.order`: where the static list sits in the handler chain (lower first; the users table is 0). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(-2147483648) @Max(2147483647)
  CAS_AUTHN_ACCEPT_ORDER = 2147483647;

  @IsOptional() @Transform(toInt) @IsInt() @Min(8192) @Max(1048576)
  ARGON2_MEMORY_KIB = 19456;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(20)
  ARGON2_TIME_COST = 2;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(16)
  ARGON2_PARALLELISM = 1;

  @IsOptional() @Transform(toDurationSeconds) @IsInt({ message: 'CAS_TICKET_TGT_PRIMARY_MAX_TIME_TO_LIVE_IN_SECONDS must be seconds or an ISO-8601 duration such as PT8H' }) @Min(1)
  CAS_TICKET_TGT_PRIMARY_MAX_TIME_TO_LIVE_IN_SECONDS = 28800;

  @IsOptional() @Transform(toDurationSeconds) @IsInt({ message: 'CAS_TICKET_TGT_PRIMARY_TIME_TO_KILL_IN_SECONDS must be seconds or an ISO-8601 duration such as PT8H' }) @Min(1)
  CAS_TICKET_TGT_PRIMARY_TIME_TO_KILL_IN_SECONDS = 7200;

  @IsOptional() @Transform(toDurationSeconds) @IsInt({ message: 'CAS_TICKET_ST_TIME_TO_KILL_IN_SECONDS must be seconds or an ISO-8601 duration such as PT10S' }) @Min(1) @Max(300)
  CAS_TICKET_ST_TIME_TO_KILL_IN_SECONDS = 10;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100)
  CAS_TICKET_ST_NUMBER_OF_USES = 1;

  @IsOptional() @Transform(toDurationSeconds) @IsInt({ message: 'CAS_TICKET_PT_TIME_TO_KILL_IN_SECONDS must be seconds or an ISO-8601 duration such as PT10S' }) @Min(1) @Max(300)
  CAS_TICKET_PT_TIME_TO_KILL_IN_SECONDS = 10;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100)
  CAS_TICKET_PT_NUMBER_OF_USES = 1;

  /** Ours: PEM file of CA certificates trusted for pgtUrl callbacks, beside Node's store and NODE_EXTRA_CA_CERTS. */
  @IsOptional() @IsString()
  PROXY_CALLBACK_CA_FILE?: string;

  /** Node's own setting, read here too: an explicit CA list would otherwise drop it (see proxy-callback.ts). */
  @IsOptional() @IsString()
  NODE_EXTRA_CA_CERTS?: string;

  @IsOptional() @Transform(toBool) @IsBoolean()
  CAS_TICKET_TGT_REMEMBER_ME_ENABLED = false;

  @IsOptional() @Transform(toDurationSeconds) @IsInt({ message: 'CAS_TICKET_TGT_REMEMBER_ME_TIME_TO_KILL_IN_SECONDS must be seconds or an ISO-8601 duration' }) @Min(60) @Max(7776000)
  CAS_TICKET_TGT_REMEMBER_ME_TIME_TO_KILL_IN_SECONDS = 1209600;

  @IsOptional() @Transform(toDurationSeconds) @IsInt({ message: 'CAS_TGC_REMEMBER_ME_MAX_AGE must be seconds or an ISO-8601 duration such as P14D' }) @Min(60) @Max(7776000)
  CAS_TGC_REMEMBER_ME_MAX_AGE = 1209600;

  @IsOptional() @Transform(toBool) @IsBoolean()
  CAS_SSO_SSO_ENABLED = true;

  @IsOptional() @Transform(toBool) @IsBoolean()
  CAS_SLO_DISABLED = false;

  @IsOptional() @Transform(toBool) @IsBoolean()
  CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_ENABLED = true;

  @IsOptional() @Transform(toDurationSeconds) @IsInt({ message: 'CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_START_DELAY must be seconds or an ISO-8601 duration such as PT10S' }) @Min(0)
  CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_START_DELAY = 10;

  @IsOptional() @Transform(toDurationSeconds) @IsInt({ message: 'CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_REPEAT_INTERVAL must be seconds or an ISO-8601 duration such as PT1M' }) @Min(1)
  CAS_TICKET_REGISTRY_CLEANER_SCHEDULE_REPEAT_INTERVAL = 60;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(10000)
  TICKET_REGISTRY_CLEANER_BATCH_SIZE = 1000;

  @IsOptional() @Transform(toBool) @IsBoolean()
  TICKET_REGISTRY_CLEANER_SLO_ON_EXPIRY = true;

  @IsOptional() @Transform(toNumber) @IsNumber({}, { message: 'TICKET_REGISTRY_CLEANER_PAUSE_RATIO must be a number from 0 to 100' }) @Min(0) @Max(100)
  TICKET_REGISTRY_CLEANER_PAUSE_RATIO = 2;

  /** How long ended sessions stay in the session history (the cleaner purges older rows). */
  @IsOptional() @Transform(toDurationSeconds) @IsInt({ message: 'SESSION_HISTORY_RETENTION must be seconds or an ISO-8601 duration such as P90D' }) @Min(60)
  SESSION_HISTORY_RETENTION = 90 * 86400;

  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9_.-]{1,64}:[\x21-\x2b\x2d-\x7e]{24,}(,[A-Za-z0-9_.-]{1,64}:[\x21-\x2b\x2d-\x7e]{24,})*$/, {
    message: 'CAS_ADMIN_TOKENS must be id:secret pairs, comma-separated, each secret at least 24 characters',
  })
  CAS_ADMIN_TOKENS?: string;

  @IsOptional() @Transform(toBool) @IsBoolean()
  AUTHN_THROTTLE_ENABLED = true;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  CAS_AUTHN_THROTTLE_FAILURE_THRESHOLD = 100;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  CAS_AUTHN_THROTTLE_FAILURE_RANGE_SECONDS = 3600;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  AUTHN_THROTTLE_ACCOUNT_THRESHOLD = 50;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  AUTHN_THROTTLE_DEVICE_THRESHOLD = 10;

  @IsOptional() @Transform(toInt) @IsInt() @Min(400) @Max(499)
  AUTHN_THROTTLE_HTTP_STATUS = 429;

  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9_-]{43,}(,[A-Za-z0-9_-]{43,})*$/, {
    message: 'CAS_TGC_CRYPTO_ENCRYPTION_KEY must be base64url keys of at least 256 bits, comma-separated, newest first',
  })
  CAS_TGC_CRYPTO_ENCRYPTION_KEY?: string;

  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9_-]{86,}(,[A-Za-z0-9_-]{86,})*$/, {
    message: 'CAS_TGC_CRYPTO_SIGNING_KEY must be base64url keys of at least 512 bits, comma-separated, newest first',
  })
  CAS_TGC_CRYPTO_SIGNING_KEY?: string;

  @IsOptional() @Transform(toBool) @IsBoolean()
  CAS_TGC_PIN_TO_SESSION = true;

  @IsOptional() @IsString() @Validate(IsRegex)
  CAS_TGC_ALLOWED_IP_ADDRESSES_PATTERN?: string;

  @IsOptional() @IsString() @Validate(IsAddressList)
  TRUSTED_PROXIES?: string;

  @IsOptional() @Transform(toBool) @IsBoolean()
  CAS_LOGOUT_FOLLOW_SERVICE_REDIRECTS = false;

  @IsOptional() @Transform(toBool) @IsBoolean()
  CAS_VIEW_CAS2_V3_FORWARD_COMPATIBLE = true;

  @IsOptional() @IsString() @Matches(/^(error|warn|log|debug|verbose)$/)
  LOG_LEVEL = 'log';

  @IsOptional() @IsString() @Matches(/^(text|json)$/, { message: 'LOG_FORMAT must be text or json' })
  LOG_FORMAT = 'text';

  @IsOptional() @Transform(toBool) @IsBoolean()
  ACCESS_LOG_ENABLED = false;
}

export class ConfigurationError extends Error {}

/** Validates the environment once; throws one error that names every bad variable. */
export function validateEnvironment(env: Record<string, string | undefined>): EnvironmentVariables {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const vars = plainToInstance(EnvironmentVariables, present);
  const errors = validateSync(vars, { skipMissingProperties: false });
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new ConfigurationError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return vars;
}
