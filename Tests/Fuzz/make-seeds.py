#!/usr/bin/env python3
"""Writes the fuzz seeds under Tests/Fuzz/corpus/<target>/ (run from the repository root; standard library only).

Seeds are small valid inputs of each decoder, so libFuzzer starts from the accepted shapes: copies of the committed test
fixtures and example configurations (named below), and protobuf requests written field by field in the wire format.
"""
import json, os, shutil, struct

ROOT = "Tests/Fuzz/corpus"

def put(target, name, data):
    os.makedirs(f"{ROOT}/{target}", exist_ok=True)
    with open(f"{ROOT}/{target}/{name}", "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)

def field(number, value):
    """A protobuf field: int → varint, bytes/str → length-delimited."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data

# rpc: first byte = method (RPCFuzzing.run), rest = the request message.
binding = "ab" * 32
put("rpc", "join", b"\x00" + field(1, "fedct-site 1.0"))
metric = field(1, "auroc/mortality_12m") + varint(2 << 3 | 1) + struct.pack("<d", 0.75)
put("rpc", "metrics", b"\x01" + field(1, "job-0001") + field(2, 3) + field(3, metric) + field(4, 40) + field(7, "0" * 64))
advert = field(1, "job-0001") + field(2, 1) + field(3, binding) + field(4, "site-1") + field(5, b"\x01" * 32) \
    + field(6, b"\x0b" * 32) + field(7, b"\x15" * 32) + field(8, b"\x30\x06\x02\x01\x01\x02\x01\x01") + field(9, 1)
put("rpc", "advertise", b"\x02" + advert)
share = field(1, "site-1") + field(2, "site-2") + field(3, b"\x00" * 48)
put("rpc", "share-keys", b"\x03" + field(1, "job-0001") + field(2, 1) + field(3, share) + field(3, share.replace(b"site-2", b"site-3")) + field(4, 1))
put("rpc", "unmask", b"\x04" + field(1, "job-0001") + field(2, 1) + field(3, field(1, "site-2") + field(2, 1) + field(3, 2) + field(4, varint(7) + varint(1 << 40))) + field(4, 1))
put("rpc", "secagg-step", b"\x05" + field(1, "job-0001") + field(2, 1) + field(3, 1))
put("rpc", "decline", b"\x06" + field(1, "job-0001") + field(2, "policy"))
put("rpc", "setup-counts", b"\x07" + field(1, "job-0001") + field(2, 0) + field(6, field(1, b"\x01\x02\x03")))
spec = field(1, "fuzz") + field(2, 3) + field(3, 2)
put("rpc", "submit-job", b"\x08" + field(1, spec))
put("rpc", "fetch-model", b"\x09" + field(1, "0" * 64) + field(2, 65536))
put("rpc", "upload-header", b"\x0a" + field(1, field(1, "job-0001") + field(2, 1) + field(3, "0" * 64)))
put("rpc", "get-job", b"\x0b" + field(1, "job-0001"))

# safetensors: an 8-byte little-endian header length, the JSON header, the data.
header = json.dumps({"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}).encode()
put("safetensors", "two-tensors", struct.pack("<Q", len(header)) + header + struct.pack("<6f", 1, 2, 3, 4, 0.5, -0.5))
empty = b"{}"
put("safetensors", "empty", struct.pack("<Q", len(empty)) + empty)

for target, source in [("job-yaml", "Deployments/examples/job.yaml"), ("job-yaml", "Deployments/examples/job-hlip.yaml"),
                       ("job-yaml", "Deployments/examples/job-medform.yaml"), ("job-yaml", "Deployments/examples/job-medform-stage2.yaml"),
                       ("site-yaml", "Deployments/examples/site.yaml"), ("coordinator-yaml", "Deployments/examples/coordinator.yaml")]:
    os.makedirs(f"{ROOT}/{target}", exist_ok=True)
    shutil.copy(source, f"{ROOT}/{target}/{os.path.basename(source)}")

# revocation-list: odd first byte = a payload the target signs; even = the file as it is (unsigned here: refused).
payload = {"format": "fedct-revocation-list/1", "issuer": "fuzz", "updated": "2026-12-01T00:00:00Z",
           "entries": [{"serial": "0a1b2c", "name": "site-2", "role": "site", "reason": "key lost", "revoked_at": "2026-11-30T12:00:00Z"}]}
put("revocation-list", "payload", b"\x01" + json.dumps(payload).encode())
put("revocation-list", "envelope", b"\x00" + json.dumps({"payload": json.dumps(payload), "signature": "MEUCIQ=="}).encode())

put("meds-csv", "events.csv", "subject_id,time,code,numeric_value,text_value\n"
    "1,2019-01-02,ICD10/I26.99,,\n1,2019-01-02T10:30:00,LOINC/3094-0,5.4,\n2,2020-02-02,DEATH,,\n2,,GENDER/F,,\n")
names = ["person", "death", "visit_occurrence", "condition_occurrence", "drug_exposure", "procedure_occurrence", "measurement", "observation"]
for index, name in enumerate(names):
    with open(f"Tests/FedCTDataTests/Fixtures/omop/{name}.csv", "rb") as f:
        put("omop-csv", name, bytes([index]) + f.read())

put("manifest", "manifest.csv", "scan_id,subject_id,image_path,index_time,split,study_id,report_path\n"
    "s1,1,scans/s1.nii.gz,2019-01-02,train,st1,reports/s1.txt\ns2,2,scans/s2,2020-02-02T09:00:00,heldout,,\n")

for name in ["dtype_int16.nii", "dtype_float32.nii", "qform_only.nii", "no_xform.nii", "two_volumes.nii"]:
    os.makedirs(f"{ROOT}/nifti", exist_ok=True)
    shutil.copy(f"Tests/FedCTDataTests/Fixtures/nifti/{name}", f"{ROOT}/nifti/{name}")

# nifti/oom-8GB-header.nii is not written here: it is the input libFuzzer found (a header declaring 8 GB of voxels),
# kept as a regression input (BadInputTests.testAHeaderDeclaringGigabytesIsRefusedNamingWhatTheFileHolds).

# dicom: the committed DICOM fixtures (their provenance: Tests/FedCTDataTests/Fixtures/dicom/NOTICE.md).
for name in ["CT_small.dcm", "MR_small.dcm", "MR_small_bigendian.dcm", "MR_small_jpeg_ls_lossless.dcm",
             "enhanced_ct_3frames.dcm", "693_J2KR.dcm"]:
    os.makedirs(f"{ROOT}/dicom", exist_ok=True)
    shutil.copy(f"Tests/FedCTDataTests/Fixtures/dicom/{name}", f"{ROOT}/dicom/{name}")
