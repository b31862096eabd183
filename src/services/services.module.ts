import { Module } from '@nestjs/common';
import { CAS_CONFIG } from '../config/cas-config';
import { ServiceRegistry } from './service-registry';
import { ServiceRegistryImporter } from './service-registry.importer';
import { POLICY_DEFAULTS, policyDefaults } from './ticket-policy';

/** Registered services: the leaf module every other feature consults before issuing or redirecting. */
@Module({
  providers: [ServiceRegistry, ServiceRegistryImporter, { provide: POLICY_DEFAULTS, useFactory: policyDefaults, inject: [CAS_CONFIG] }],
  exports: [ServiceRegistry, POLICY_DEFAULTS],
})
export class ServicesModule {}
