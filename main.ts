/**
 * The command line of the server: `npx --yes deno@2.9.6 task start`. It reads the environment
 * (and `--help`, `--version`), starts the service (`service.ts`), and stops it on SIGINT or
 * SIGTERM within SHUTDOWN_TIMEOUT.
 * @module
 */

import { VERSION } from "./core/common/mod.ts";
import { CONFIG_VARIABLES, ConfigError, loadConfig } from "./core/config/mod.ts";
import type { Config } from "./core/config/mod.ts";
import { startService } from "./service.ts";
import type { RunningService } from "./service.ts";

const USAGE = `Usage: npx --yes deno@2.9.6 task start [-- --help | --version]

Starts the Wix PSP integration server. It is configured by environment variables only (or a
.env file with "task start:env"); every one is optional on a developer's machine:

${CONFIG_VARIABLES.map((name) => `  ${name}`).join("\n")}

The README's Configuration section says what each one does. Exit codes: 0 after a clean stop,
2 for a configuration problem (each printed on one line with its fix), 1 for anything else.`;

/** Handles the server's own arguments; returns an exit code when there is nothing to run. */
async function handleArgs(args: string[]): Promise<number | undefined> {
  const envFile = args.find((arg) => arg.startsWith("--env-file-required="));
  const unknown = args.filter((arg) => arg !== "--" && arg !== envFile);
  if (unknown.includes("--help") || unknown.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  if (unknown.includes("--version")) {
    console.log(`wix-psp-server ${VERSION}`);
    return 0;
  }
  if (unknown.length > 0) {
    console.error(
      `error: unknown argument ${unknown[0]}; the server takes settings from ` +
        "environment variables (see --help)",
    );
    return 2;
  }
  const file = envFile?.slice("--env-file-required=".length);
  if (file && !await Deno.stat(file).then(() => true, () => false)) {
    console.error(
      `error: ${file} does not exist; "task start:env" reads its settings from it. ` +
        `Copy .env.example to ${file} and fill it in, or use "task start" with variables set`,
    );
    return 2;
  }
  return undefined;
}

/**
 * Stops `service`, waiting at most `timeoutMs` for its connections: a client that keeps a
 * connection open (or a body half-sent) must not keep a restart waiting for ever.
 */
async function stopWithin(service: RunningService, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<false>((resolve) => timer = setTimeout(resolve, timeoutMs, false));
  const stopped = await Promise.race([service.shutdown().then(() => true), deadline]);
  clearTimeout(timer);
  if (!stopped) {
    service.deps.logger.warn("stopping: connections still open after SHUTDOWN_TIMEOUT; exiting", {
      shutdownTimeoutMs: timeoutMs,
    });
  }
}

/** Starts the service from the environment and stops it on SIGINT/SIGTERM. */
async function runFromCommandLine(): Promise<void> {
  const exit = await handleArgs(Deno.args);
  if (exit !== undefined) Deno.exit(exit);
  // Listen for signals before starting: one that arrives during start-up stops cleanly too.
  const { promise: stopRequested, resolve: requestStop } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", requestStop);
  Deno.addSignalListener("SIGTERM", requestStop);
  let service: RunningService;
  let config: Config;
  try {
    config = loadConfig();
    service = await startService(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      Deno.exit(2);
    }
    console.error(`Failed to start: ${(error as Error).message}`);
    Deno.exit(1);
  }
  await stopRequested;
  await stopWithin(service, config.shutdownTimeoutMs);
  Deno.exit(0);
}

if (import.meta.main) await runFromCommandLine();
