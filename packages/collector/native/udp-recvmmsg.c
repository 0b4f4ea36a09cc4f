/*
 * The UDP syslog socket's native receive path (issue 16): a thread of its own drains the socket with
 * recvmmsg(2), up to VLEN datagrams per system call, and hands the JavaScript thread one batch at a time.
 *
 * Why native: Node's dgram delivers one datagram per callback, ~9 us of CPU each with its Buffer, its rinfo
 * object and the GC behind them (bench/udp-shared-socket.sh). One thread of that cannot take 150k
 * datagrams/s on this 2-core machine, and several (processes sharing the socket) still lost a few percent.
 * Here a datagram costs its copy into the batch; the JavaScript side gets a batch per BATCH_BYTES or per
 * flush_ms, whichever comes first, in the worker's layout (udp-receiver-worker.ts), unpacked by the same code:
 *   per datagram: u8 address length, the sender's address (latin1), u32 (LE) length, bytes.
 *
 * Memory is bounded as in the worker: past max_held batches not yet taken in by JavaScript, datagrams are
 * counted as refused (reported with the next batch) instead of queued.
 *
 * API (N-API, no C++):
 *   open(host, port, receiveBufferBytes, maxBatchesHeld, flushMs, niceRaise, onBatch)
 *     -> { handle, port, receiveBufferBytes, priorityRaised }
 *   onBatch(buffer | null, count, refused, errorMessage | null, closed)
 *   close(handle): the thread delivers what it holds, then onBatch(null, 0, refused, null, true).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define VLEN 32
#define SLOT_BYTES 65536
#define BATCH_BYTES (64 * 1024)
/* Poll timeout while nothing waits to be flushed: how soon a close() is noticed. */
#define IDLE_POLL_MS 50

typedef struct {
  int fd;
  napi_threadsafe_function tsfn;
  atomic_int stopping;
  atomic_uint held;
  unsigned max_held;
  int flush_ms;
  int nice_raise;
  int priority_raised;
  sem_t started;
  /* The thread, the JavaScript handle and the thread-safe function each hold one; the last frees it. */
  atomic_int refs;
  /* Set on the JavaScript thread once the thread-safe function is gone (the thread stopped). */
  int tsfn_finalized;
} receiver_t;

static void release_receiver(receiver_t *r) {
  if (atomic_fetch_sub(&r->refs, 1) == 1) {
    sem_destroy(&r->started);
    free(r);
  }
}

static void free_batch_data(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

typedef struct {
  char *data;
  size_t bytes;
  uint32_t count;
  uint32_t refused;
  char *error;
  int closed;
  receiver_t *r;
} batch_t;

static char *dup_error(const char *what, int err) {
  char *s = malloc(256);
  if (s) snprintf(s, 256, "%s: %s", what, strerror(err));
  return s;
}

/* Sender's address as dgram reports it, IPv4-mapped IPv6 shown as IPv4 (as the worker does). */
static size_t format_address(const struct sockaddr_storage *ss, char *out, size_t cap) {
  if (ss->ss_family == AF_INET) {
    if (!inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, cap)) return 0;
  } else if (ss->ss_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
      if (!inet_ntop(AF_INET, &a->s6_addr[12], out, cap)) return 0;
    } else if (!inet_ntop(AF_INET6, a, out, cap)) return 0;
  } else return 0;
  size_t n = strlen(out);
  return n > 255 ? 255 : n;
}

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  batch_t *b = data;
  (void)context;
  if (env == NULL) {
    free(b->data);
    free(b->error);
    free(b);
    return;
  }
  napi_value args[5], undefined;
  napi_get_undefined(env, &undefined);
  napi_get_null(env, &args[0]);
  if (b->data) {
    /* The batch's memory becomes the Buffer's, freed when it is collected (frames are views into it). */
    if (napi_create_external_buffer(env, b->bytes, b->data, free_batch_data, NULL, &args[0]) != napi_ok) {
      free(b->data);
      napi_get_null(env, &args[0]);
    }
    b->data = NULL;
  }
  napi_create_uint32(env, b->count, &args[1]);
  napi_create_uint32(env, b->refused, &args[2]);
  if (b->error) napi_create_string_utf8(env, b->error, NAPI_AUTO_LENGTH, &args[3]);
  else napi_get_null(env, &args[3]);
  napi_get_boolean(env, b->closed, &args[4]);
  napi_call_function(env, undefined, js_cb, 5, args, NULL);
  /* A JavaScript exception in the callback is the caller's to catch; it must not stop the batches. */
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  if (b->count > 0) atomic_fetch_sub(&b->r->held, 1);
  free(b->error);
  free(b);
}

