// fct_grpc.cpp: FedCT's gRPC bridge — libgrpc++'s callback API behind a C ABI, moving serialized messages as bytes.
#include "fct_grpc.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

char *copy_string(const std::string &text) {
    char *out = static_cast<char *>(std::malloc(text.size() + 1));
    if (out) std::memcpy(out, text.c_str(), text.size() + 1);
    return out;
}

template <typename Body>
int guarded(char **error, Body &&body) {
    try {
        return body();
    } catch (const std::exception &e) {
        if (error) *error = copy_string(e.what());
    } catch (...) {
        if (error) *error = copy_string("unknown C++ exception in the gRPC bridge");
    }
    return 1;
}

/// Hands a received ByteBuffer to the read callback as one contiguous span.
void deliver(grpc::ByteBuffer &buffer, bool ok, void *context, fct_grpc_read_done done) {
    if (!ok) {
        done(context, 0, nullptr, 0);
        return;
    }
    grpc::Slice slice;
    if (!buffer.TrySingleSlice(&slice).ok() && !buffer.DumpToSingleSlice(&slice).ok()) {
        done(context, 0, nullptr, 0);
        return;
    }
    buffer.Clear();
    done(context, 1, slice.begin(), slice.size());
}

grpc::ByteBuffer to_buffer(const uint8_t *data, size_t length) {
    grpc::Slice slice(data, length);
    return grpc::ByteBuffer(&slice, 1);
}

/// A callback waiting for an operation to complete.
template <typename F>
struct Pending {
    void *context = nullptr;
    F done = nullptr;
};

/// What both sides of a call share: who is on the other end, and the operations Swift can start.
class Call {
  public:
    virtual ~Call() = default;
    virtual void read(void *context, fct_grpc_read_done done) = 0;
    virtual void write(const uint8_t *data, size_t length, void *context, fct_grpc_op_done done) = 0;
    virtual void writes_done(void *context, fct_grpc_op_done done) { done(context, 0); }
    virtual void finish(int, const char *) {}
    virtual void status(void *context, fct_grpc_status_done done) { done(context, GRPC_STATUS_INTERNAL, "not a client call"); }
    virtual void cancel() {}
    virtual void release() {}

    std::string method, peer_address, peer_certificate, peer_identities;
};

/// Reads and writes on either kind of reactor: one of each in flight, refused once the call is closed.
template <typename Reactor>
class Stream : public Reactor, public Call {
  public:
    void read(void *context, fct_grpc_read_done done) override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (readable_locked()) {
                read_ = {context, done};
                this->StartRead(&read_buffer_);
                return;
            }
        }
        done(context, 0, nullptr, 0);
    }

    void OnReadDone(bool ok) override {
        Pending<fct_grpc_read_done> op;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            std::swap(op, read_);
        }
        if (op.done) deliver(read_buffer_, ok, op.context, op.done);
    }

    void write(const uint8_t *data, size_t length, void *context, fct_grpc_op_done done) override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (writable_locked()) {
                write_buffer_ = to_buffer(data, length);
                write_ = {context, done};
                this->StartWrite(&write_buffer_);
                return;
            }
        }
        done(context, 0);
    }

    void OnWriteDone(bool ok) override {
        Pending<fct_grpc_op_done> op;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            std::swap(op, write_);
        }
        if (op.done) op.done(op.context, ok ? 1 : 0);
    }

  protected:
    /// Whether a new read / write may start; called with `mutex_` held.
    virtual bool readable_locked() const = 0;
    virtual bool writable_locked() const = 0;

    std::mutex mutex_;

  private:
    grpc::ByteBuffer read_buffer_, write_buffer_;
    Pending<fct_grpc_read_done> read_;
    Pending<fct_grpc_op_done> write_;
};

/// One incoming call; it keeps itself alive until gRPC reports it done.
class ServerCall final : public Stream<grpc::ServerGenericBidiReactor> {
  public:
    explicit ServerCall(grpc::GenericCallbackServerContext *context) {
        method = context->method();
        peer_address = context->peer();
        if (auto auth = context->auth_context()) {
            for (const auto &pem : auth->FindPropertyValues("x509_pem_cert")) peer_certificate.assign(pem.data(), pem.size());
            for (const auto &identity : auth->GetPeerIdentity()) {
                if (!peer_identities.empty()) peer_identities += "\n";
                peer_identities.append(identity.data(), identity.size());
            }
        }
    }

    void keep_alive(std::shared_ptr<ServerCall> self) { self_ = std::move(self); }

