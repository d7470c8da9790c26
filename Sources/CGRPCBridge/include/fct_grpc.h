/* fct_grpc: a generic byte-level gRPC transport over libgrpc++ for FedCT — servers, channels, streaming calls, mTLS. */
#ifndef FCT_GRPC_H
#define FCT_GRPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A listening gRPC server. */
typedef struct fct_grpc_server fct_grpc_server;
/** A client channel to one target. */
typedef struct fct_grpc_channel fct_grpc_channel;
/**
 * One RPC, on either side. Every call is a bidirectional stream of serialized messages; unary and
 * one-way streaming RPCs are patterns on it. At most one read and one write may be outstanding at a
 * time. Each handle is released exactly once with fct_grpc_call_release.
 */
typedef struct fct_grpc_call fct_grpc_call;

/** PEM material for mutual TLS. All three are required. */
typedef struct fct_grpc_tls {
    const char *root_certs_pem;
    const char *cert_chain_pem;
    const char *private_key_pem;
} fct_grpc_tls;

typedef struct fct_grpc_server_options {
    /** host:port; port 0 picks a free port. */
    const char *address;
    /** NULL only for tests that ask for plaintext. Clients must present a certificate signed by root_certs_pem. */
    const fct_grpc_tls *tls;
    int64_t max_message_bytes;
    int64_t keepalive_time_ms;
    int64_t keepalive_timeout_ms;
} fct_grpc_server_options;

typedef struct fct_grpc_channel_options {
    const char *target;
    const fct_grpc_tls *tls;
    /** Expected name on the server certificate when it differs from the target host; NULL otherwise. */
    const char *server_name_override;
    int64_t max_message_bytes;
    int64_t keepalive_time_ms;
    int64_t keepalive_timeout_ms;
} fct_grpc_channel_options;

/** A new incoming call; the callee owns `call` and must finish and release it. Runs on a gRPC thread. */
typedef void (*fct_grpc_call_handler)(void *context, fct_grpc_call *call);
/** A read completed: ok = 1 with a message (valid only during the callback), ok = 0 at end of stream or failure. */
typedef void (*fct_grpc_read_done)(void *context, int ok, const uint8_t *data, size_t length);
/** A write, half-close or finish completed. */
typedef void (*fct_grpc_op_done)(void *context, int ok);
/** A client call ended with this status (code 0 = OK). */
typedef void (*fct_grpc_status_done)(void *context, int code, const char *message);

void fct_grpc_free_string(char *string);

/** Starts a server; every call is handed to `handler`. Returns 0 and the bound port, or non-zero and an error. */
int fct_grpc_server_start(const fct_grpc_server_options *options, fct_grpc_call_handler handler, void *handler_context,
                          fct_grpc_server **out, int *bound_port, char **error);
/** Stops accepting calls, cancels those still running after `grace_ms`, and waits for them. */
void fct_grpc_server_shutdown(fct_grpc_server *server, int64_t grace_ms);
/** Frees a server after shutdown. */
void fct_grpc_server_free(fct_grpc_server *server);

int fct_grpc_channel_create(const fct_grpc_channel_options *options, fct_grpc_channel **out, char **error);
void fct_grpc_channel_free(fct_grpc_channel *channel);
/** Starts a call to `method` (e.g. "/fedct.v1.Site/Join"); timeout_ms <= 0 means no deadline. */
int fct_grpc_channel_start_call(fct_grpc_channel *channel, const char *method, int64_t timeout_ms, fct_grpc_call **out,
                                char **error);

/* Server side: what the call is and who is calling (strings live as long as the call). */
const char *fct_grpc_call_method(const fct_grpc_call *call);
const char *fct_grpc_call_peer_address(const fct_grpc_call *call);
/** The verified peer certificate (PEM), or "" without TLS. */
const char *fct_grpc_call_peer_certificate(const fct_grpc_call *call);
/** The identities gRPC verified (SANs, else CN), separated by newlines. */
const char *fct_grpc_call_peer_identities(const fct_grpc_call *call);

void fct_grpc_call_read(fct_grpc_call *call, void *context, fct_grpc_read_done done);
/** Copies `data` before returning. */
void fct_grpc_call_write(fct_grpc_call *call, const uint8_t *data, size_t length, void *context, fct_grpc_op_done done);
/** Client: no more messages will be written. */
void fct_grpc_call_writes_done(fct_grpc_call *call, void *context, fct_grpc_op_done done);
/** Server: ends the call with a status (0 = OK). Further finishes are ignored. */
void fct_grpc_call_finish(fct_grpc_call *call, int code, const char *message);
/** Client: the call's final status, once it is over. No operation may be started after this. */
void fct_grpc_call_status(fct_grpc_call *call, void *context, fct_grpc_status_done done);
/** Client: cancels the call. */
void fct_grpc_call_cancel(fct_grpc_call *call);
void fct_grpc_call_release(fct_grpc_call *call);

#ifdef __cplusplus
}
#endif

#endif
