// fct_grpc.cpp: FedCT's gRPC bridge — libgrpc++'s callback API behind a C ABI, moving serialized messages as bytes.
//
// Both sides of an RPC are one class hierarchy rooted at `fct_grpc_call`: a server call is a
// grpc::ServerGenericBidiReactor, a client call a grpc::ClientBidiReactor<ByteBuffer, ByteBuffer>. Each object
// carries two references — gRPC's, dropped in OnDone, and the owner's, dropped by fct_grpc_call_release — and
// deletes itself when both are gone, so the reactor's end and Swift's release may come in either order.
//
// Operations started from outside a reaction must not race the end of the RPC. The client keeps a gRPC hold
// until its owner asks for the status (or releases the call); the server's OnDone cannot come before Finish. Both
// "closing actions" (RemoveHold, Finish) wait until no owner thread is inside a Start* call (`busy_`), and Finish
// also waits for the outstanding write. The mutex is never held while calling into gRPC or into a callback.
#include "fct_grpc.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

char *copy_string(const std::string &text) {
    char *out = static_cast<char *>(std::malloc(text.size() + 1));
    if (out) std::memcpy(out, text.c_str(), text.size() + 1);
    return out;
}

/// Runs an entry point that reports failure as a status and a message; no exception leaves.
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

/// Runs an asynchronous entry point; if it throws before handing its callback on, `fail` reports the failure.
template <typename Body, typename Fail>
void guarded_op(Body &&body, Fail &&fail) {
    try {
        body();
    } catch (...) {
        fail();
    }
}

int clamp_int(int64_t value) { return value > INT_MAX ? INT_MAX : static_cast<int>(value); }

grpc::StatusCode status_code(int code) {
    return code >= GRPC_STATUS_OK && code <= GRPC_STATUS_UNAUTHENTICATED ? static_cast<grpc::StatusCode>(code)
                                                                          : grpc::StatusCode::UNKNOWN;
}

/// Copies `length` bytes into a one-slice ByteBuffer.
grpc::ByteBuffer to_buffer(const uint8_t *data, size_t length) {
    grpc::Slice slice = length > 0 ? grpc::Slice(data, length) : grpc::Slice();
    return grpc::ByteBuffer(&slice, 1);
}

/// A received message as one contiguous slice (copied only when gRPC split it).
bool flatten(grpc::ByteBuffer &buffer, grpc::Slice *out) {
    return buffer.TrySingleSlice(out).ok() || buffer.DumpToSingleSlice(out).ok();
}

/// An owner's callback waiting for an operation.
template <typename F>
struct Pending {
    void *context = nullptr;
    F done = nullptr;
    explicit operator bool() const { return done != nullptr; }
};

template <typename F>
Pending<F> take(Pending<F> &slot) {
    Pending<F> out = slot;
    slot = {};
    return out;
}

}  // namespace

/// The state and owner-facing operations shared by server and client calls.
struct fct_grpc_call {
  public:
    fct_grpc_call() = default;
    fct_grpc_call(const fct_grpc_call &) = delete;
    fct_grpc_call &operator=(const fct_grpc_call &) = delete;
    virtual ~fct_grpc_call() = default;

