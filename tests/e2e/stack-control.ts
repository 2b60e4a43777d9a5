// The e2e stack's control endpoint: lets spec files (which run in vitest worker processes) stop,
// kill and restart the ONE Neo4j that global-setup.ts started, drive the fault-injecting relay
// between neo4j-proxy and Neo4j (scripts/neo4j-relay.ts), and start an exchange simulator of
// their own (file-context.ts). Served on 127.0.0.1 with a random token;
// spec files call it through the helpers in outage-helpers.ts.
//
//   POST /neo4j/stop   {"kill": true}       SIGKILL (crash) or SIGTERM; answers once it exited
//   POST /neo4j/start                       same port, same data folder; answers once ready
//   GET  /neo4j                             {"running": bool}
//   POST /relay/drop   {"count","botId","block","answer"}   see DropPlan
//   POST /relay/release
//   GET  /relay/stats                       RelayStats
//   POST /relay/reset                       clears the relay's counters and call log
//   POST /sim          {"name"}             starts one more exchange simulator: {"url"}
//   POST /workers/restart {"kill": true}    SIGKILL (crash) or SIGTERM of the Workers process, then
//                                           a start on the same port with the same Durable Object
//                                           state; answers once /health answers again
//   POST /lane/enter  {"file","mode"}       joins the files' readers–writer lock (lanes.ts): {"ticket"}
//   POST /lane/wait   {"ticket"}            answers {"granted": true} once granted, else false
//                                           after 20 s (the caller asks again)
//   POST /lane/leave  {"ticket"}            the file ended
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { DropPlan } from "../../scripts/neo4j-relay.ts";
import type { Stack } from "../../scripts/stack.ts";
import { Lanes, type LaneMode } from "./lanes.ts";

/** A running control endpoint. */
export interface StackControl {
  url: string;
  token: string;
  close: () => Promise<void>;
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Serves the control endpoint for `stack`; requests must carry `x-control-token: <token>`. */
export async function startStackControl(stack: Stack, token: string): Promise<StackControl> {
  let neo4jRunning = stack.neo4jUrl !== null;
  // One Neo4j operation at a time: a start racing a stop would leave two JVMs on one folder.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const next = queue.then(op, op);
    queue = next.catch(() => undefined);
    return next;
  };

  // One Workers restart at a time, for the same reason.
  let workersQueue: Promise<unknown> = Promise.resolve();
  const serialWorkers = <T>(op: () => Promise<T>): Promise<T> => {
    const next = workersQueue.then(op, op);
    workersQueue = next.catch(() => undefined);
    return next;
  };

  const lanes = new Lanes();

  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers["x-control-token"] !== token) return send(401, { error: "bad control token" });
    void (async (): Promise<void> => {
      const body = req.method === "POST" ? await readJson(req) : {};
      const relay = stack.relay;
      switch (`${req.method} ${req.url}`) {
        case "POST /neo4j/stop":
          await serial(() => stack.stopNeo4j({ kill: body.kill === true }));
          neo4jRunning = false;
          return send(200, { running: false });
        case "POST /neo4j/start":
          await serial(() => stack.startNeo4j());
          neo4jRunning = true;
          return send(200, { running: true });
        case "GET /neo4j":
          return send(200, { running: neo4jRunning });
        case "POST /workers/restart": {
          const started = Date.now();
          await serialWorkers(async () => {
            await stack.stopWorkers({ kill: body.kill === true });
            await stack.startWorkers();
          });
          return send(200, { running: true, restart_ms: Date.now() - started });
        }
        case "POST /sim":
          return send(200, { url: await stack.startSimulator(String(body.name ?? "spec")) });
        case "POST /lane/enter": {
          const mode: LaneMode = body.mode === "shared" ? "shared" : "exclusive";
          return send(200, { ticket: lanes.enter(String(body.file ?? "?"), mode), holders: lanes.holders() });
        }
        case "POST /lane/wait":
          return send(200, { granted: await lanes.wait(Number(body.ticket), 20_000), holders: lanes.holders() });
        case "POST /lane/leave":
          lanes.leave(Number(body.ticket));
          return send(200, { holders: lanes.holders() });
      }
      if (!relay) return send(409, { error: "the stack runs without the Neo4j relay" });
      switch (`${req.method} ${req.url}`) {
        case "POST /relay/drop":
          relay.armDrop({
            count: Number(body.count ?? 1),
            botId: typeof body.botId === "string" ? body.botId : undefined,
            block: body.block === true,
            answer: body.answer as DropPlan["answer"],
          });
          return send(200, relay.stats());
        case "POST /relay/release":
          relay.release();
          return send(200, relay.stats());
        case "POST /relay/reset":
          relay.resetStats();
          return send(200, relay.stats());
        case "GET /relay/stats":
          return send(200, relay.stats());
      }
      return send(404, { error: `no route ${req.method} ${req.url}` });
    })().catch((err: unknown) => send(500, { error: String((err as Error).message ?? err) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    token,
    close: async (): Promise<void> => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
