"""Writes the tiny NIfTI fixtures in Tests/FedCTDataTests/Fixtures/nifti that exercise every datatype and header path.

Run from the repository root (the files are committed; run again only to change them):

    pip install nibabel==5.4.2 numpy
    python3 Tests/Reference/make_nifti_fixtures.py
    python3 Tests/Reference/nifti_reference.py > Tests/FedCTDataTests/Fixtures/nifti/nibabel_reference.json

Each file is 3 x 4 x 5 voxels (x fastest on disk). The stored values follow `stored_values` below: a spread of
in-range values with the datatype's minimum at voxel (0, 0, 0) and its maximum at voxel (2, 3, 4), so conversion
of the extremes is checked too. Headers are written field by field with nibabel's header classes and the voxel
bytes appended unchanged (nibabel's image writer would rescale the data and reset scl_slope / scl_inter).

| file | what it checks |
| --- | --- |
| dtype_<type>.nii | one per datatype: uint8, int8, int16, uint16, int32, uint32, int64, float32, float64; the integer ones with a non-trivial scl_slope / scl_inter; sform (code 2) and qform (code 1) both set |
| dtype_int16.nii.gz | the int16 file gzip-compressed |
| nifti2_int16.nii.gz | NIfTI-2 (540-byte header), int16, scaled, oblique sform |
| qform_only.nii | sform_code 0, qform_code 1: a rotation quaternion with qfac -1 and an offset |
| no_xform.nii | sform_code 0 and qform_code 0: nibabel falls back to its Analyze-style base affine |
| two_volumes.nii | 3 x 4 x 5 x 2, int16: a 4D file, volume 1 = volume 0 + 1000 (clipped to int16) |
"""

import gzip
import io
import os

import nibabel as nib
import numpy as np

FOLDER = os.path.join(os.path.dirname(__file__), "..", "FedCTDataTests", "Fixtures", "nifti")
SHAPE = (3, 4, 5)
SPACING = (0.75, 0.8, 2.5)

# (name, numpy dtype, scl_slope, scl_inter): slope and intercept only on the integer types.
DATATYPES = [
    ("uint8", np.uint8, 0.5, -10.0),
    ("int8", np.int8, 2.0, 1.0),
    ("int16", np.int16, 1.0, -1024.0),
    ("uint16", np.uint16, 0.25, -1000.0),
    ("int32", np.int32, 3.0, 7.0),
    ("uint32", np.uint32, 1.5, -2.0),
    ("int64", np.int64, 2.0, -3.0),
    ("float32", np.float32, None, None),
    ("float64", np.float64, None, None),
]


def stored_values(dtype, shape=SHAPE):
    """Deterministic voxels for `dtype`: a pattern inside the type's range, with its minimum first and maximum last."""
    count = int(np.prod(shape))
    index = np.arange(count, dtype=np.float64)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        low, high = max(int(info.min), -3000), min(int(info.max), 3000)
        values = (low + (index * 97) % (high - low + 1)).astype(np.int64).astype(dtype)
        values[0], values[-1] = info.min, info.max
    else:
        values = ((index * 13.25) % 400.0 - 150.125).astype(dtype)
        values[0], values[-1] = -1024.5, 3071.25
    return values.reshape(shape, order="F")


def axis_affine(spacing=SPACING, origin=(-1.5, 12.0, -40.0)):
    affine = np.diag(list(spacing) + [1.0])
    affine[:3, 3] = origin
    return affine


def oblique_affine():
    """A rotation of 20 degrees about z then 10 about x, scaled by the spacing, with an x flip and an offset."""
    a, b = np.radians(20.0), np.radians(10.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    affine = np.eye(4)
    affine[:3, :3] = rx @ rz @ np.diag([-SPACING[0], SPACING[1], SPACING[2]])
    affine[:3, 3] = (30.5, -20.25, 11.0)
    return affine


def write(name, header, data):
    """Writes header, the 4-byte extension flag (inside write_to) and the voxels in Fortran order."""
    header.set_data_shape(data.shape)
    header.set_data_dtype(data.dtype)
    buffer = io.BytesIO()
    header.write_to(buffer)
    buffer.write(b"\0" * (int(header["vox_offset"]) - buffer.tell()))
    buffer.write(data.tobytes(order="F"))
    payload = buffer.getvalue()
    path = os.path.join(FOLDER, name)
    if name.endswith(".gz"):
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped:
            zipped.write(payload)
    else:
        with open(path, "wb") as raw:
            raw.write(payload)


def header(shape, version=1, slope=None, inter=None, sform=None, sform_code=0, qform=None, qform_code=0):
    """A header for `shape` with the spacing as zooms, the given transforms and codes, and scl_slope / scl_inter (NaN: none)."""
    result = nib.Nifti2Header() if version == 2 else nib.Nifti1Header()
    result.set_data_shape(shape)
    result.set_zooms(SPACING + (1.0,) * (len(shape) - 3))
    result.set_xyzt_units("mm", "sec")
    if qform is not None:
        result.set_qform(qform, code=qform_code)
    else:
        result.set_qform(None, code=0)
    if sform is not None:
        result.set_sform(sform, code=sform_code)
    else:
        result.set_sform(None, code=0)
    result["scl_slope"] = np.nan if slope is None else slope
    result["scl_inter"] = np.nan if inter is None else inter
    return result


def main():
    os.makedirs(FOLDER, exist_ok=True)
    for name, dtype, slope, inter in DATATYPES:
        data = stored_values(dtype)
        hdr = header(SHAPE, slope=slope, inter=inter, sform=axis_affine(), sform_code=2, qform=axis_affine(), qform_code=1)
        write(f"dtype_{name}.nii", hdr, data)
        if name == "int16":
            write(f"dtype_{name}.nii.gz", hdr, data)

    data = stored_values(np.int16)
    hdr = header(SHAPE, version=2, slope=0.5, inter=-100.0, sform=oblique_affine(), sform_code=1,
                 qform=axis_affine(), qform_code=1)
    write("nifti2_int16.nii.gz", hdr, data)
    write("qform_only.nii", header(SHAPE, qform=oblique_affine(), qform_code=1), data)
    write("no_xform.nii", header(SHAPE), data)

    second = np.clip(data.astype(np.int32) + 1000, -32768, 32767).astype(np.int16)
    volumes = np.stack([data, second], axis=3)
    write("two_volumes.nii", header(volumes.shape, sform=axis_affine(), sform_code=2), volumes)


if __name__ == "__main__":
    main()