    void read(void *context, fct_grpc_read_done done) {
        bool admitted = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!closing_ && !read_) {
                read_ = {context, done};
                ++busy_;
                admitted = true;
            }
        }
        if (!admitted) return done(context, 0, nullptr, 0);
        start_read(&read_buffer_);
        leave();
    }

    void write(const uint8_t *data, size_t length, void *context, fct_grpc_op_done done) {
        grpc::ByteBuffer message = to_buffer(data, length);  // the copy; may throw, before anything is registered
        bool admitted = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!closing_ && !write_ && !writes_done_requested_) {
                write_ = {context, done};
                write_buffer_ = message;
                ++busy_;
                admitted = true;
            }
        }
        if (!admitted) return done(context, 0);
        start_write(&write_buffer_);
        leave();
    }

    void writes_done(void *context, fct_grpc_op_done done) {
        bool refused = false, start = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!is_client() || closing_ || writes_done_requested_) {
                refused = true;
            } else {
                writes_done_requested_ = true;
                writes_done_ = {context, done};
                if (write_) {
                    writes_done_deferred_ = true;  // started by on_write_done
                } else {
                    ++busy_;
                    start = true;
                }
            }
        }
        if (refused) return done(context, 0);
        if (start) {
            start_writes_done();
            leave();
        }
    }

    virtual void finish(int, const char *, void *context, fct_grpc_op_done done) { done(context, 0); }
    virtual void status(void *context, fct_grpc_status_done done) {
        done(context, GRPC_STATUS_FAILED_PRECONDITION, "the status is reported to client calls only");
    }
    virtual void cancel() = 0;
    virtual void release() = 0;

    void get_info(fct_grpc_call_info *out) const {
        *out = fct_grpc_call_info{};
        out->method = method_.c_str();
        out->peer_address = peer_address_.c_str();
        out->peer_certificate_pem = peer_certificate_.c_str();
        out->peer_identities = identity_pointers_.data();
        out->peer_identity_count = identity_pointers_.size();
        out->deadline_remaining_ms = deadline_remaining_ms_;
    }

    void ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
    void unref() {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

  protected:
    virtual bool is_client() const = 0;
    virtual void start_read(grpc::ByteBuffer *buffer) = 0;
    virtual void start_write(const grpc::ByteBuffer *buffer) = 0;
    virtual void start_writes_done() {}
    /// Server: Finish(final status). Client: RemoveHold(). Called once, without the mutex.
    virtual void start_close() = 0;
    /// Whether the closing action must wait for the outstanding write (the server's Finish does).
    virtual bool close_waits_for_write() const = 0;

    /// Whether the closing action may run now; with `mutex_` held.
    bool close_ready_locked() const {
        return closing_ && !closed_ && busy_ == 0 && !(close_waits_for_write() && write_);
    }

    /// Stops admitting owner operations; true if the caller must run the closing action now. With `mutex_` held.
    bool begin_close_locked() {
        closing_ = true;
        if (!close_ready_locked()) return false;
        closed_ = true;
        return true;
    }

    /// Ends an admitted Start* call, running the closing action if it was waiting for this one.
    void leave() {
        bool close = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            --busy_;
            if (close_ready_locked()) close = closed_ = true;
        }
        if (close) start_close();
    }

    void on_read_done(bool ok) {
        // No other read can start before the owner hears of this one, so the buffer is ours until then.
        grpc::Slice message;
        const bool delivered = ok && flatten(read_buffer_, &message);
        read_buffer_.Clear();
        Pending<fct_grpc_read_done> op;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            op = take(read_);
        }
        if (!op) return;
        if (delivered) {
            op.done(op.context, 1, message.begin(), message.size());
        } else {
            op.done(op.context, 0, nullptr, 0);
        }
    }

    void on_write_done(bool ok) {
        Pending<fct_grpc_op_done> op;
        bool half_close = false, close = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            op = take(write_);
            write_buffer_.Clear();
            if (writes_done_deferred_) {
                writes_done_deferred_ = false;
                half_close = true;
            }
            if (close_ready_locked()) close = closed_ = true;
        }
        // Inside a reaction, so starting operations is safe even without a hold.
        if (half_close) start_writes_done();
        if (close) start_close();
        if (op) op.done(op.context, ok ? 1 : 0);
    }

    void on_writes_done_done(bool ok) {
        Pending<fct_grpc_op_done> op;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            op = take(writes_done_);
        }
        if (op) op.done(op.context, ok ? 1 : 0);
    }

    std::mutex mutex_;
    int busy_ = 0;          // owner threads inside an admitted Start* call
    bool closing_ = false;  // no more owner operations are admitted
    bool closed_ = false;   // the closing action has been started
    Pending<fct_grpc_read_done> read_;
    Pending<fct_grpc_op_done> write_, writes_done_;
    bool writes_done_requested_ = false, writes_done_deferred_ = false;

    std::string method_, peer_address_, peer_certificate_;
    std::vector<std::string> identities_;
    std::vector<const char *> identity_pointers_;
    int64_t deadline_remaining_ms_ = -1;

  private:
    std::atomic<int> refs_{2};  // gRPC's (until OnDone) and the owner's (until release)
    grpc::ByteBuffer read_buffer_, write_buffer_;
};

