/* fct_dicom: the C ABI over GDCM for FedCT — reading CT DICOM files (any transfer syntax GDCM decodes) and writing CT slices.
 *
 * Conventions (as fct_torch.h): every name is prefixed fct_dicom_; no C++ type crosses this header; handles are
 * opaque pointers freed by their _free function; no C++ exception escapes a call. Use an image handle from one
 * thread at a time; different handles may be used concurrently (FedCT decodes a series' files in parallel). Pixels are row-major
 * (column index fastest), frame after frame. Patient coordinates are DICOM's LPS millimetres. */
#ifndef FCT_DICOM_H
#define FCT_DICOM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One DICOM file read by fct_dicom_image_read. Opaque; free with fct_dicom_image_free. */
typedef struct fct_dicom_image fct_dicom_image;

/** Status codes of the functions returning int32_t. */
enum {
    /** Success. */
    FCT_DICOM_OK = 0,
    /** The file does not exist or cannot be opened. */
    FCT_DICOM_NOT_FOUND = 1,
    /** GDCM could not parse the file: truncated, not DICOM, or pixel data it cannot decode. */
    FCT_DICOM_UNREADABLE = 2,
    /** A readable image FedCT does not handle: colour, 12-bit packed, no PixelSpacing, non-planar frames. */
    FCT_DICOM_UNSUPPORTED = 3,
    /** An argument was rejected by the bridge's own checks (sizes, NULL pointers, a handle read without pixels). */
    FCT_DICOM_INVALID_ARGUMENT = 4,
    /** Any other C++ exception (std::bad_alloc, ...), or GDCM failing to compress or write. */
    FCT_DICOM_INTERNAL_ERROR = 5,
    /** A readable DICOM file that is not an image (no Rows/Columns): a report, presentation state, DICOMDIR. */
    FCT_DICOM_NOT_AN_IMAGE = 6,
};

/* Every function returning int32_t returns FCT_DICOM_OK on success; otherwise one of the codes above, and it
 * stores a malloc'd message in *error (when error is not NULL) that the caller frees with fct_dicom_free_string.
 * Messages start with the file's path. */

/** Frees a message returned through an error out-parameter. NULL is allowed. */
void fct_dicom_free_string(char *string);

/** What fct_dicom_image_info reports about one file. Geometry of enhanced multi-frame files comes from the
 * per-frame functional groups, then the shared functional groups, then the top-level dataset. */
typedef struct fct_dicom_info {
    /** Rows (0028,0010), Columns (0028,0011) and NumberOfFrames (0028,0008; 1 when absent). */
    int32_t rows, columns, frames;
    /** PixelSpacing (0028,0030): [0] between rows (mm along the column direction), [1] between columns. */
    double pixel_spacing[2];
    /** SliceThickness (0018,0050) in mm, 0 when absent. */
    double slice_thickness;
    /** ImageOrientationPatient (0020,0037): row direction (x, y, z) then column direction; 1 when present. */
    int32_t has_orientation;
    double orientation[6];
    /** 1 when every frame has an ImagePositionPatient (0020,0032); see fct_dicom_image_frame. */
    int32_t has_positions;
    /** InstanceNumber (0020,0013); 1 when present. */
    int32_t has_instance_number;
    int32_t instance_number;
    /** BitsAllocated, BitsStored, PixelRepresentation (0 unsigned, 1 signed), SamplesPerPixel. */
    int32_t bits_allocated, bits_stored, pixel_representation, samples_per_pixel;
    /** 1 for an enhanced multi-frame object (PerFrameFunctionalGroupsSequence present). */
    int32_t enhanced;
} fct_dicom_info;

/** Reads the DICOM file at `path`. With `with_pixels` 0 only the header is read (the pixel data is skipped, so
 * fct_dicom_image_hu is refused); with 1 the whole file, ready for fct_dicom_image_hu. Files without Rows or
 * Columns are refused as FCT_DICOM_NOT_AN_IMAGE. */
int32_t fct_dicom_image_read(const char *path, int32_t with_pixels, fct_dicom_image **out, char **error);
/** Frees an image. NULL is allowed. */
void fct_dicom_image_free(fct_dicom_image *image);