    void finish(int code, const char *message) override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ended_) return;
        ended_ = true;
        Finish(grpc::Status(static_cast<grpc::StatusCode>(code), message ? message : ""));
    }

    void OnDone() override {
        std::shared_ptr<ServerCall> last;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ended_ = true;
            last = std::move(self_);
        }
        // `last` may be the final owner: this object is destroyed as it goes out of scope.
    }

  private:
    bool readable_locked() const override { return !ended_; }
    bool writable_locked() const override { return !ended_; }

    bool ended_ = false;
    std::shared_ptr<ServerCall> self_;
};

/// One outgoing call. A hold keeps it open until Swift asks for the status or releases it.
class ClientCall final : public Stream<grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>> {
  public:
    ClientCall(grpc::GenericStub &stub, const std::string &name, int64_t timeout_ms) {
        method = name;
        if (timeout_ms > 0) context_.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
        stub.PrepareBidiStreamingCall(&context_, method, grpc::StubOptions(), this);
    }

    void start(std::shared_ptr<ClientCall> self) {
        self_ = std::move(self);
        AddHold();
        StartCall();
    }

    void writes_done(void *context, fct_grpc_op_done done) override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (writable_locked()) {
                writes_done_ = true;
                close_ = {context, done};
                StartWritesDone();
                return;
            }
        }
        done(context, 0);
    }

    void OnWritesDoneDone(bool ok) override {
        Pending<fct_grpc_op_done> op;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            std::swap(op, close_);
        }
        if (op.done) op.done(op.context, ok ? 1 : 0);
    }

    void status(void *context, fct_grpc_status_done done) override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!finished_) {
                status_ = {context, done};
                drop_hold_locked();
                return;
            }
        }
        done(context, final_.error_code(), final_.error_message().c_str());
    }

    void OnDone(const grpc::Status &status) override {
        Pending<fct_grpc_status_done> op;
        std::shared_ptr<ClientCall> last;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            finished_ = true;
            final_ = status;
            std::swap(op, status_);
            last = std::move(self_);
        }
        // Drop the reactor's own reference before telling Swift, so the call is never torn down
        // under a Swift thread that already moved on; `this` may be gone after the reset.
        const grpc::StatusCode code = status.error_code();
        const std::string message = status.error_message();
        last.reset();
        if (op.done) op.done(op.context, code, message.c_str());
    }

    void cancel() override { context_.TryCancel(); }

    void release() override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!finished_ && !released_hold_) context_.TryCancel();
        drop_hold_locked();
    }

  private:
    bool readable_locked() const override { return !released_hold_; }
    bool writable_locked() const override { return !released_hold_ && !writes_done_; }

    void drop_hold_locked() {
        if (released_hold_) return;
        released_hold_ = true;
        RemoveHold();
    }

    grpc::ClientContext context_;
    bool released_hold_ = false, writes_done_ = false, finished_ = false;
    grpc::Status final_;
    std::shared_ptr<ClientCall> self_;
    Pending<fct_grpc_op_done> close_;
    Pending<fct_grpc_status_done> status_;
};

class Service final : public grpc::CallbackGenericService {
  public:
    Service(fct_grpc_call_handler handler, void *context) : handler_(handler), context_(context) {}

    grpc::ServerGenericBidiReactor *CreateReactor(grpc::GenericCallbackServerContext *context) override;

  private:
    fct_grpc_call_handler handler_;
    void *context_;
};

}  // namespace

struct fct_grpc_call {
    std::shared_ptr<Call> call;
};

struct fct_grpc_server {
    std::unique_ptr<Service> service;
    std::unique_ptr<grpc::Server> server;
};

struct fct_grpc_channel {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
};

grpc::ServerGenericBidiReactor *Service::CreateReactor(grpc::GenericCallbackServerContext *context) {
    auto call = std::make_shared<ServerCall>(context);
    call->keep_alive(call);
    handler_(context_, new fct_grpc_call{call});
    return call.get();
}

