/**
 * The test harness's child processes: the server (`deno run main.ts`) and the CLI, started with
 * the V8 flags of the deno.json tasks operators run, and read as they run.
 * @module
 */

/** The project root (where deno.json is). */
export const PROJECT_ROOT = new URL("..", import.meta.url).pathname;

/** The `--v8-flags=...` argument the deno.json task `name` runs with. */
export function taskV8Flags(name: string): string {
  const tasks = JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}/deno.json`)).tasks;
  return /--v8-flags=\S+/.exec(tasks[name])![0];
}

/** A free loopback port, for a server that must be told its port before it starts. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** What a command printed and how it ended. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run cli.ts ...args` as `deno task cli` does, with `env` added to the environment. */
export async function runCli(env: Record<string, string>, ...args: string[]): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      taskV8Flags("cli"),
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-run=node",
      "cli.ts",
      ...args,
    ],
    cwd: PROJECT_ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** `deno run main.ts` as `deno task start` runs it, with only `env` (plus PATH and HOME) set. */
export function mainCommand(env: Record<string, string>, args: string[] = []): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      taskV8Flags("start"),
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "main.ts",
      ...args,
    ],
    cwd: PROJECT_ROOT,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/tmp", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** A server started as a child process (`deno run main.ts`), as operators run it. */
export interface ChildServer {
  process: Deno.ChildProcess;
  /** Port it listens on (read from its "listening" log line). */
  port: number;
  url: string;
  /** Every stdout line so far. */
  lines: string[];
  /** Sends `signal` and waits for exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Starts `main.ts` in a child process with `env` (plus PATH/HOME) and waits until it listens. */
export async function spawnServer(
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<ChildServer> {
  const process = mainCommand(env).spawn();
  const lines: string[] = [];
  const errors: string[] = [];
  const { promise: portFound, resolve: resolvePort } = Promise.withResolvers<number>();
  const reading = readLines(process.stdout, (line) => {
    lines.push(line);
    const match = /"msg":"listening".*"address":"http:\/\/[^:]+:(\d+)"/.exec(line);
    if (match) resolvePort(Number(match[1]));
  });
  const readingErrors = readText(process.stderr, errors);
  const port = await untilListening(portFound, process, errors, timeoutMs);
  return {
    process,
    port,
    url: `http://127.0.0.1:${port}`,
    lines,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        process.kill(signal);
      } catch { /* already gone */ }
      const status = await process.status;
      await reading;
      await readingErrors;
      return status;
    },
  };
}

/** Reads `stream` to its end, handing each line to `onLine`. */
async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
    }
  }
}

/** Reads `stream` to its end into `chunks`. */
async function readText(stream: ReadableStream<Uint8Array>, chunks: string[]) {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) chunks.push(chunk);
}

/**
 * The port once the server says it listens; rejects if it exits first (with what it wrote on
 * stderr) or after `timeoutMs`.
 */
async function untilListening(
  portFound: Promise<number>,
  process: Deno.ChildProcess,
  errors: string[],
  timeoutMs: number,
): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return await Promise.race([
    portFound,
    process.status.then((status) => {
      throw new Error(`server exited with ${status.code} before listening: ${errors.join("")}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`server did not listen within ${timeoutMs} ms`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
