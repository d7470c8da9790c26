#!/usr/bin/env python3
"""Calls a running coordinator with stock grpcio stubs generated from Protos/, over mutual TLS.

Shows that FedCT's services are ordinary gRPC: unary, server-streaming and client-streaming calls from
a client that shares nothing with FedCT but the .proto files, and a job submitted with only its essential fields
(the coordinator fills the defaults; an explicit zero is kept). Needs `pip install grpcio grpcio-tools`.

usage: grpcio_check.py HOST:PORT PKI_FOLDER JOB_ID   (PKI_FOLDER from `fedctl provision`, with admin/ and site-1/)
"""
import pathlib
import subprocess
import sys
import tempfile

import grpc

target, pki, job_id = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
protos = pathlib.Path(__file__).resolve().parents[2] / "Protos"
stubs = tempfile.mkdtemp()
subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{protos}", f"--python_out={stubs}", f"--grpc_python_out={stubs}",
                *[str(p.relative_to(protos)) for p in sorted(protos.rglob("*.proto"))]], check=True)
sys.path.insert(0, stubs)
from fedct.v1 import admin_pb2, admin_pb2_grpc, job_pb2, site_pb2, site_pb2_grpc  # noqa: E402


def channel(name):
    read = lambda file: (pki / name / file).read_bytes()
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(read("ca.pem"), read("key.pem"), read("cert.pem")))


admin = admin_pb2_grpc.AdminStub(channel("admin"))
job = admin.GetJob(admin_pb2.GetJobRequest(job_id=job_id))
print("GetJob (unary):", job.job_id, job.State.Name(job.state), len(job.rounds), "rounds")
blob = b"".join(chunk.data for chunk in admin.FetchModel(site_pb2.FetchModelRequest(sha256=job.initial_model_sha256)))
print("FetchModel (server streaming):", len(blob), "bytes")
site = site_pb2_grpc.SiteStub(channel("site-1"))
print("Join as site-1 (unary):", site.Join(site_pb2.JoinRequest(agent_version="grpcio-check", protocol_version=2)).site_id)
failures = 0
# Only the essential fields: the coordinator fills every other setting with its default, as job.yaml does.
essential = job_pb2.JobSpec(name="grpcio-essential", rounds=1, min_sites=2, objective="tte",
                            encoder=job_pb2.EncoderSpec(architecture="resnet3d", width=2),
                            tte=job_pb2.TTESpec(task_codes=["DEATH"]), training=job_pb2.TrainingSpec(weight_decay=0))
submitted = admin.SubmitJob(admin_pb2.SubmitJobRequest(spec=essential))
stored = submitted.spec
print("SubmitJob with the essential fields (unary):", submitted.job_id, "stored optimizer", stored.training.optimizer,
      "orientation", stored.preprocessing.orientation, "secure", stored.secure_aggregation.enabled,
      "weight_decay", stored.training.weight_decay, "(explicit zero kept)")
if (stored.training.optimizer, stored.preprocessing.orientation, stored.secure_aggregation.step_timeout_seconds) != ("adamw", "RAS", 120) \
        or not stored.training.HasField("weight_decay") or stored.training.weight_decay != 0:
    failures += 1
admin.CancelJob(admin_pb2.CancelJobRequest(job_id=submitted.job_id))
try:
    site.UploadUpdate(iter([site_pb2.UpdateChunk(header=site_pb2.UpdateHeader(job_id="no-such-job", round=1))]))
    failures += 1
except grpc.RpcError as error:
    print("UploadUpdate (client streaming) for a wrong job:", error.code().name, "-", error.details())
try:
    admin_pb2_grpc.AdminStub(channel("site-1")).ListJobs(admin_pb2.ListJobsRequest())
    failures += 1
except grpc.RpcError as error:
    print("a site calling Admin/ListJobs:", error.code().name, "-", error.details())
sys.exit(1 if failures else 0)
