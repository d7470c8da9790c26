/* fct_nifti.c: reading and writing NIfTI volumes through niftilib, converting any common voxel type to float. */
#include "fct_nifti.h"

#include <nifti2_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void set_error(char *error, size_t length, const char *format, const char *path, const char *detail) {
    if (error && length) snprintf(error, length, format, path, detail);
}

static int convert_voxels(const nifti_image *nim, int64_t offset, int64_t count, float *out) {
    const char *base = (const char *)nim->data;
    for (int64_t index = 0; index < count; index++) {
        int64_t at = offset + index;
        double value;
        switch (nim->datatype) {
        case NIFTI_TYPE_UINT8: value = ((const uint8_t *)base)[at]; break;
        case NIFTI_TYPE_INT8: value = ((const int8_t *)base)[at]; break;
        case NIFTI_TYPE_INT16: value = ((const int16_t *)base)[at]; break;
        case NIFTI_TYPE_UINT16: value = ((const uint16_t *)base)[at]; break;
        case NIFTI_TYPE_INT32: value = ((const int32_t *)base)[at]; break;
        case NIFTI_TYPE_UINT32: value = ((const uint32_t *)base)[at]; break;
        case NIFTI_TYPE_INT64: value = (double)((const int64_t *)base)[at]; break;
        case NIFTI_TYPE_UINT64: value = (double)((const uint64_t *)base)[at]; break;
        case NIFTI_TYPE_FLOAT32: value = ((const float *)base)[at]; break;
        case NIFTI_TYPE_FLOAT64: value = ((const double *)base)[at]; break;
        default: return -1;
        }
        if (nim->scl_slope != 0.0 && !(nim->scl_slope == 1.0 && nim->scl_inter == 0.0)) {
            value = value * nim->scl_slope + nim->scl_inter;
        }
        out[index] = (float)value;
    }
    return 0;
}

int fct_nifti_read(const char *path, int64_t volume_index, fct_nifti_volume *out, char *error, size_t error_length) {
    memset(out, 0, sizeof(*out));
    struct stat info;
    if (stat(path, &info) != 0) {
        set_error(error, error_length, "%s: no such file%s", path, "");
        return 1;
    }
    nifti_set_debug_level(0);
    /* Header first, to refuse bad files and out-of-range volumes before reading the data. */
    nifti_image *nim = nifti_image_read(path, 0);
    if (!nim) {
        set_error(error, error_length, "%s: not a readable NIfTI-1/NIfTI-2 file (bad magic or header)%s", path, "");
        return 2;
    }
    int64_t nt = nim->nt > 0 ? nim->nt : 1;
    for (int d = 5; d <= nim->ndim && d <= 7; d++) {
        if (nim->dim[d] > 1) {
            nifti_image_free(nim);
            set_error(error, error_length, "%s: has more than 4 dimensions%s", path, "");
            return 3;
        }
    }
    if (volume_index < 0 || volume_index >= nt) {
        char detail[96];
        snprintf(detail, sizeof detail, "volume index %lld is out of range (the file has %lld volumes)",
                 (long long)volume_index, (long long)nt);
        nifti_image_free(nim);
        set_error(error, error_length, "%s: %s", path, detail);
        return 4;
    }
    if (nifti_image_load(nim) != 0 || nim->data == NULL) {
        nifti_image_free(nim);
        set_error(error, error_length, "%s: the voxel data is truncated or unreadable (file ends early?)%s", path, "");
        return 5;
    }
    int64_t count = nim->nx * (nim->ny > 0 ? nim->ny : 1) * (nim->nz > 0 ? nim->nz : 1);
    out->voxels = (float *)malloc(sizeof(float) * (size_t)count);
    if (!out->voxels) {
        nifti_image_free(nim);
        set_error(error, error_length, "%s: out of memory for the voxels%s", path, "");
        return 6;
    }
    if (convert_voxels(nim, volume_index * count, count, out->voxels) != 0) {
        char detail[64];
        snprintf(detail, sizeof detail, "datatype %d is not supported", nim->datatype);
        free(out->voxels);
        out->voxels = NULL;
        nifti_image_free(nim);
        set_error(error, error_length, "%s: %s", path, detail);
        return 7;
    }
    out->nx = nim->nx;
    out->ny = nim->ny > 0 ? nim->ny : 1;
    out->nz = nim->nz > 0 ? nim->nz : 1;
    out->nt = nt;
    out->spacing[0] = nim->dx;
    out->spacing[1] = nim->dy;
    out->spacing[2] = nim->dz;
    const nifti_dmat44 *m = nim->sform_code > 0 ? &nim->sto_xyz : &nim->qto_xyz;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) out->affine[r * 4 + c] = m->m[r][c];
    out->datatype = nim->datatype;
    out->nifti_version = nim->nifti_type == NIFTI_FTYPE_NIFTI2_1 || nim->nifti_type == NIFTI_FTYPE_NIFTI2_2 ? 2 : 1;
    nifti_image_free(nim);
    return 0;
}

void fct_nifti_volume_free(fct_nifti_volume *volume) {
    if (!volume) return;
    free(volume->voxels);
    volume->voxels = NULL;
}

int fct_nifti_write_int16(const char *path, const int16_t *voxels, int64_t nx, int64_t ny, int64_t nz,
                          const double spacing[3], char *error, size_t error_length) {
    nifti_set_debug_level(0);
    int64_t dims[8] = {3, nx, ny, nz, 1, 1, 1, 1};
    nifti_image *nim = nifti_make_new_nim(dims, NIFTI_TYPE_INT16, 0);
    if (!nim) {
        set_error(error, error_length, "%s: cannot create a NIfTI image%s", path, "");
        return 1;
    }
    nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
    nim->dx = nim->pixdim[1] = spacing[0];
    nim->dy = nim->pixdim[2] = spacing[1];
    nim->dz = nim->pixdim[3] = spacing[2];
    nim->xyz_units = NIFTI_UNITS_MM;
    nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
    nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
    memset(&nim->sto_xyz, 0, sizeof nim->sto_xyz);
    for (int axis = 0; axis < 3; axis++) nim->sto_xyz.m[axis][axis] = spacing[axis];
    nim->sto_xyz.m[3][3] = 1;
    nim->qto_xyz = nim->sto_xyz;
    nim->quatern_b = nim->quatern_c = nim->quatern_d = 0;
    nim->qfac = 1;
    nim->data = (void *)voxels;
    if (nifti_set_filenames(nim, path, 0, 1) != 0) {
        nim->data = NULL;
        nifti_image_free(nim);
        set_error(error, error_length, "%s: not a valid NIfTI file name (use .nii or .nii.gz)%s", path, "");
        return 2;
    }
    nifti_image_write(nim);
    nim->data = NULL;
    nifti_image_free(nim);
    struct stat info;
    if (stat(path, &info) != 0 || info.st_size == 0) {
        set_error(error, error_length, "%s: writing failed (is the folder writable and the disk not full?)%s", path, "");
        return 3;
    }
    return 0;
}
