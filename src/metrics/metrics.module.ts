import { Global, Module } from '@nestjs/common';
import { CasMetrics } from './cas-metrics';

/** The Prometheus metrics, visible to every module: a base module that uses none above it. */
@Global()
@Module({ providers: [CasMetrics], exports: [CasMetrics] })
export class MetricsModule {}
