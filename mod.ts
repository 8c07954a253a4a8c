/**
 * The service's public module: what a PSP imports to run this server with its own processor,
 * from a file of its own, without editing this repository (see examples/custom-processor/).
 * @module
 */

export { startService } from "./service.ts";
export type { RunningService, StartOptions } from "./service.ts";
export { ConfigError, loadConfig } from "./core/config/mod.ts";
export type { Config } from "./core/config/mod.ts";
export { manualClock, systemClock } from "./core/common/mod.ts";
export type { Clock, Logger } from "./core/common/mod.ts";
export type {
  CaptureVoidInput,
  CardDetails,
  ConnectAccountInput,
  ConnectOutcome,
  CredentialsOnFile,
  Decline,
  LaterOutcome,
  OperationOutcome,
  OrderInput,
  PaymentInput,
  PaymentOutcome,
  PaymentProcessor,
  PaymentsPort,
  PaymentView,
  PluginRequest,
  PluginRoute,
  ProcessorCall,
  ProcessorContext,
  ProcessorFactory,
  ProcessorPlugin,
  RefundInput,
  ReportResult,
} from "./core/processor/mod.ts";
export { scopedKv } from "./core/store/mod.ts";
export type { ScopedAtomic, ScopedKv } from "./core/store/mod.ts";
export { checkProcessorContract, kitPaymentInput } from "./core/processor/mod.ts";
export type { ContractKitOptions, ContractResult } from "./core/processor/mod.ts";
export { createHttpProcessor } from "./core/processors/http/mod.ts";
export { reason, ReasonCode } from "./core/wix/mod.ts";
export type { PaymentMethodInput } from "./core/wix/mod.ts";