namespace {

class Service;

/// One incoming call. Created by the service for every RPC, whatever its method.
class ServerCall final : public grpc::ServerGenericBidiReactor, public fct_grpc_call {
  public:
    ServerCall(grpc::GenericCallbackServerContext *context, Service *service) : context_(context), service_(service) {
        method_ = context->method();
        peer_address_ = context->peer();
        if (auto auth = context->auth_context()) {
            for (const auto &pem : auth->FindPropertyValues("x509_pem_cert")) peer_certificate_.assign(pem.data(), pem.size());
            for (const auto &identity : auth->GetPeerIdentity()) identities_.emplace_back(identity.data(), identity.size());
        }
        for (const auto &identity : identities_) identity_pointers_.push_back(identity.c_str());
        const auto deadline = context->deadline();
        if (deadline != std::chrono::system_clock::time_point::max()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::system_clock::now());
            deadline_remaining_ms_ = left.count() > 0 ? left.count() : 0;
        }
    }

    void finish(int code, const char *message, void *context, fct_grpc_op_done done) override {
        bool refused = false, start = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (closing_) {
                refused = true;
            } else {
                final_ = grpc::Status(status_code(code), message ? message : "");
                finish_ = {context, done};
                start = begin_close_locked();
            }
        }
        if (refused) return done(context, 0);
        if (start) start_close();
    }

    /// Ends the call with `status` unless the owner already finished it (release, shutdown).
    void force_finish(const grpc::Status &status) {
        bool start = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (closing_) return;
            final_ = status;
            start = begin_close_locked();
        }
        if (start) start_close();
    }

    void cancel() override {
        // The context lives until OnDone, which cannot come before Finish, which waits while busy_ > 0.
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (closed_) return;
            ++busy_;
        }
        context_->TryCancel();
        leave();
    }

    void release() override {
        force_finish(grpc::Status(grpc::StatusCode::UNKNOWN, "the server dropped the call without a status"));
        unref();
    }

    void OnReadDone(bool ok) override { on_read_done(ok); }
    void OnWriteDone(bool ok) override { on_write_done(ok); }
    void OnCancel() override {
        std::lock_guard<std::mutex> lock(mutex_);
        cancelled_ = true;
    }
    void OnDone() override;

  protected:
    bool is_client() const override { return false; }
    void start_read(grpc::ByteBuffer *buffer) override { StartRead(buffer); }
    void start_write(const grpc::ByteBuffer *buffer) override { StartWrite(buffer); }
    void start_close() override { Finish(final_); }  // final_ is fixed once closing_ is set
    bool close_waits_for_write() const override { return true; }

  private:
    grpc::GenericCallbackServerContext *const context_;
    Service *const service_;
    grpc::Status final_;
    bool cancelled_ = false;
    Pending<fct_grpc_op_done> finish_;
};

/// The one generic service: every call becomes a ServerCall handed to the owner's handler.
class Service final : public grpc::CallbackGenericService {
  public:
    Service(fct_grpc_call_handler handler, void *context) : handler_(handler), context_(context) {}

    grpc::ServerGenericBidiReactor *CreateReactor(grpc::GenericCallbackServerContext *context) override {
        auto *call = new ServerCall(context, this);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            live_.insert(call);
        }
        handler_(context_, call);
        return call;
    }

    /// Called from the call's OnDone; the service outlives every call (shutdown waits for them).
    void forget(ServerCall *call) {
        std::lock_guard<std::mutex> lock(mutex_);
        live_.erase(call);
    }

    /// Finishes every call its owner has not finished yet.
    void finish_all(const grpc::Status &status) {
        std::vector<ServerCall *> calls;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (auto *call : live_) {
                call->ref();  // alive while listed: OnDone unlists it before dropping gRPC's reference
                calls.push_back(call);
            }
        }
        for (auto *call : calls) {
            call->force_finish(status);
            call->unref();
        }
    }

  private:
    fct_grpc_call_handler handler_;
    void *context_;
    std::mutex mutex_;
    std::unordered_set<ServerCall *> live_;
};

void ServerCall::OnDone() {
    Pending<fct_grpc_op_done> op;
    bool delivered = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closing_ = closed_ = true;
        op = take(finish_);
        delivered = !cancelled_;
    }
    service_->forget(this);
    unref();  // gRPC's reference; `this` may be gone now
    if (op) op.done(op.context, delivered ? 1 : 0);
}

