import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { type Attributes, storableAttributes } from '../../common/attributes';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import { ConfigurationError } from '../../config/env.validation';
import { mergeAttributes } from './attribute-merger';
import { ATTRIBUTE_REPOSITORIES, type AttributeRepository } from './attribute-repository';

/** What one repository answered: its attributes, no such user, or why it could not answer. */
export type RepositoryOutcome =
  | { id: string; status: 'found'; attributes: Attributes }
  | { id: string; status: 'not-found' }
  | { id: string; status: 'failed'; error: string };

export interface Resolution {
  /** The attributes given, with every repository's merged onto them in order. */
  attributes: Attributes;
  /** Each repository's answer, in the order they were merged. */
  repositories: RepositoryOutcome[];
}

/**
 * Principal attributes from the attribute repositories (CAS's PrincipalResolver with its
 * attribute repositories), once at login, after a handler authenticated the user: validation
 * reads what the session holds and asks no repository. The repositories are asked together and
 * merged by `order` onto the handler's attributes with the configured merger. One that fails or
 * times out does not fail the login: the session gets what the others resolved, and the log says
 * which repository failed (its id and the error, neither the username nor a secret).
 */
@Injectable()
export class PrincipalAttributesResolver implements OnModuleDestroy {
  private readonly logger = new Logger('AttributeRepository');
  private readonly repositories: AttributeRepository[];

  constructor(
    @Inject(ATTRIBUTE_REPOSITORIES) repositories: AttributeRepository[],
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
  ) {
    // A stable sort: equal orders keep the provider's order.
    this.repositories = [...repositories].sort((a, b) => a.order - b.order);
    const ids = new Set<string>();
    for (const { id } of this.repositories) {
      // The log and resolveAttributes name repositories by id: two of one name could not be told apart.
      if (ids.has(id)) throw new ConfigurationError(`Invalid configuration:\n  attribute repositories: the id '${id}' names two repositories`);
      ids.add(id);
    }
  }

  /** The attributes a login's session holds: the handler's, with the repositories' merged in. */
  async atLogin(username: string, handlerAttributes: Attributes): Promise<Attributes> {
    if (!this.repositories.length) return handlerAttributes;
    const resolution = await this.resolve(username, handlerAttributes);
    for (const outcome of resolution.repositories) {
      if (outcome.status === 'failed') {
        this.logger.error(`attribute repository ${outcome.id} failed, the login goes on without its attributes: ${outcome.error}`);
      }
    }
    return resolution.attributes;
  }

  /** Every repository's answer for `username`, merged onto `base`. Never throws for a repository. */
  async resolve(username: string, base: Attributes): Promise<Resolution> {
    const outcomes = await Promise.all(this.repositories.map((repository) => this.ask(repository, username)));
    let attributes = base;
    for (const outcome of outcomes) {
      if (outcome.status === 'found') attributes = mergeAttributes(this.config.attributeRepository.merger, attributes, outcome.attributes);
    }
    return { attributes, repositories: outcomes };
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.repositories.map((r) => r.close?.().catch((e: unknown) => this.logger.warn(`${r.id}: close failed: ${errorText(e)}`))));
  }

  private async ask(repository: AttributeRepository, username: string): Promise<RepositoryOutcome> {
    try {
      const found = await repository.resolve(username);
      // NUL cannot be stored in the session's jsonb: removed as from any other attribute.
      return found ? { id: repository.id, status: 'found', attributes: storableAttributes(found) } : { id: repository.id, status: 'not-found' };
    } catch (error) {
      return { id: repository.id, status: 'failed', error: errorText(error) };
    }
  }
}

/** One line of at most 500 characters: the error's message (its class when it is not an Error's). */
function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 500);
}