extern "C" {

void fct_grpc_free_string(char *string) { std::free(string); }

int fct_grpc_server_start(const fct_grpc_server_options *options, fct_grpc_call_handler handler, void *handler_context,
                          fct_grpc_server **out, int *bound_port, char **error) {
    return guarded(error, [&] {
        auto server = std::make_unique<fct_grpc_server>();
        server->service = std::make_unique<Service>(handler, handler_context);
        std::shared_ptr<grpc::ServerCredentials> credentials;
        if (options->tls) {
            grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
            ssl.pem_root_certs = options->tls->root_certs_pem;
            ssl.pem_key_cert_pairs.push_back({options->tls->private_key_pem, options->tls->cert_chain_pem});
            credentials = grpc::SslServerCredentials(ssl);
        } else {
            credentials = grpc::InsecureServerCredentials();
        }
        grpc::ServerBuilder builder;
        int port = 0;
        builder.AddListeningPort(options->address, credentials, &port);
        if (options->max_message_bytes > 0) {
            builder.SetMaxReceiveMessageSize(int(options->max_message_bytes));
            builder.SetMaxSendMessageSize(int(options->max_message_bytes));
        }
        if (options->keepalive_time_ms > 0) {
            builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, int(options->keepalive_time_ms));
            builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, int(options->keepalive_timeout_ms));
            builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
            builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, int(options->keepalive_time_ms / 2));
            builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
        }
        builder.RegisterCallbackGenericService(server->service.get());
        server->server = builder.BuildAndStart();
        if (!server->server || port == 0) {
            if (error) *error = copy_string(std::string("cannot listen on ") + options->address + " (address in use or invalid?)");
            return 1;
        }
        *bound_port = port;
        *out = server.release();
        return 0;
    });
}

void fct_grpc_server_shutdown(fct_grpc_server *server, int64_t grace_ms) {
    if (!server->server) return;
    server->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
    server->server->Wait();
}

void fct_grpc_server_free(fct_grpc_server *server) { delete server; }

int fct_grpc_channel_create(const fct_grpc_channel_options *options, fct_grpc_channel **out, char **error) {
    return guarded(error, [&] {
        std::shared_ptr<grpc::ChannelCredentials> credentials;
        if (options->tls) {
            grpc::SslCredentialsOptions ssl;
            ssl.pem_root_certs = options->tls->root_certs_pem;
            ssl.pem_cert_chain = options->tls->cert_chain_pem;
            ssl.pem_private_key = options->tls->private_key_pem;
            credentials = grpc::SslCredentials(ssl);
        } else {
            credentials = grpc::InsecureChannelCredentials();
        }
        grpc::ChannelArguments arguments;
        if (options->max_message_bytes > 0) {
            arguments.SetMaxReceiveMessageSize(int(options->max_message_bytes));
            arguments.SetMaxSendMessageSize(int(options->max_message_bytes));
        }
        if (options->keepalive_time_ms > 0) {
            arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, int(options->keepalive_time_ms));
            arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, int(options->keepalive_timeout_ms));
            arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
            arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
        }
        if (options->server_name_override && *options->server_name_override) {
            arguments.SetSslTargetNameOverride(options->server_name_override);
        }
        auto channel = std::make_unique<fct_grpc_channel>();
        channel->channel = grpc::CreateCustomChannel(options->target, credentials, arguments);
        channel->stub = std::make_unique<grpc::GenericStub>(channel->channel);
        *out = channel.release();
        return 0;
    });
}

void fct_grpc_channel_free(fct_grpc_channel *channel) { delete channel; }

int fct_grpc_channel_start_call(fct_grpc_channel *channel, const char *method, int64_t timeout_ms, fct_grpc_call **out,
                                char **error) {
    return guarded(error, [&] {
        auto call = std::make_shared<ClientCall>(*channel->stub, method, timeout_ms);
        call->start(call);
        *out = new fct_grpc_call{call};
        return 0;
    });
}

const char *fct_grpc_call_method(const fct_grpc_call *call) { return call->call->method.c_str(); }
const char *fct_grpc_call_peer_address(const fct_grpc_call *call) { return call->call->peer_address.c_str(); }
const char *fct_grpc_call_peer_certificate(const fct_grpc_call *call) { return call->call->peer_certificate.c_str(); }
const char *fct_grpc_call_peer_identities(const fct_grpc_call *call) { return call->call->peer_identities.c_str(); }

void fct_grpc_call_read(fct_grpc_call *call, void *context, fct_grpc_read_done done) { call->call->read(context, done); }

void fct_grpc_call_write(fct_grpc_call *call, const uint8_t *data, size_t length, void *context, fct_grpc_op_done done) {
    call->call->write(data, length, context, done);
}

void fct_grpc_call_writes_done(fct_grpc_call *call, void *context, fct_grpc_op_done done) { call->call->writes_done(context, done); }

void fct_grpc_call_finish(fct_grpc_call *call, int code, const char *message) { call->call->finish(code, message); }

void fct_grpc_call_status(fct_grpc_call *call, void *context, fct_grpc_status_done done) { call->call->status(context, done); }

void fct_grpc_call_cancel(fct_grpc_call *call) { call->call->cancel(); }

void fct_grpc_call_release(fct_grpc_call *call) {
    call->call->release();
    delete call;
}

}  // extern "C"
