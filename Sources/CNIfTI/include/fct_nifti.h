/* fct_nifti: a small C ABI over niftilib (nifti2_io) for reading and writing CT volumes as float voxels. */
#ifndef FCT_NIFTI_H
#define FCT_NIFTI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One 3D volume read from a NIfTI-1 or NIfTI-2 file. Voxels are x-fastest, scaled to real values. */
typedef struct fct_nifti_volume {
    int64_t nx, ny, nz;
    /** Number of volumes in the file (the 4th dimension; 1 for 3D). */
    int64_t nt;
    /** Voxel spacing in millimetres along x, y, z. */
    double spacing[3];
    /** Voxel index (i, j, k, 1) to patient millimetres (RAS+), as nibabel: sform if set, else qform, else nibabel's base affine. Row-major. */
    double affine[16];
    /** NIfTI datatype code of the stored voxels (e.g. 4 = int16, 16 = float32). */
    int32_t datatype;
    /** 1 or 2. */
    int32_t nifti_version;
    /** nx*ny*nz floats (after scl_slope / scl_inter), owned by the volume. */
    float *voxels;
} fct_nifti_volume;

/**
 * Reads volume `volume_index` (0 for 3D files) of the NIfTI file at `path` (.nii, .nii.gz, .hdr/.img).
 * Returns 0 on success; otherwise non-zero with a message in `error` (at most `error_length` bytes).
 */
int fct_nifti_read(const char *path, int64_t volume_index, fct_nifti_volume *out, char *error, size_t error_length);

/** Frees the voxels of a volume filled by fct_nifti_read. */
void fct_nifti_volume_free(fct_nifti_volume *volume);

/**
 * Writes an int16 NIfTI-1 volume (x-fastest voxels) with the given spacing and an axis-aligned
 * RAS+ sform; `.nii.gz` paths are gzip-compressed. Returns 0 on success, else non-zero with a message.
 */
int fct_nifti_write_int16(const char *path, const int16_t *voxels, int64_t nx, int64_t ny, int64_t nz,
                          const double spacing[3], char *error, size_t error_length);

#ifdef __cplusplus
}
#endif

#endif
