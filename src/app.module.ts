import { DynamicModule, Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { ConsoleModule } from './console/console.module';
import { AdminAccess } from './common/admin.guard';
import { Clock, SystemClock } from './common/clock';
import { CAS_CONFIG, type CasConfig } from './config/cas-config';
import { attachPoolErrorHandler, dataSourceOptions, runMigrations } from './database/data-source';
import { DatabaseHealth } from './database/database-health';
import { Sql } from './database/sql';
import { MetricsModule } from './metrics/metrics.module';
import { ServicesModule } from './services/services.module';
import { TicketsModule } from './tickets/tickets.module';
import { DataSource } from 'typeorm';

/** Configuration, the clock, the SQL helper, the database's health check and who may use the admin API, visible to every module. */
@Global()
@Module({})
class CoreModule {
  static register(config: CasConfig, clock: Clock): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: CAS_CONFIG, useValue: config },
        { provide: Clock, useValue: clock },
        Sql,
        DatabaseHealth,
        AdminAccess,
      ],
      exports: [CAS_CONFIG, Clock, Sql, DatabaseHealth, AdminAccess],
    };
  }
}

@Module({})
export class AppModule {
  /** The application for a validated configuration whose databaseUrl is set. Tests pass a clock they can move. */
  static register(config: CasConfig, clock: Clock = new SystemClock()): DynamicModule {
    if (!config.databaseUrl) throw new Error('AppModule needs a database URL');
    const url = config.databaseUrl;
    return {
      module: AppModule,
      imports: [
        CoreModule.register(config, clock),
        TypeOrmModule.forRootAsync({
          useFactory: () => dataSourceOptions(url),
          // The schema is brought up to date, on its own connection under an advisory lock, before
          // the request pool opens and any module uses it.
          dataSourceFactory: async (options) => {
            await runMigrations(url);
            const ds = await new DataSource(options!).initialize();
            attachPoolErrorHandler(ds);
            return ds;
          },
        }),
        ScheduleModule.forRoot(),
        MetricsModule,
        ServicesModule,
        TicketsModule,
        AuthModule,
        AdminModule,
        ConsoleModule,
      ],
    };
  }
}