/** The check fct_dicom_image_read runs before GDCM sees a file (Debian's GDCM aborts the process on some damaged
 * headers): walks the element structure (preamble, meta group, dataset, sequences nested at most 64 deep, items,
 * encapsulated fragments) without decoding values. FCT_DICOM_OK, or FCT_DICOM_UNREADABLE naming the byte where a
 * declared length runs past the end of the file or a header is damaged; FCT_DICOM_NOT_FOUND without the file.
 * Uses no GDCM code, so it can be fuzzed on its own. */
int32_t fct_dicom_check_structure(const char *path, char **error);

/** Copies the image's header facts into *info. */
void fct_dicom_image_info(const fct_dicom_image *image, fct_dicom_info *info);

/** Per-frame geometry and rescale of frame `frame` (0-based): ImagePositionPatient (LPS mm; zeros when the frame has
 * none) and RescaleSlope/RescaleIntercept (1 and 0 when absent). Returns FCT_DICOM_INVALID_ARGUMENT for a frame out
 * of range. */
int32_t fct_dicom_image_frame(const fct_dicom_image *image, int32_t frame, double position[3], double *slope,
                              double *intercept, char **error);

/** Text attributes of the image, trimmed of DICOM padding; "" when absent. Valid for the handle's lifetime. */
const char *fct_dicom_image_modality(const fct_dicom_image *image);
const char *fct_dicom_image_series_instance_uid(const fct_dicom_image *image);
const char *fct_dicom_image_sop_instance_uid(const fct_dicom_image *image);
const char *fct_dicom_image_study_instance_uid(const fct_dicom_image *image);
const char *fct_dicom_image_transfer_syntax_uid(const fct_dicom_image *image);

/** Decodes every frame (decompressing JPEG, JPEG-LS, JPEG 2000 or RLE as needed), applies BitsStored and
 * PixelRepresentation, then each frame's RescaleSlope/RescaleIntercept, and writes rows*columns*frames floats
 * (Hounsfield units for CT) to `out`, which holds `count` floats. Needs a handle read with pixels. */
int32_t fct_dicom_image_hu(const fct_dicom_image *image, float *out, int64_t count, char **error);

/** Transfer syntaxes fct_dicom_write_ct_slice can write. */
typedef enum fct_dicom_syntax {
    /** 1.2.840.10008.1.2.1, uncompressed. */
    FCT_DICOM_EXPLICIT_LITTLE = 0,
    /** 1.2.840.10008.1.2.4.90, JPEG 2000 lossless; images of at least 16x16 (GDCM's encoder breaks below). */
    FCT_DICOM_JPEG2000_LOSSLESS = 1,
    /** 1.2.840.10008.1.2.4.70, JPEG lossless (process 14, selection value 1). */
    FCT_DICOM_JPEG_LOSSLESS = 2,
    /** 1.2.840.10008.1.2.5, RLE lossless. */
    FCT_DICOM_RLE_LOSSLESS = 3,
} fct_dicom_syntax;

/** One single-frame CT slice to write. Strings are copied; UIDs must be valid DICOM UIDs (digits and dots). */
typedef struct fct_dicom_slice {
    int32_t rows, columns;
    /** Stored values (signed 16-bit, PixelRepresentation 1), rows*columns, column index fastest. */
    const int16_t *pixels;
    /** Real value = stored * slope + intercept. */
    double rescale_slope, rescale_intercept;
    /** PixelSpacing: between rows, between columns (mm). */
    double pixel_spacing[2];
    double slice_thickness;
    /** ImagePositionPatient (LPS mm) and ImageOrientationPatient (row direction, column direction). */
    double position[3];
    double orientation[6];
    int32_t instance_number;
    /** Modality (0008,0060), e.g. "CT". */
    const char *modality;
    const char *study_instance_uid;
    const char *series_instance_uid;
    /** NULL or "" to let GDCM generate one. */
    const char *sop_instance_uid;
    /** PatientID (0010,0020); NULL for an empty one. */
    const char *patient_id;
    fct_dicom_syntax syntax;
} fct_dicom_slice;

/** Writes `slice` as a CT Image Storage file at `path` (overwriting it). */
int32_t fct_dicom_write_ct_slice(const char *path, const fct_dicom_slice *slice, char **error);

/** A new DICOM UID under GDCM's root, unique across calls and processes; written to `out` (at least 65 bytes). */
int32_t fct_dicom_generate_uid(char *out, int32_t length, char **error);

#ifdef __cplusplus
}
#endif

#endif
