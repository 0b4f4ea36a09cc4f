import net from "node:net";
import tls from "node:tls";
import { noLogger, noMetrics, SyslogDeframer, trimTrailer, type Logger, type Metrics, type Transport } from "@unmeltable/core";
import type { RawBatcher } from "./batcher";
import type { Ingestor } from "./ingestor";
import { startUdpReceiver, type UdpReceivePath } from "./udp-receiver";
import { UnfinishedFrames, type FrameHolder } from "./unfinished-frames";

/**
 * What unauthenticated stream connections may hold. Anyone who can reach the port can open connections,
 * so each resource a connection ties up has a limit of its own.
 */
export interface StreamLimits {
  /** Open connections per listener (TCP, TLS); beyond it new connections are refused (closed at once). */
  maxConnections: number;
  /** Bytes of unfinished frames of all connections together (see UnfinishedFrames). */
  bufferBytes: number;
  /** A connection that sends nothing for this long is closed. */
  idleTimeoutMs: number;
  /** A frame (and a TLS handshake) must be finished within this long, or the connection is closed. */
  frameTimeoutMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxConnections: 4096,
  bufferBytes: 64 * 1024 * 1024,
  idleTimeoutMs: 10 * 60_000,
  frameTimeoutMs: 30_000,
};

/**
 * A frame that ends in NUL waits for the next byte to tell whether NUL was its trailer (see SyslogDeframer);
 * when the sender goes quiet after it, it is delivered this long after the last read.
 */
const NUL_TRAILER_QUIET_MS = 200;

export interface SyslogListenerOptions {
  host: string;
  /** UDP and TCP listen on the same port number, as syslog's 514 does. */
  port: number;
  tls?: { port: number; cert: Buffer | string; key: Buffer | string };
  maxEventBytes: number;
  ingestor: Ingestor;
  batcher: RawBatcher;
  /** Kernel receive buffer for UDP; bursts beyond it are lost by the kernel before we see them. */
  udpReceiveBufferBytes?: number;
  /** How UDP is received (udp-receiver.ts): native recvmmsg where built, else Node's dgram. */
  udpReceivePath?: UdpReceivePath;
  limits?: Partial<StreamLimits>;
  metrics?: Metrics;
  /** Where connections refused and closed are said (warnings, at most one line per kind per 10 s). */
  logger?: Logger;
}

export interface SyslogListeners {
  udpPort: number;
  tcpPort: number;
  tlsPort?: number;
  /** Stops accepting and closes every connection after delivering what it already sent. */
  close(): Promise<void>;
}

type CloseReason = "idle" | "frame_timeout" | "buffer_budget";

