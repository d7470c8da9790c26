"""Reference values for Tests/FedCTDataTests/DICOMTests.swift, read with pydicom (the DICOM fixtures' own project).

Run from the repository root:

    pip install pydicom==3.0.2 pylibjpeg==2.1.0 pylibjpeg-openjpeg==2.6.0 numpy
    python3 Tests/Reference/dicom_reference.py

Prints, per fixture, the header facts and HU (stored value x RescaleSlope + RescaleIntercept) at a few pixels and
over the whole image; DICOMTests.swift checks GDCM's decoding against these numbers. Output as committed:

    CT_small.dcm: transfer syntax 1.2.840.10008.1.2.1, 128x128 int16, slope 1 intercept -1024
      PixelSpacing [0.661468, 0.661468], SliceThickness 5.0, InstanceNumber 1
      ImagePositionPatient [-158.135803, -179.035797, -75.699997], ImageOrientationPatient [1, 0, 0, 0, 1, 0]
      HU (row, col): (0, 0)=-849 (64, 64)=904 (10, 100)=203 (127, 127)=-115 (100, 30)=65
      HU min -896 max 1167 mean -119.073853 sum -1950906
    693_J2KR.dcm: transfer syntax 1.2.840.10008.1.2.4.90, 512x512 int16, slope 1 intercept -1024
      PixelSpacing [0.478516, 0.478516], SliceThickness 5.0, InstanceNumber 21
      ImagePositionPatient [-122.5, -112.4, 47.0], ImageOrientationPatient [1, 0, 0, 0, 1, 0]
      HU (row, col): (0, 0)=-3024 (255, 300)=36 (256, 256)=24 (100, 200)=-996 (400, 111)=-962
      HU min -3024 max 1468 mean -1035.563015 sum -271466631
"""

from pathlib import Path

import numpy as np
import pydicom

FIXTURES = Path(__file__).resolve().parent.parent / "FedCTDataTests" / "Fixtures" / "dicom"
PIXELS = {
    "CT_small.dcm": [(0, 0), (64, 64), (10, 100), (127, 127), (100, 30)],
    "693_J2KR.dcm": [(0, 0), (255, 300), (256, 256), (100, 200), (400, 111)],
}


def main() -> None:
    for name, pixels in PIXELS.items():
        ds = pydicom.dcmread(FIXTURES / name)
        stored = ds.pixel_array
        hu = stored.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        print(f"{name}: transfer syntax {ds.file_meta.TransferSyntaxUID}, {ds.Rows}x{ds.Columns} {stored.dtype}, "
              f"slope {float(ds.RescaleSlope):g} intercept {float(ds.RescaleIntercept):g}")
        print(f"  PixelSpacing {[float(v) for v in ds.PixelSpacing]}, SliceThickness {float(ds.SliceThickness)}, "
              f"InstanceNumber {ds.InstanceNumber}")
        print(f"  ImagePositionPatient {[float(v) for v in ds.ImagePositionPatient]}, "
              f"ImageOrientationPatient {[int(float(v)) if float(v).is_integer() else float(v) for v in ds.ImageOrientationPatient]}")
        print("  HU (row, col): " + " ".join(f"({r}, {c})={hu[r, c]:g}" for r, c in pixels))
        print(f"  HU min {hu.min():g} max {hu.max():g} mean {hu.mean():.6f} sum {hu.sum():.0f}")


if __name__ == "__main__":
    main()
