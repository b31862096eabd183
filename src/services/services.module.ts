import { Module } from '@nestjs/common';
import { ServiceRegistry } from './service-registry';
import { ServiceRegistryImporter } from './service-registry.importer';

/** Registered services: the leaf module every other feature consults before issuing or redirecting. */
@Module({
  providers: [ServiceRegistry, ServiceRegistryImporter],
  exports: [ServiceRegistry],
})
export class ServicesModule {}
