/* fct_grpc: a generic byte-level gRPC transport over libgrpc++ for FedCT — servers, channels, streaming calls, mTLS.
 *
 * The bridge moves serialized messages as bytes; it knows nothing about protobuf. Every RPC, on either side, is
 * a bidirectional stream (on the wire gRPC does not distinguish unary from streaming calls), driven by
 * asynchronous operations whose completion callbacks run on gRPC threads.
 *
 * Conventions:
 * - Functions that can fail return 0 on success, or non-zero and a malloc'ed message in `*error` (free it with
 *   fct_grpc_free_string). No C++ exception crosses this ABI.
 * - Every asynchronous operation invokes its callback exactly once. Normally that happens on a gRPC thread; when
 *   the operation is refused at once (the call is closing, or one of the same kind is already outstanding) the
 *   callback runs on the caller's thread before the function returns. Callbacks must not block.
 * - At most one read and one write may be outstanding on a call at a time (a gRPC rule); the bridge refuses a
 *   second one (ok = 0) rather than break. Reads and writes may be outstanding together.
 */
#ifndef FCT_GRPC_H
#define FCT_GRPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A listening gRPC server. */
typedef struct fct_grpc_server fct_grpc_server;
/** A client channel to one target; thread-safe, shared by any number of calls. */
typedef struct fct_grpc_channel fct_grpc_channel;
/**
 * One RPC, incoming (server) or outgoing (client). The handle is reference-counted: gRPC holds one reference until
 * the RPC is over, the owner of the handle holds the other until fct_grpc_call_release. Either may go first; the
 * call is freed when both are gone. After release the handle must not be used.
 */
typedef struct fct_grpc_call fct_grpc_call;

/** PEM material for mutual TLS. All three are required. */
typedef struct fct_grpc_tls {
    /** The CA certificate(s) the peer's certificate must chain to. */
    const char *root_certs_pem;
    /** This side's certificate (chain), leaf first. */
    const char *cert_chain_pem;
    /** This side's private key. */
    const char *private_key_pem;
} fct_grpc_tls;

typedef struct fct_grpc_server_options {
    /** host:port to listen on; port 0 picks a free port (reported by fct_grpc_server_start). */
    const char *address;
    /**
     * Mutual TLS: clients must present a certificate that chains to tls->root_certs_pem. NULL means plaintext,
     * which exists only for tests that ask for it.
     */
    const fct_grpc_tls *tls;
    /** Largest message accepted / sent, in bytes; <= 0 keeps gRPC's default (4 MiB received, unlimited sent). */
    int64_t max_receive_message_bytes;
    int64_t max_send_message_bytes;
    /** Ping an idle client after this long, and drop the connection if the ping is not answered in time; <= 0: gRPC default (2 h / 20 s). */
    int64_t keepalive_time_ms;
    int64_t keepalive_timeout_ms;
    /** Accept client keepalive pings this often (even without calls); <= 0: gRPC default (5 min, too slow for keepalive clients). */
    int64_t min_client_ping_interval_ms;
    /** Receive window of each call, fixed (dynamic window growth off), which bounds what gRPC buffers of each incoming
     * stream; <= 0: gRPC's default (64 KiB growing with bandwidth-delay probes). */
    int64_t stream_window_bytes;
} fct_grpc_server_options;

typedef struct fct_grpc_channel_options {
    /** gRPC target, e.g. "coordinator.example.org:7443" or "127.0.0.1:50051". */
    const char *target;
    /** Mutual TLS: the server must present a certificate for the target host chaining to tls->root_certs_pem. NULL: plaintext (tests only). */
    const fct_grpc_tls *tls;
    /** The name expected on the server's certificate when it differs from the target host; NULL or "" otherwise. */
    const char *server_name_override;
    /** Largest message accepted / sent, in bytes; <= 0 keeps gRPC's default. */
    int64_t max_receive_message_bytes;
    int64_t max_send_message_bytes;
    /** Ping the server after this much idle time (also without calls); <= 0 disables client keepalive. */
    int64_t keepalive_time_ms;
    int64_t keepalive_timeout_ms;
    /** Upper bound of the reconnection backoff; <= 0: gRPC default (120 s). */
    int64_t max_reconnect_backoff_ms;
} fct_grpc_channel_options;

/** What a server learns about an incoming call. Strings stay valid until the call is released. */
typedef struct fct_grpc_call_info {
    /** Full method path, e.g. "/fedct.v1.Site/Join". */
    const char *method;
    /** The peer's address as gRPC reports it, e.g. "ipv4:10.0.0.7:51324". */
    const char *peer_address;
    /** The client's verified certificate (PEM); "" without TLS. */
    const char *peer_certificate_pem;
    /** The identities gRPC verified for the peer (auth_context->GetPeerIdentity(): SANs, else the CN). */
    const char *const *peer_identities;
    size_t peer_identity_count;
    /** Milliseconds left until the client's deadline when the call arrived; -1 without a deadline. */
    int64_t deadline_remaining_ms;
} fct_grpc_call_info;

