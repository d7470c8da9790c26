/* fct_nifti.c: reading and writing NIfTI volumes through niftilib, converting any common voxel type to float. */
#include "fct_nifti.h"

#include <nifti2_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

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

/* Reads the first `capacity` bytes of `path` into `buffer`, decompressing gzip, or with a NULL buffer counts all its
 * (decompressed) bytes; `*broken` is set when a gzip stream is damaged or cut off. Returns the byte count, or -1 when
 * the file cannot be opened. */
static int64_t read_prefix(const char *path, unsigned char *buffer, int64_t capacity, int *broken) {
    *broken = 0;
    gzFile file = gzopen(path, "rb");
    if (!file) return -1;
    int64_t total = 0;
    unsigned char scratch[65536];
    while (!buffer || total < capacity) {
        unsigned char *target = buffer ? buffer + total : scratch;
        int64_t room = buffer ? capacity - total : (int64_t)sizeof scratch;
        if (room > (int64_t)sizeof scratch) room = sizeof scratch;
        int count = gzread(file, target, (unsigned)room);
        if (count <= 0) {
            int code = Z_OK;
            gzerror(file, &code);
            if (count < 0 || (code != Z_OK && code != Z_STREAM_END)) *broken = 1;
            break;
        }
        total += count;
    }
    gzclose(file);
    return total;
}

static int32_t int32_at(const unsigned char *bytes, int swapped) {
    uint32_t value = swapped ? ((uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3])
                             : ((uint32_t)bytes[3] << 24 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[1] << 8 | bytes[0]);
    return (int32_t)value;
}

/* Refuses what niftilib would misread: a header cut short, an unknown header size, or a NIfTI header size without the
 * NIfTI magic (niftilib would read it as an ANALYZE 7.5 header and invent a geometry). Returns 0 when the header is
 * NIfTI-1 or NIfTI-2. */
static int check_header(const char *path, char *error, size_t error_length) {
    unsigned char header[540];
    int broken = 0;
    int64_t count = read_prefix(path, header, sizeof header, &broken);
    if (count < 0) {
        set_error(error, error_length, "%s: cannot be opened%s; check its permissions", path, "");
        return 1;
    }
    if (count < 348) {
        snprintf(error, error_length, "%s: ends after %lld bytes, inside the NIfTI header (348 bytes for NIfTI-1, 540 for "
                 "NIfTI-2)%s; copy the file again", path, (long long)count,
                 broken ? ": the gzip stream is cut off or damaged" : "");
        return 1;
    }
    int32_t size = int32_at(header, 0);
    if (size != 348 && size != 540) size = int32_at(header, 1);
    if (size == 348) {
        if (memcmp(header + 344, "n+1\0", 4) == 0 || memcmp(header + 344, "ni1\0", 4) == 0) return 0;
        char magic[16];
        snprintf(magic, sizeof magic, "%02x %02x %02x %02x", header[344], header[345], header[346], header[347]);
        snprintf(error, error_length, "%s: has a 348-byte header but the magic at byte 344 is %s, not NIfTI-1's 'n+1' "
                 "(an ANALYZE 7.5 file or a damaged header); convert it to NIfTI or copy it again", path, magic);
        return 2;
    }
    if (size == 540) {
        if (count < 540) {
            snprintf(error, error_length, "%s: ends after %lld bytes, inside its 540-byte NIfTI-2 header%s; copy the file again",
                     path, (long long)count, broken ? " (the gzip stream is cut off or damaged)" : "");
            return 1;
        }
        if (memcmp(header + 4, "n+2\0", 4) == 0 || memcmp(header + 4, "ni2\0", 4) == 0) return 0;
        snprintf(error, error_length, "%s: has a 540-byte header but the magic at byte 4 is not NIfTI-2's 'n+2'; "
                 "the header is damaged, copy the file again", path);
        return 2;
    }
    snprintf(error, error_length, "%s: is not NIfTI: the header size field is %d, NIfTI-1 has 348 and NIfTI-2 540%s",
             path, (int)int32_at(header, 0),
             broken ? " (and the gzip stream is cut off or damaged)" : "; is it another format renamed to .nii?");
    return 2;
}

