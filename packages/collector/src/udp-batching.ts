/**
 * How both UDP receive paths hand datagrams to the main thread: the dgram worker (udp-receiver-worker.ts)
 * and the native thread (../native/udp-recvmmsg.c, whose BATCH_BYTES is this one's twin in C).
 */

/** A batch is handed over once it holds this many bytes... */
export const UDP_BATCH_BYTES = 64 * 1024;
/** ...or this long after its first datagram, whichever comes first. */
export const UDP_FLUSH_MS = 1;
/** Nice levels the receiving thread runs above the process, where allowed (root, CAP_SYS_NICE). */
export const UDP_NICE_RAISE = 5;