typedef struct {
  char *buf;
  /* What buf holds: BATCH_BYTES, or one datagram's need when that is more (an IPv6 datagram of 65,527
     bytes from a long address). A batch refused past max_held keeps its buffer for the next one. */
  size_t cap;
  size_t p;
  uint32_t count;
  uint32_t refused;
  /* When the batch's first datagram (or refusal) came: it is handed over flush_ms after, full or not. */
  int64_t since_ms;
} pending_t;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Hands the batch over (or, past max_held, counts its datagrams refused); the caller starts a new one. */
static void flush(receiver_t *r, pending_t *pb, const char *error, int closed) {
  if (pb->count == 0 && pb->refused == 0 && !error && !closed) return;
  batch_t *b = calloc(1, sizeof *b);
  if (!b) {
    /* Out of memory: the batch's datagrams are refused (counted with the next one), and its buffer is
       emptied either way, so that the next datagram is never copied past its end. */
    pb->refused += pb->count;
    pb->p = 0;
    pb->count = 0;
    return;
  }
  b->r = r;
  b->refused = pb->refused;
  b->closed = closed;
  if (error) b->error = strdup(error);
  if (pb->count > 0) {
    if (atomic_load(&r->held) >= r->max_held) {
      b->refused += pb->count;
    } else {
      atomic_fetch_add(&r->held, 1);
      b->data = pb->buf;
      b->bytes = pb->p;
      b->count = pb->count;
      pb->buf = NULL;
    }
  }
  if (napi_call_threadsafe_function(r->tsfn, b, napi_tsfn_nonblocking) != napi_ok) {
    if (b->count > 0) atomic_fetch_sub(&r->held, 1);
    free(b->data);
    free(b->error);
    free(b);
  }
  pb->p = 0;
  pb->count = 0;
  pb->refused = 0;
}

static void *receive_loop(void *arg) {
  receiver_t *r = arg;
  /* Above the process's other threads where allowed (root, CAP_SYS_NICE), as the worker does. */
  pid_t tid = (pid_t)syscall(SYS_gettid);
  errno = 0;
  int nice_now = getpriority(PRIO_PROCESS, tid);
  r->priority_raised = r->nice_raise > 0 && errno == 0 && setpriority(PRIO_PROCESS, tid, nice_now - r->nice_raise) == 0;
  sem_post(&r->started);

  struct mmsghdr msgs[VLEN];
  struct iovec iov[VLEN];
  struct sockaddr_storage from[VLEN];
  char *slots = malloc((size_t)VLEN * SLOT_BYTES);
  pending_t pb = {0};
  char *error = NULL;
  /* EBADF: someone else closed the descriptor; its number may belong to another file by now. */
  int fd_gone = 0;
  if (!slots) error = dup_error("udp receive", ENOMEM);

  while (!error && !atomic_load(&r->stopping)) {
    int waiting = pb.count > 0 || pb.refused > 0;
    int64_t left = waiting ? pb.since_ms + r->flush_ms - now_ms() : IDLE_POLL_MS;
    if (waiting && left <= 0) {
      /* Due, even while datagrams keep coming (a steady trickle must not wait for a full batch). */
      flush(r, &pb, NULL, 0);
      continue;
    }
    struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
    int ready = poll(&pfd, 1, (int)left);
    if (ready < 0) {
      if (errno == EINTR) continue;
      fd_gone = errno == EBADF;
      error = dup_error("udp poll", errno);
      break;
    }
    if (ready == 0) {
      flush(r, &pb, NULL, 0);
      continue;
    }
    for (int i = 0; i < VLEN; i++) {
      iov[i].iov_base = slots + (size_t)i * SLOT_BYTES;
      iov[i].iov_len = SLOT_BYTES;
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(r->fd, msgs, VLEN, MSG_DONTWAIT, NULL);
    if (n < 0) {
      /* ECONNREFUSED and the like are ICMP errors of earlier sends on this socket: not ours to stop for. */
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNREFUSED || errno == ENOMEM) continue;
      fd_gone = errno == EBADF;
      error = dup_error("udp recvmmsg", errno);
      break;
    }
    for (int i = 0; i < n; i++) {
      char address[INET6_ADDRSTRLEN];
      size_t alen = format_address(&from[i], address, sizeof address);
      size_t len = msgs[i].msg_len;
      size_t need = 1 + alen + 4 + len;
      if (pb.buf && pb.p + need > BATCH_BYTES) flush(r, &pb, NULL, 0);
      if (pb.buf && pb.p + need > pb.cap) {
        /* Empty now (flushed just above), but a kept buffer too small for this datagram. */
        free(pb.buf);
        pb.buf = NULL;
      }
      if (!pb.buf) {
        pb.cap = BATCH_BYTES > need ? BATCH_BYTES : need;
        pb.buf = malloc(pb.cap);
        if (!pb.buf) {
          if (pb.count == 0 && pb.refused == 0) pb.since_ms = now_ms();
          pb.refused++;
          continue;
        }
      }
      if (pb.count == 0 && pb.refused == 0) pb.since_ms = now_ms();
      char *q = pb.buf + pb.p;
      q[0] = (char)alen;
      memcpy(q + 1, address, alen);
      q += 1 + alen;
      q[0] = (char)(len & 0xff);
      q[1] = (char)((len >> 8) & 0xff);
      q[2] = (char)((len >> 16) & 0xff);
      q[3] = (char)((len >> 24) & 0xff);
      memcpy(q + 4, iov[i].iov_base, len);
      pb.p += need;
      pb.count++;
      if (pb.p >= BATCH_BYTES) flush(r, &pb, NULL, 0);
    }
  }
  flush(r, &pb, NULL, 0);
  if (!fd_gone) close(r->fd);
  flush(r, &pb, error, 1);
  free(pb.buf);
  free(error);
  free(slots);
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  release_receiver(r);
  return NULL;
}

