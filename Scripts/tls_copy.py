#!/usr/bin/env python3
"""The raw TLS baseline of Scripts/bench-transfer.sh (standard library only).

    tls_copy.py FILE PKI OUT

A child process serves FILE once over mutual TLS with the coordinator's certificate from PKI (`fedctl provision`'s
folder), in 1 MiB writes; this process connects with the admin's certificate, writes what it receives to OUT and
fsyncs it, and prints the seconds from its connect to the fsync.
"""
import os
import socket
import ssl
import subprocess
import sys
import time


def serve(path, pki, port_file):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(f"{pki}/coordinator/cert.pem", f"{pki}/coordinator/key.pem")
    context.load_verify_locations(f"{pki}/coordinator/ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with open(port_file + ".tmp", "w") as f:
            f.write(str(listener.getsockname()[1]))
        os.rename(port_file + ".tmp", port_file)
        connection, _ = listener.accept()
        with context.wrap_socket(connection, server_side=True) as tls, open(path, "rb") as source:
            while chunk := source.read(1 << 20):
                tls.sendall(chunk)


def receive(pki, port, out):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_cert_chain(f"{pki}/admin/cert.pem", f"{pki}/admin/key.pem")
    context.load_verify_locations(f"{pki}/admin/ca.pem")
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls, open(out, "wb") as target:
        while True:
            try:
                data = tls.recv(1 << 20)
            except ssl.SSLEOFError:  # the server closed without close_notify: the end of the file
                break
            if not data:
                break
            target.write(data)
        target.flush()
        os.fsync(target.fileno())
    return time.perf_counter() - start


def main():
    if sys.argv[1] == "--serve":
        serve(*sys.argv[2:5])
        return
    path, pki, out = sys.argv[1:4]
    port_file = out + ".port"
    if os.path.exists(port_file):
        os.remove(port_file)
    server = subprocess.Popen([sys.executable, __file__, "--serve", path, pki, port_file])
    for _ in range(300):
        if os.path.exists(port_file):
            break
        time.sleep(0.02)
    with open(port_file) as f:
        port = int(f.read())
    seconds = receive(pki, port, out)
    server.wait()
    os.remove(port_file)
    print(f"{seconds:.4f}")


if __name__ == "__main__":
    main()