/* The message for voxel data niftilib could not load: how many bytes the header declares and how many the file holds. */
static void describe_short_data(const char *path, const nifti_image *nim, char *error, size_t error_length) {
    int64_t bytes = 0, needed = 0;
    if (nim->nvox < 0 || __builtin_mul_overflow(nim->nvox, (int64_t)nim->nbyper, &bytes) ||
        __builtin_add_overflow(bytes, nim->iname_offset, &needed)) {
        snprintf(error, error_length, "%s: the header declares %lld voxels of %d bytes, more than any file holds; the "
                 "header is damaged, copy the file again", path, (long long)nim->nvox, nim->nbyper);
        return;
    }
    int broken = 0;
    int64_t available = read_prefix(path, NULL, 0, &broken);
    snprintf(error, error_length, "%s: ends early: the header declares %lld bytes of voxels from byte %lld (%lld in all), "
             "the file holds %lld bytes%s; copy the file again", path, (long long)bytes,
             (long long)nim->iname_offset, (long long)needed, (long long)available,
             broken ? " after decompression and its gzip stream is cut off or damaged" : "");
}

/* Whether the voxel data the header declares is in the file, checked before niftilib allocates it (a damaged header
 * can declare gigabytes). An uncompressed file is compared with its size; a gzip-compressed one is decompressed and
 * counted only when the header asks for more than 64 times its compressed size (CT compresses far less than that). */
static int declared_data_fits(const char *path, const nifti_image *nim, int64_t file_size) {
    if (nim->nvox < 0 || nim->nbyper <= 0 || nim->iname_offset < 0) return 0;
    if (nim->nvox > (INT64_MAX - nim->iname_offset) / nim->nbyper) return 0;
    int64_t needed = nim->iname_offset + nim->nvox * nim->nbyper;
    if (!nifti_is_gzfile(path)) return needed <= file_size;
    if (needed <= 64 * file_size) return 1;
    int broken = 0;
    return needed <= read_prefix(path, NULL, 0, &broken);
}

/* nibabel's affine for a header with neither sform nor qform: x flipped, the volume's centre at the origin. */
static void base_affine(const nifti_image *nim, double affine[16]) {
    const double zooms[3] = {-nim->dx, nim->dy, nim->dz};
    const int64_t sizes[3] = {nim->nx, nim->ny > 0 ? nim->ny : 1, nim->nz > 0 ? nim->nz : 1};
    memset(affine, 0, 16 * sizeof(double));
    for (int axis = 0; axis < 3; axis++) {
        affine[axis * 4 + axis] = zooms[axis];
        affine[axis * 4 + 3] = -zooms[axis] * (double)(sizes[axis] - 1) / 2.0;
    }
    affine[15] = 1;
}

int fct_nifti_read(const char *path, int64_t volume_index, fct_nifti_volume *out, char *error, size_t error_length) {
    memset(out, 0, sizeof(*out));
    struct stat info;
    if (stat(path, &info) != 0) {
        set_error(error, error_length, "%s: no such file%s", path, "");
        return 1;
    }
    if (check_header(path, error, error_length) != 0) return 2;
    nifti_set_debug_level(0);
    /* Header first, to refuse bad files and out-of-range volumes before reading the data. */
    nifti_image *nim = nifti_image_read(path, 0);
    if (!nim) {
        set_error(error, error_length, "%s: niftilib cannot read the NIfTI header (inconsistent dimensions or datatype?)%s", path, "");
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
    if (!declared_data_fits(path, nim, (int64_t)info.st_size)) {
        describe_short_data(path, nim, error, error_length);
        nifti_image_free(nim);
        return 5;
    }
    if (nifti_image_load(nim) != 0 || nim->data == NULL) {
        describe_short_data(path, nim, error, error_length);
        nifti_image_free(nim);
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
    if (nim->sform_code > 0 || nim->qform_code > 0) {
        const nifti_dmat44 *m = nim->sform_code > 0 ? &nim->sto_xyz : &nim->qto_xyz;
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++) out->affine[r * 4 + c] = m->m[r][c];
    } else {
        base_affine(nim, out->affine);
    }
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