/** Starts the syslog listeners: UDP (RFC 5426), TCP (RFC 6587) and, when configured, TLS (RFC 5425). */
export async function startSyslogListeners(options: SyslogListenerOptions): Promise<SyslogListeners> {
  const limits: StreamLimits = { ...DEFAULT_STREAM_LIMITS, ...options.limits };
  const metrics = options.metrics ?? noMetrics;
  const notice = new Notices(options.logger ?? noLogger);
  const openGauge = metrics.gauge("unmeltable_syslog_connections", "Open syslog stream connections, by transport", ["transport"]);
  const bufferedGauge = metrics.gauge("unmeltable_syslog_unfinished_frame_bytes", "Bytes of syslog frames received but not yet finished, all connections together");
  const closedCounter = metrics.counter("unmeltable_syslog_connections_closed_total", "Syslog connections the server cut off, by transport and reason (idle, frame_timeout, buffer_budget)", ["transport", "reason"]);
  const refusedCounter = metrics.counter("unmeltable_syslog_connections_refused_total", "Syslog connections refused because the listener had --syslog-max-connections open", ["transport"]);
  const unfinished = new UnfinishedFrames(limits.bufferBytes, limits.frameTimeoutMs);
  const sweeper = setInterval(() => {
    unfinished.sweep();
    bufferedGauge.set(unfinished.bytes);
  }, Math.max(100, Math.min(1000, limits.frameTimeoutMs / 4)));
  sweeper.unref();
  const open = new Map<Transport, number>();
  const countOpen = (transport: Transport, delta: number) => {
    const n = (open.get(transport) ?? 0) + delta;
    open.set(transport, n);
    openGauge.set(n, { transport });
  };

  const sockets = new Set<net.Socket>();
  const turns = new Turns();
  const handleStream = (transport: Transport) => (socket: net.Socket) => {
    sockets.add(socket);
    countOpen(transport, 1);
    const remote = normalizeAddress(socket.remoteAddress);
    // The frames of one read go to the ingestor together (see Ingestor.syslogFrames).
    let frames: Buffer[] = [];
    const deliver = () => {
      if (frames.length === 0) return;
      const these = frames;
      frames = [];
      options.ingestor.syslogFrames(these, transport, remote);
    };
    const deframer = new SyslogDeframer(
      {
        frame: (bytes) => void frames.push(bytes),
        reject: (reason, bytes, detail) => {
          // In order: what came before the refused frame is accepted first.
          deliver();
          options.ingestor.drop(reason, detail, transport, remote, bytes);
        },
      },
      options.maxEventBytes,
    );
    /** Bytes read in the current turn (see waitForTurn). */
    const turn = { bytes: 0, epoch: 0 };
    let nulTimer: NodeJS.Timeout | undefined;
    const holder: FrameHolder = {
      held: 0,
      since: 0,
      paused: false,
      cut: (reason) => cut(reason),
    };
    const cut = (reason: CloseReason) => {
      if (socket.destroyed) return;
      const partial = deframer.discard();
      unfinished.release(holder);
      if (partial.length > 0) {
        options.ingestor.drop("unparseable_frame", `connection closed (${reason}) holding an unfinished frame of ${partial.length} bytes`, transport, remote, partial);
      }
      closedCounter.inc({ transport, reason });
      notice.count(`closed-${reason}`, closeNotice(reason, limits));
      socket.destroy();
    };
    socket.setKeepAlive(true, 60_000);
    socket.setTimeout(limits.idleTimeoutMs);
    socket.on("timeout", () => cut("idle"));
    socket.on("data", (chunk: Buffer) => {
      const ended = deframer.completed;
      deframer.push(chunk);
      deliver();
      unfinished.update(holder, deframer.buffered, deframer.completed !== ended);
      clearTimeout(nulTimer);
      if (deframer.holdsNulTerminated) {
        nulTimer = setTimeout(() => {
          deframer.flushNulTerminated();
          deliver();
          unfinished.update(holder, deframer.buffered, true);
        }, NUL_TRAILER_QUIET_MS);
      }
      // Back-pressure: stop reading while too much is waiting to become durable; TCP does the rest.
      if (options.batcher.overloaded) waitForDrain();
      else if (sockets.size > 1) {
        if (turn.epoch !== turns.epoch) {
          turn.epoch = turns.epoch;
          turn.bytes = 0;
        }
        if ((turn.bytes += chunk.length) >= TURN_BYTES) waitForTurn();
      }
    });
    const waitForDrain = (paused = false) => {
      if ((socket.isPaused() && !paused) || socket.destroyed) return;
      socket.pause();
      socket.setTimeout(0);
      unfinished.pause(holder);
      options.batcher.once("drain", () => {
        if (socket.destroyed) return;
        unfinished.resume(holder);
        socket.setTimeout(limits.idleTimeoutMs);
        socket.resume();
      });
    };
    /**
     * Fairness between connections: libuv reads a readable socket up to 32 times in a row, so after a
     * drain the connection that epoll lists first took nearly all the room and the other waited (issue 16
     * measured two connections of one sender served 12.5x apart). A connection that read TURN_BYTES in
     * this turn of the event loop waits for the next turn, when every connection's count starts again.
     */
    const waitForTurn = () => {
      if (socket.isPaused() || socket.destroyed) return;
      socket.pause();
      turns.wait(() => {
        if (socket.destroyed) return;
        if (options.batcher.overloaded) waitForDrain(true);
        else socket.resume();
      });
    };
    socket.on("end", () => {
      clearTimeout(nulTimer);
      deframer.end();
      deliver();
      unfinished.release(holder);
    });
    socket.on("error", () => undefined); // a reset by the peer is not our error; what was read is kept
    socket.on("close", () => {
      clearTimeout(nulTimer);
      unfinished.release(holder);
      sockets.delete(socket);
      countOpen(transport, -1);
    });
  };
  const refuseBeyondLimit = (server: net.Server, transport: Transport) => {
    server.maxConnections = limits.maxConnections;
    server.on("drop", () => {
      refusedCounter.inc({ transport });
      notice.count(`refused-${transport}`, (n) => `syslog ${transport}: refused ${n} connection(s): ${limits.maxConnections} already open (--syslog-max-connections)`);
    });
  };

  const tcp = net.createServer(handleStream("tcp"));
  refuseBeyondLimit(tcp, "tcp");
  await listen(tcp, options.port, options.host);
  const tcpPort = (tcp.address() as net.AddressInfo).port;

  // In a worker thread of its own (udp-receiver-worker.ts): the main thread's pauses no longer overflow the
  // kernel's receive buffer. Up to 1024 batches of 64 KiB may wait for the main thread.
  const askedBufferBytes = options.udpReceiveBufferBytes ?? 32 * 1024 * 1024;
  const udp = await startUdpReceiver(
    { host: options.host, port: tcpPort, receiveBufferBytes: askedBufferBytes, maxBatchesHeld: 1024, receivePath: options.udpReceivePath },
    (datagrams, remote) => {
      const frames: Buffer[] = [];
      for (const d of datagrams) {
        const frame = trimTrailer(d, 0, d.length);
        if (frame.length > 0) frames.push(frame);
      }
      options.ingestor.syslogFrames(frames, "udp", remote);
    },
    (n) => options.ingestor.refuseUdp(n),
    options.logger ?? noLogger,
  );
  // Linux reports twice what it grants (the doubling covers its bookkeeping), capped by net.core.rmem_max.
  // Measured in `start` (bench/RESULTS.md, issue 16): with the common 4 MiB cap, a stall of the receiver
  // thread of some 50 ms at 50k datagrams/s loses datagrams; with 32 MiB, none were lost.
  if (udp.receiveBufferBytes > 0 && udp.receiveBufferBytes < askedBufferBytes) {
    (options.logger ?? noLogger).warn(
      `syslog UDP: the kernel granted a ${Math.round(udp.receiveBufferBytes / 2 / 1048576)} MiB receive buffer of the ${Math.round(askedBufferBytes / 1048576)} MiB asked (net.core.rmem_max caps it); ` +
        `bursts may overflow it and lose datagrams: raise it with \`sysctl -w net.core.rmem_max=${askedBufferBytes}\``,
      { grantedBytes: udp.receiveBufferBytes / 2, askedBytes: askedBufferBytes },
    );
  }

  metrics.gauge("unmeltable_syslog_udp_receive_path", "1 for the receive path syslog UDP uses: native (recvmmsg) or dgram (Node's, fallback or --udp-receiver dgram)", ["path"]).set(1, { path: udp.path });
  if (udp.fallbackReason) {
    // Measured (bench/RESULTS.md, issue 16): dgram takes ~9 us of CPU per datagram, so above ~100k/s one
    // thread of it loses datagrams where the native path does not.
    (options.logger ?? noLogger).warn(`syslog UDP: receiving with Node's dgram, which loses datagrams above ~100k/s, instead of the native path: ${udp.fallbackReason}`);
  }

  if (!udp.priorityRaised) {
    // Measured in `start` at 50k datagrams/s with the 4 MiB cap (bench/RESULTS.md, issue 16): 0.7-7.8 % lost
    // at the process's priority, none 5 levels above it.
    (options.logger ?? noLogger).info(
      "syslog UDP: the receiver thread runs at the process's priority (raising it needs root or CAP_SYS_NICE); while the stages keep the CPUs busy, bursts may overflow the receive buffer",
    );
  }

  let tlsServer: tls.Server | undefined;
  let tlsPort: number | undefined;
  if (options.tls) {
    tlsServer = tls.createServer({ cert: options.tls.cert, key: options.tls.key, handshakeTimeout: limits.frameTimeoutMs }, handleStream("tls"));
    tlsServer.on("tlsClientError", () => undefined);
    refuseBeyondLimit(tlsServer, "tls");
    await listen(tlsServer, options.tls.port, options.host);
    tlsPort = (tlsServer.address() as net.AddressInfo).port;
  }

  return {
    udpPort: tcpPort,
    tcpPort,
    tlsPort,
    close: async () => {
      clearInterval(sweeper);
      notice.stop();
      await udp.close();
      const closing = [closeServer(tcp), tlsServer ? closeServer(tlsServer) : Promise.resolve()];
      // Half-close: the peers' unread bytes are read and delivered, then the sockets go.
      for (const s of sockets) s.end();
      const deadline = setTimeout(() => sockets.forEach((s) => s.destroy()), 2000);
      await Promise.all(closing);
      clearTimeout(deadline);
    },
  };
}

