/**
 * A CPU profile of a running Deno process through its inspector (Chrome DevTools Protocol), and a
 * summary of where the time went: self time per function, heaviest first. Used by
 * `deno task bench --profile FILE`; the `.cpuprofile` file opens in Chrome DevTools.
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A V8 CPU profile. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A started profiler; `stop` returns the profile. */
export interface Profiler {
  stop(): Promise<CpuProfile>;
}

/** Connects to the inspector at `host:port` and starts sampling every 100 µs. */
export async function startProfiler(host: string): Promise<Profiler> {
  const targets = await (await fetch(`http://${host}/json/list`)).json();
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  };
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  await call("Profiler.start");
  return {
    async stop() {
      const { profile } = await call("Profiler.stop") as { profile: CpuProfile };
      socket.close();
      return profile;
    },
  };
}

/** Self time per function (ms and share), heaviest first. */
export function summarize(profile: CpuProfile, top = 30): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of self) {
    const frame = byId.get(id)!.callFrame;
    const file = frame.url.replace(/^.*\/(node_modules\/.deno\/|ext:)?/, "");
    const name = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    total += micros;
  }
  return [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, micros]) =>
      `${(micros / 1000).toFixed(0).padStart(7)} ms ${
        (100 * micros / total).toFixed(1).padStart(5)
      }%  ${name}`
    ).join("\n");
}