static void finalize_tsfn(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  receiver_t *r = data;
  r->tsfn_finalized = 1;
  release_receiver(r);
}

static void finalize_receiver(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  receiver_t *r = data;
  /* Dropped without close(): stop the thread too, then let go. */
  atomic_store(&r->stopping, 1);
  release_receiver(r);
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  const char *code = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : "EUDP";
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

/* open(host, port, receiveBufferBytes, maxBatchesHeld, flushMs, niceRaise, onBatch) */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7) {
    napi_throw_type_error(env, NULL, "open(host, port, receiveBufferBytes, maxBatchesHeld, flushMs, niceRaise, onBatch)");
    return NULL;
  }
  char host[INET6_ADDRSTRLEN + 1];
  size_t hlen = 0;
  uint32_t port = 0, rcvbuf = 0, max_held = 0, flush_ms = 1, nice_raise = 0;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hlen) != napi_ok || napi_get_value_uint32(env, argv[1], &port) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &rcvbuf) != napi_ok || napi_get_value_uint32(env, argv[3], &max_held) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &flush_ms) != napi_ok || napi_get_value_uint32(env, argv[5], &nice_raise) != napi_ok || port > 65535) {
    napi_throw_type_error(env, NULL, "open: bad arguments");
    return NULL;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sslen;
  int family;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    family = AF_INET;
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    sslen = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    sslen = sizeof *v6;
  } else {
    napi_throw_error(env, "EINVAL", "open: the host must be an IP address");
    return NULL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "udp socket", errno);
  if (family == AF_INET6) {
    int off = 0; /* both IPv4 and IPv6 on "::", as dgram's udp6 does */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  /* Past net.core.rmem_max where allowed (CAP_NET_ADMIN, as rsyslog does as root); elsewhere the kernel
     caps it at rmem_max, and the program says so at start. */
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "udp bind", err);
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &blen);
  uint32_t bound_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port);
  int granted = 0;
  socklen_t glen = sizeof granted;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen);

  receiver_t *r = calloc(1, sizeof *r);
  if (!r) {
    close(fd);
    return throw_errno(env, "udp receiver", ENOMEM);
  }
  r->fd = fd;
  r->max_held = max_held;
  r->flush_ms = flush_ms > 0 ? (int)flush_ms : 1;
  r->nice_raise = (int)nice_raise;
  sem_init(&r->started, 0, 0);
  atomic_store(&r->refs, 3);
  napi_value name;
  napi_create_string_utf8(env, "unmeltable-udp-recvmmsg", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[6], NULL, name, 0, 1, r, finalize_tsfn, NULL, call_js, &r->tsfn) != napi_ok) {
    close(fd);
    sem_destroy(&r->started);
    free(r);
    napi_throw_error(env, NULL, "udp receiver: could not create the thread-safe callback");
    return NULL;
  }
  /* Like the worker (unref'd): the receiver alone does not keep the process alive. */
  napi_unref_threadsafe_function(env, r->tsfn);
  pthread_t thread;
  int err = pthread_create(&thread, NULL, receive_loop, r);
  if (err != 0) {
    close(fd);
    /* No thread and no handle: the thread-safe function's finalizer, which the release leads to, frees r. */
    atomic_store(&r->refs, 1);
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
    return throw_errno(env, "udp receiver thread", err);
  }
  pthread_detach(thread);
  sem_wait(&r->started);

  napi_value result, handle, v;
  napi_create_object(env, &result);
  napi_create_external(env, r, finalize_receiver, NULL, &handle);
  napi_set_named_property(env, result, "handle", handle);
  napi_create_uint32(env, bound_port, &v);
  napi_set_named_property(env, result, "port", v);
  napi_create_uint32(env, (uint32_t)granted, &v);
  napi_set_named_property(env, result, "receiveBufferBytes", v);
  napi_get_boolean(env, r->priority_raised, &v);
  napi_set_named_property(env, result, "priorityRaised", v);
  return result;
}

/* close(handle) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_external(env, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "close(handle)");
    return NULL;
  }
  receiver_t *r = data;
  atomic_store(&r->stopping, 1);
  /* Until the thread's last batch (closed) has reached JavaScript, keep the event loop alive for it: a
     close awaited at shutdown must not be cut short by an event loop with nothing else to do. */
  if (!r->tsfn_finalized) napi_ref_threadsafe_function(env, r->tsfn);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, js_open, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, js_close, NULL, &fn);
  napi_set_named_property(env, exports, "close", fn);
  return exports;
}