/** Bytes a stream connection may read in one turn of the event loop while other connections are open. */
const TURN_BYTES = 128 * 1024;

/**
 * The next turn of the event loop (setImmediate runs after the poll phase that read the sockets): the
 * connections that used up their turn's bytes wait here, and every open connection's count is reset.
 */
class Turns {
  /** Advances at each such turn: a connection whose count is of an older epoch starts it again. */
  epoch = 0;
  private waiting: (() => void)[] = [];

  wait(next: () => void): void {
    this.waiting.push(next);
    if (this.waiting.length > 1) return;
    setImmediate(() => {
      this.epoch++;
      const all = this.waiting;
      this.waiting = [];
      for (const f of all) f();
    });
  }
}

function closeNotice(reason: CloseReason, limits: StreamLimits): (n: number) => string {
  switch (reason) {
    case "idle":
      return (n) => `syslog: closed ${n} connection(s) idle for ${limits.idleTimeoutMs / 1000} s (--syslog-idle-timeout)`;
    case "frame_timeout":
      return (n) => `syslog: closed ${n} connection(s) holding an unfinished frame for ${limits.frameTimeoutMs / 1000} s (--syslog-frame-timeout)`;
    case "buffer_budget":
      return (n) => `syslog: closed ${n} connection(s) to keep unfinished frames under ${limits.bufferBytes} bytes (--syslog-buffer-bytes)`;
  }
}