/// One outgoing call. A hold keeps the stream open (OnDone cannot fire) until the owner asks for the status or
/// releases the call, so owner threads can start reads and writes at any time before that.
class ClientCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>, public fct_grpc_call {
  public:
    ClientCall(const std::string &method, int64_t timeout_ms) {
        method_ = method;
        if (timeout_ms > 0) context_.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
    }

    void start(grpc::GenericStub &stub) {
        stub.PrepareBidiStreamingCall(&context_, method_, grpc::StubOptions(), this);
        AddHold();  // before StartCall, as gRPC requires
        StartCall();
    }

    void status(void *context, fct_grpc_status_done done) override {
        bool now = false, close = false;
        int code = 0;
        std::string message;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (finished_) {
                now = true;
                code = final_.error_code();
                message = final_.error_message();
            } else {
                status_waiters_.push_back({context, done});
                close = begin_close_locked();
            }
        }
        if (close) start_close();
        if (now) done(context, code, message.c_str());
    }

    void cancel() override { context_.TryCancel(); }  // the context lives as long as this object

    void release() override {
        bool finished = false, close = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            finished = finished_;
            close = begin_close_locked();
        }
        if (!finished) context_.TryCancel();  // nobody will read the outcome; free the server's side too
        if (close) start_close();
        unref();
    }

    void OnReadDone(bool ok) override { on_read_done(ok); }
    void OnWriteDone(bool ok) override { on_write_done(ok); }
    void OnWritesDoneDone(bool ok) override { on_writes_done_done(ok); }

    void OnDone(const grpc::Status &status) override {
        std::vector<Pending<fct_grpc_status_done>> waiters;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            finished_ = true;
            closing_ = closed_ = true;
            final_ = status;
            waiters.swap(status_waiters_);
        }
        const int code = status.error_code();
        const std::string message = status.error_message();
        unref();  // gRPC's reference; `this` may be gone now
        for (const auto &waiter : waiters) waiter.done(waiter.context, code, message.c_str());
    }

  protected:
    bool is_client() const override { return true; }
    void start_read(grpc::ByteBuffer *buffer) override { StartRead(buffer); }
    void start_write(const grpc::ByteBuffer *buffer) override { StartWrite(buffer); }
    void start_writes_done() override { StartWritesDone(); }
    void start_close() override { RemoveHold(); }
    bool close_waits_for_write() const override { return false; }

  private:
    grpc::ClientContext context_;
    bool finished_ = false;
    grpc::Status final_;
    std::vector<Pending<fct_grpc_status_done>> status_waiters_;
};

}  // namespace

struct fct_grpc_server {
    std::unique_ptr<Service> service;  // declared first: destroyed after the server
    std::unique_ptr<grpc::Server> server;
    std::once_flag shutdown_once;
};

struct fct_grpc_channel {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
};

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
        // gRPC sets SO_REUSEPORT by default on Linux: a second server on a taken port would start silently.
        builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
        if (options->max_receive_message_bytes > 0) builder.SetMaxReceiveMessageSize(clamp_int(options->max_receive_message_bytes));
        if (options->max_send_message_bytes > 0) builder.SetMaxSendMessageSize(clamp_int(options->max_send_message_bytes));
        if (options->keepalive_time_ms > 0) {
            builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, clamp_int(options->keepalive_time_ms));
            if (options->keepalive_timeout_ms > 0) {
                builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, clamp_int(options->keepalive_timeout_ms));
            }
            builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
        }
        builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
        if (options->min_client_ping_interval_ms > 0) {
            builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                                       clamp_int(options->min_client_ping_interval_ms));
        }
        if (options->stream_window_bytes > 0) {
            // A fixed receive window per call: without BDP probing gRPC would grow it to many MiB per call and
            // buffer that much of every concurrent upload.
            builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
            builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, clamp_int(options->stream_window_bytes));
        }
        builder.RegisterCallbackGenericService(server->service.get());
        server->server = builder.BuildAndStart();
        if (!server->server || port == 0) {
            if (error) {
                *error = copy_string(std::string("cannot listen on ") + options->address +
                                     ": the address is taken or invalid" +
                                     (options->tls ? ", or the server's certificate and key are unusable" : "") +
                                     " (gRPC logged the reason)");
            }
            return 1;
        }
        *bound_port = port;
        *out = server.release();
        return 0;
    });
}

