"""Reference values for Tests/FedCTDataTests/NIfTIReferenceTests.swift, read with nibabel (the NIfTI fixtures' own project).

Run from the repository root:

    pip install nibabel==5.4.2 numpy
    python3 Tests/Reference/nifti_reference.py > Tests/FedCTDataTests/Fixtures/nifti/nibabel_reference.json

Prints one JSON object: the nibabel and numpy versions, then per NIfTI file in Tests/FedCTDataTests/Fixtures/nifti
(sorted by name): NIfTI version, shape, on-disk dtype, sform_code and qform_code, scl_slope and scl_inter as
nibabel applies them (null when it applies none: slope 0 or not finite), the voxel-to-RAS+ affine nibabel uses
(`img.affine`, row-major 4 x 4: sform if sform_code is set, else qform if qform_code is set, else nibabel's
base affine), its axis codes (`aff2axcodes`) and, per volume (4D files have several), the scaled values of `img.get_fdata()` (float64) at a few
fixed voxel indices, their minimum, maximum and sum, and for files of at most 4096 voxels all values, x fastest.
"""

import json
import os

import nibabel as nib
import numpy as np

FOLDER = os.path.join(os.path.dirname(__file__), "..", "FedCTDataTests", "Fixtures", "nifti")


def sample_indices(shape):
    """Corners, the centre and two off-centre voxels of a 3D shape, without repeats."""
    nx, ny, nz = shape
    candidates = [(0, 0, 0), (nx - 1, ny - 1, nz - 1), (nx // 2, ny // 2, nz // 2), (1 % nx, 2 % ny, 3 % nz),
                  (nx // 3, 2 * ny // 3, nz // 4), (nx - 1, 0, nz // 2)]
    return list(dict.fromkeys(candidates))


def describe(path):
    img = nib.load(path)
    header = img.header
    data = img.get_fdata(dtype=np.float64)
    volumes = [data] if data.ndim == 3 else [data[..., t] for t in range(data.shape[3])]
    slope, inter = img.dataobj.slope, img.dataobj.inter
    scaled = not (slope == 1.0 and inter == 0.0)
    entry = {
        "nifti_version": 2 if isinstance(img, nib.Nifti2Image) else 1,
        "shape": [int(n) for n in img.shape],
        "dtype": str(np.dtype(img.get_data_dtype()).newbyteorder("=")),
        "sform_code": int(header["sform_code"]),
        "qform_code": int(header["qform_code"]),
        "scl_slope": float(slope) if scaled else None,
        "scl_inter": float(inter) if scaled else None,
        "affine": [float(v) for v in np.asarray(img.affine).ravel()],
        "axcodes": "".join(nib.aff2axcodes(img.affine)),
        "volumes": [],
    }
    for volume in volumes:
        record = {
            "samples": [{"ijk": list(ijk), "value": float(volume[ijk])} for ijk in sample_indices(volume.shape)],
            "min": float(volume.min()),
            "max": float(volume.max()),
            "sum": float(volume.sum()),
        }
        if volume.size <= 4096:
            record["values"] = [float(v) for v in volume.ravel(order="F")]
        entry["volumes"].append(record)
    return entry


def main():
    names = sorted(name for name in os.listdir(FOLDER) if name.endswith((".nii", ".nii.gz")))
    report = {
        "generator": f"Tests/Reference/nifti_reference.py with nibabel {nib.__version__}, numpy {np.__version__}",
        "files": {name: describe(os.path.join(FOLDER, name)) for name in names},
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