/**
 * Log lines about refused and closed connections, at most one per kind every 10 s, with the count since the
 * last one: an attack must not turn into a flood of log lines.
 */
class Notices {
  private readonly pending = new Map<string, { n: number; text: (n: number) => string }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly logger: Logger) {}

  /** A warn line: the words (with the count) for a reader, the kind and the count as fields for a search. */
  private say(kind: string, n: number, text: (n: number) => string): void {
    this.logger.warn(text(n), { notice: kind, connections: n });
  }

  count(kind: string, text: (n: number) => string): void {
    const p = this.pending.get(kind);
    if (p) {
      p.n++;
      return;
    }
    if (this.timer === undefined) {
      // The first of a kind is said at once; what follows within the window is summed up at its end.
      this.say(kind, 1, text);
      this.pending.set(kind, { n: 0, text });
      this.timer = setTimeout(() => this.flush(), 10_000);
      this.timer.unref();
      return;
    }
    this.pending.set(kind, { n: 1, text });
  }

  private flush(): void {
    this.timer = undefined;
    const said = [...this.pending].filter(([, p]) => p.n > 0);
    this.pending.clear();
    for (const [kind, p] of said) this.say(kind, p.n, p.text);
    if (said.length > 0) {
      // Keep the window open while it goes on.
      for (const [kind, p] of said) this.pending.set(kind, { n: 0, text: p.text });
      this.timer = setTimeout(() => this.flush(), 10_000);
      this.timer.unref();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** "::ffff:10.0.0.1" (an IPv4 peer on a dual-stack socket) → "10.0.0.1". */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return "unknown";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}