void fct_grpc_server_shutdown(fct_grpc_server *server, int64_t grace_ms) {
    std::call_once(server->shutdown_once, [&] {
        const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms > 0 ? grace_ms : 0);
        // grpc::Server::Shutdown cancels calls at the deadline but then waits for every reactor's OnDone, which
        // needs a Finish; this watchdog supplies one for calls whose owner never finishes them.
        std::mutex mutex;
        std::condition_variable returned_cv;
        bool returned = false;
        std::thread watchdog([&] {
            std::unique_lock<std::mutex> lock(mutex);
            if (!returned_cv.wait_until(lock, deadline, [&] { return returned; })) {
                lock.unlock();
                server->service->finish_all(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
            }
        });
        server->server->Shutdown(deadline);
        {
            std::lock_guard<std::mutex> lock(mutex);
            returned = true;
        }
        returned_cv.notify_all();
        watchdog.join();
        server->server->Wait();
    });
}

void fct_grpc_server_free(fct_grpc_server *server) {
    if (!server) return;
    fct_grpc_server_shutdown(server, 0);
    delete server;
}

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
        if (options->max_receive_message_bytes > 0) arguments.SetMaxReceiveMessageSize(clamp_int(options->max_receive_message_bytes));
        if (options->max_send_message_bytes > 0) arguments.SetMaxSendMessageSize(clamp_int(options->max_send_message_bytes));
        if (options->keepalive_time_ms > 0) {
            arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, clamp_int(options->keepalive_time_ms));
            if (options->keepalive_timeout_ms > 0) arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, clamp_int(options->keepalive_timeout_ms));
            arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
            arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
        }
        if (options->max_reconnect_backoff_ms > 0) {
            arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, clamp_int(options->max_reconnect_backoff_ms));
        }
        if (options->server_name_override && *options->server_name_override) {
            arguments.SetSslTargetNameOverride(options->server_name_override);
        }
        auto channel = std::make_unique<fct_grpc_channel>();
        channel->channel = grpc::CreateCustomChannel(options->target, credentials, arguments);
        if (!channel->channel) throw std::runtime_error(std::string("cannot create a channel to ") + options->target);
        channel->stub = std::make_unique<grpc::GenericStub>(channel->channel);
        *out = channel.release();
        return 0;
    });
}

void fct_grpc_channel_free(fct_grpc_channel *channel) { delete channel; }

int fct_grpc_channel_start_call(fct_grpc_channel *channel, const char *method, int64_t timeout_ms, fct_grpc_call **out,
                                char **error) {
    return guarded(error, [&] {
        auto call = std::make_unique<ClientCall>(method, timeout_ms);
        call->start(*channel->stub);  // from here on gRPC owns its reference
        *out = call.release();
        return 0;
    });
}

void fct_grpc_call_get_info(const fct_grpc_call *call, fct_grpc_call_info *out) { call->get_info(out); }

void fct_grpc_call_read(fct_grpc_call *call, void *context, fct_grpc_read_done done) {
    guarded_op([&] { call->read(context, done); }, [&] { done(context, 0, nullptr, 0); });
}

void fct_grpc_call_write(fct_grpc_call *call, const uint8_t *data, size_t length, void *context, fct_grpc_op_done done) {
    guarded_op([&] { call->write(data, length, context, done); }, [&] { done(context, 0); });
}

void fct_grpc_call_writes_done(fct_grpc_call *call, void *context, fct_grpc_op_done done) {
    guarded_op([&] { call->writes_done(context, done); }, [&] { done(context, 0); });
}

void fct_grpc_call_finish(fct_grpc_call *call, int code, const char *message, void *context, fct_grpc_op_done done) {
    guarded_op([&] { call->finish(code, message, context, done); }, [&] { done(context, 0); });
}

void fct_grpc_call_status(fct_grpc_call *call, void *context, fct_grpc_status_done done) {
    guarded_op([&] { call->status(context, done); },
               [&] { done(context, GRPC_STATUS_INTERNAL, "out of memory in the gRPC bridge"); });
}

void fct_grpc_call_cancel(fct_grpc_call *call) { call->cancel(); }

void fct_grpc_call_release(fct_grpc_call *call) {
    if (call) call->release();
}

}  // extern "C"
