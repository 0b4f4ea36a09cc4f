import dgram from "node:dgram";
import net from "node:net";
import tls from "node:tls";
import { SyslogDeframer, trimTrailer, type Transport } from "@unmeltable/core";
import type { RawBatcher } from "./batcher";
import type { Ingestor } from "./ingestor";

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
}

export interface SyslogListeners {
  udpPort: number;
  tcpPort: number;
  tlsPort?: number;
  /** Stops accepting and closes every connection after delivering what it already sent. */
  close(): Promise<void>;
}

/** Starts the syslog listeners: UDP (RFC 5426), TCP (RFC 6587) and, when configured, TLS (RFC 5425). */
export async function startSyslogListeners(options: SyslogListenerOptions): Promise<SyslogListeners> {
  const sockets = new Set<net.Socket>();
  const handleStream = (transport: Transport) => (socket: net.Socket) => {
    sockets.add(socket);
    const remote = normalizeAddress(socket.remoteAddress);
    const deframer = new SyslogDeframer(
      {
        frame: (bytes) => options.ingestor.syslog(bytes, transport, remote),
        reject: (reason, bytes, detail) => options.ingestor.drop(reason, detail, transport, remote, bytes),
      },
      options.maxEventBytes,
    );
    socket.setKeepAlive(true, 60_000);
    socket.on("data", (chunk: Buffer) => {
      deframer.push(chunk);
      // Back-pressure: stop reading while too much is waiting to become durable; TCP does the rest.
      if (options.batcher.overloaded && !socket.isPaused()) {
        socket.pause();
        options.batcher.once("drain", () => socket.resume());
      }
    });
    socket.on("end", () => deframer.end());
    socket.on("error", () => undefined); // a reset by the peer is not our error; what was read is kept
    socket.on("close", () => sockets.delete(socket));
  };

  const tcp = net.createServer(handleStream("tcp"));
  await listen(tcp, options.port, options.host);
  const tcpPort = (tcp.address() as net.AddressInfo).port;

  const udp = dgram.createSocket({ type: net.isIPv6(options.host) ? "udp6" : "udp4", reuseAddr: false });
  udp.on("message", (msg, rinfo) => {
    const frame = trimTrailer(msg, 0, msg.length);
    if (frame.length > 0) options.ingestor.syslog(frame, "udp", normalizeAddress(rinfo.address));
  });
  udp.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(tcpPort, options.host, () => {
      udp.off("error", reject);
      resolve();
    });
  });
  try {
    udp.setRecvBufferSize(options.udpReceiveBufferBytes ?? 32 * 1024 * 1024);
  } catch {
    // The kernel caps it at net.core.rmem_max; the default is what we get then.
  }

  let tlsServer: tls.Server | undefined;
  let tlsPort: number | undefined;
  if (options.tls) {
    tlsServer = tls.createServer({ cert: options.tls.cert, key: options.tls.key }, handleStream("tls"));
    tlsServer.on("tlsClientError", () => undefined);
    await listen(tlsServer, options.tls.port, options.host);
    tlsPort = (tlsServer.address() as net.AddressInfo).port;
  }

  return {
    udpPort: tcpPort,
    tcpPort,
    tlsPort,
    close: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
      const closing = [closeServer(tcp), tlsServer ? closeServer(tlsServer) : Promise.resolve()];
      // Half-close: the peers' unread bytes are read and delivered, then the sockets go.
      for (const s of sockets) s.end();
      const deadline = setTimeout(() => sockets.forEach((s) => s.destroy()), 2000);
      await Promise.all(closing);
      clearTimeout(deadline);
    },
  };
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