/** A new incoming call. The callee owns one reference to `call`: it must finish and release it. Runs on a gRPC thread. */
typedef void (*fct_grpc_call_handler)(void *context, fct_grpc_call *call);
/** A read completed: ok = 1 with a message (`data` valid only during the callback), ok = 0 at end of stream or failure. */
typedef void (*fct_grpc_read_done)(void *context, int ok, const uint8_t *data, size_t length);
/** A write, half-close or finish completed (ok = 1) or could not be carried out (ok = 0). */
typedef void (*fct_grpc_op_done)(void *context, int ok);
/** A client call is over with this status (code 0 = OK); `message` valid only during the callback. */
typedef void (*fct_grpc_status_done)(void *context, int code, const char *message);

/** Frees an error string returned by this library. NULL is fine. */
void fct_grpc_free_string(char *string);

/* ---- Server ---- */

/**
 * Starts a server that hands every incoming call, whatever its method, to `handler` (called on gRPC threads;
 * `handler_context` must stay valid until fct_grpc_server_free returns). Returns 0 and the bound port.
 */
int fct_grpc_server_start(const fct_grpc_server_options *options, fct_grpc_call_handler handler, void *handler_context,
                          fct_grpc_server **out, int *bound_port, char **error);
/**
 * Stops accepting calls, lets running calls go on for `grace_ms`, then ends the rest with UNAVAILABLE ("the server
 * is shutting down") and waits until every call is over. Blocks: do not call it from a gRPC callback. Idempotent.
 */
void fct_grpc_server_shutdown(fct_grpc_server *server, int64_t grace_ms);
/** Shuts down (grace 0) if that has not happened, then frees the server. */
void fct_grpc_server_free(fct_grpc_server *server);

/* ---- Client ---- */

/** Creates a channel. Connections are made lazily, when calls need them; a bad target shows up as UNAVAILABLE calls. */
int fct_grpc_channel_create(const fct_grpc_channel_options *options, fct_grpc_channel **out, char **error);
/** Frees a channel; calls already started keep what they need and finish normally. */
void fct_grpc_channel_free(fct_grpc_channel *channel);
/**
 * Starts a call to `method` (e.g. "/fedct.v1.Site/Join"); timeout_ms <= 0 means no deadline. The caller owns one
 * reference to the call: it must release it, normally after learning the status with fct_grpc_call_status.
 */
int fct_grpc_channel_start_call(fct_grpc_channel *channel, const char *method, int64_t timeout_ms, fct_grpc_call **out,
                                char **error);

/* ---- Calls (both sides unless noted) ---- */

/** Server: what the call is and who is calling. Client calls report only the method. */
void fct_grpc_call_get_info(const fct_grpc_call *call, fct_grpc_call_info *out);

/** Reads the next message. ok = 0 when the peer has finished sending, or the call is over or closing. */
void fct_grpc_call_read(fct_grpc_call *call, void *context, fct_grpc_read_done done);
/** Sends a message; `data` is copied before the function returns. ok = 0 if the call is over or closing. */
void fct_grpc_call_write(fct_grpc_call *call, const uint8_t *data, size_t length, void *context, fct_grpc_op_done done);
/** Client: no more messages will be written (half-close). Waits for an outstanding write first. */
void fct_grpc_call_writes_done(fct_grpc_call *call, void *context, fct_grpc_op_done done);
/**
 * Server: ends the call with `code` (0 = OK) and `message`, after any outstanding write. `done` fires once the call
 * is over: ok = 1 when the status went out, 0 when the client was gone (cancelled, deadline) or the call had already
 * been finished. No read or write may start afterwards (they fail at once).
 */
void fct_grpc_call_finish(fct_grpc_call *call, int code, const char *message, void *context, fct_grpc_op_done done);
/**
 * Client: the call's final status, delivered when the RPC is over. From this request on, new reads and writes fail
 * at once (outstanding ones complete normally). May be requested more than once.
 */
void fct_grpc_call_status(fct_grpc_call *call, void *context, fct_grpc_status_done done);
/** Cancels the call (client: CANCELLED to both sides; server: like a client cancel). Outstanding operations fail. */
void fct_grpc_call_cancel(fct_grpc_call *call);
/**
 * Drops the owner's reference. A client call not yet over is cancelled; a server call not yet finished is finished
 * with UNKNOWN. Outstanding callbacks still fire.
 */
void fct_grpc_call_release(fct_grpc_call *call);

#ifdef __cplusplus
}
#endif

#endif
