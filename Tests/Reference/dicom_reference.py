"""Reference values for Tests/FedCTDataTests/DICOMTests.swift, read with pydicom (the DICOM fixtures' own project).

Run from the repository root:

    pip install pydicom==3.0.2 pylibjpeg==2.1.0 pylibjpeg-openjpeg==2.6.0 numpy
    python3 Tests/Reference/dicom_reference.py              # print the reference values
    python3 Tests/Reference/dicom_reference.py --write      # (re)write enhanced_ct_3frames.dcm, then print

enhanced_ct_3frames.dcm is made here (there is no small public enhanced multi-frame CT): Enhanced CT Image Storage,
4 rows x 5 columns x 3 frames, signed 12 bits stored in 16 with the high 4 bits left zero (so a reader must
sign-extend from BitsStored), pixel spacing and orientation in the shared functional groups, a position and a
rescale per frame, frames written out of position order.

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
    MR_small.dcm: transfer syntax 1.2.840.10008.1.2.1, 64x64 int16, slope 1 intercept 0
      PixelSpacing [0.3125, 0.3125], SliceThickness 0.8, InstanceNumber 1
      ImagePositionPatient [-83.9063, -91.2, 6.6406], ImageOrientationPatient [1, 0, 0, 0, 1, 0]
      HU (row, col): (0, 0)=905 (31, 31)=206 (10, 50)=1104 (63, 0)=378
      HU min 127 max 2145 mean 518.881348 sum 2125338
    MR_small_jpeg_ls_lossless.dcm: transfer syntax 1.2.840.10008.1.2.4.80, 64x64, same pixels as MR_small.dcm
    MR_small_bigendian.dcm: transfer syntax 1.2.840.10008.1.2.2, 64x64, same pixels as MR_small.dcm
    enhanced_ct_3frames.dcm: 4x5x3, BitsStored 12, PixelSpacing [0.8, 0.6]
      frame 1: position [-10.0, 20.0, 3.0], slope 1 intercept -1024, HU row 0 ['-1044', '-1043', '-1042', '-1041', '-1040'], HU (3, 4) -1025
      frame 2: position [-10.0, 20.0, 0.0], slope 2 intercept -1000, HU row 0 ['-1020', '-1018', '-1016', '-1014', '-1012'], HU (3, 4) -982
      frame 3: position [-10.0, 20.0, 1.5], slope 1 intercept -1024, HU row 0 ['-1024', '-1023', '-1022', '-1021', '-1020'], HU (3, 4) -1005
"""

import sys
from pathlib import Path

import numpy as np
import pydicom

FIXTURES = Path(__file__).resolve().parent.parent / "FedCTDataTests" / "Fixtures" / "dicom"
ENHANCED = "enhanced_ct_3frames.dcm"
PIXELS = {
    "CT_small.dcm": [(0, 0), (64, 64), (10, 100), (127, 127), (100, 30)],
    "693_J2KR.dcm": [(0, 0), (255, 300), (256, 256), (100, 200), (400, 111)],
    "MR_small.dcm": [(0, 0), (31, 31), (10, 50), (63, 0)],
}
# The same image as MR_small.dcm in other transfer syntaxes (pydicom's test files README says so; pydicom here lacks
# a JPEG-LS decoder, so the JPEG-LS file's values are checked against MR_small.dcm's).
SAME_AS_MR_SMALL = ["MR_small_jpeg_ls_lossless.dcm", "MR_small_bigendian.dcm"]


def write_enhanced() -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"  # Enhanced CT Image Storage
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.1462.1.1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1462.1.2"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1462.1.3"
    ds.Modality = "CT"
    ds.InstanceNumber = 1
    ds.Rows, ds.Columns, ds.NumberOfFrames = 4, 5, 3
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1

    measures = Dataset()
    measures.PixelSpacing = [0.8, 0.6]
    measures.SliceThickness = 1.5
    orientation = Dataset()
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared = Dataset()
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.PlaneOrientationSequence = Sequence([orientation])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])

    frames = []
    for z, slope, intercept in [(3.0, 1, -1024), (0.0, 2, -1000), (1.5, 1, -1024)]:
        position = Dataset()
        position.ImagePositionPatient = [-10.0, 20.0, z]
        transformation = Dataset()
        transformation.RescaleSlope, transformation.RescaleIntercept, transformation.RescaleType = slope, intercept, "HU"
        item = Dataset()
        item.PlanePositionSequence = Sequence([position])
        item.PixelValueTransformationSequence = Sequence([transformation])
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)

    values = np.array([[[f * 10 + r * 5 + c - 20 for c in range(5)] for r in range(4)] for f in range(3)], dtype=np.int16)
    ds.PixelData = (values.astype(np.uint16) & 0x0FFF).astype("<u2").tobytes()  # 12-bit two's complement, high bits 0
    ds.save_as(FIXTURES / ENHANCED, enforce_file_format=True)


def enhanced_reference() -> None:
    ds = pydicom.dcmread(FIXTURES / ENHANCED)
    stored = ds.pixel_array
    print(f"{ENHANCED}: {ds.Rows}x{ds.Columns}x{ds.NumberOfFrames}, BitsStored {ds.BitsStored}, "
          f"PixelSpacing {[float(v) for v in ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing]}")
    for index, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        position = [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient]
        transformation = item.PixelValueTransformationSequence[0]
        hu = stored[index].astype(np.float64) * float(transformation.RescaleSlope) + float(transformation.RescaleIntercept)
        print(f"  frame {index + 1}: position {position}, slope {float(transformation.RescaleSlope):g} intercept "
              f"{float(transformation.RescaleIntercept):g}, HU row 0 {[f'{v:g}' for v in hu[0]]}, HU (3, 4) {hu[3, 4]:g}")


def main() -> None:
    if "--write" in sys.argv:
        write_enhanced()
    for name, pixels in PIXELS.items():
        ds = pydicom.dcmread(FIXTURES / name)
        stored = ds.pixel_array
        slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
        hu = stored.astype(np.float64) * slope + intercept
        print(f"{name}: transfer syntax {ds.file_meta.TransferSyntaxUID}, {ds.Rows}x{ds.Columns} {stored.dtype}, "
              f"slope {slope:g} intercept {intercept:g}")
        print(f"  PixelSpacing {[float(v) for v in ds.PixelSpacing]}, SliceThickness {float(ds.SliceThickness)}, "
              f"InstanceNumber {ds.InstanceNumber}")
        print(f"  ImagePositionPatient {[float(v) for v in ds.ImagePositionPatient]}, "
              f"ImageOrientationPatient {[int(float(v)) if float(v).is_integer() else float(v) for v in ds.ImageOrientationPatient]}")
        print("  HU (row, col): " + " ".join(f"({r}, {c})={hu[r, c]:g}" for r, c in pixels))
        print(f"  HU min {hu.min():g} max {hu.max():g} mean {hu.mean():.6f} sum {hu.sum():.0f}")
    for name in SAME_AS_MR_SMALL:
        ds = pydicom.dcmread(FIXTURES / name, stop_before_pixels=True)
        print(f"{name}: transfer syntax {ds.file_meta.TransferSyntaxUID}, {ds.Rows}x{ds.Columns}, same pixels as MR_small.dcm")
    enhanced_reference()


if __name__ == "__main__":
    main()
