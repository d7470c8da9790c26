/* fct_torch_hlip: a test hook into HLIP's hierarchical token grouping (fct_torch_hlip.cpp), the same C++ the image tower
 * runs between its blocks. Same conventions as fct_torch.h. */
#ifndef FCT_TORCH_HLIP_H
#define FCT_TORCH_HLIP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Attention groups of HLIP's blocks: one slice (a depth index of one scan), one scan, or the whole study. */
typedef enum fct_torch_hlip_group { FCT_TORCH_HLIP_SLICE = 0, FCT_TORCH_HLIP_SCAN = 1, FCT_TORCH_HLIP_STUDY = 2 } fct_torch_hlip_group;

/**
 * Regroups tokens from `from` groups to `to` groups, as the image tower does when consecutive blocks attend within
 * different groups. Tokens at level g are laid out [studies · groups(g), 1 + tokens(g), channels]: each group's CLS copy
 * first, then its patch tokens in (scan, slice, row, column) order, where groups(slice) = scans · slices,
 * groups(scan) = scans, groups(study) = 1 and tokens(g) = slice_tokens · scans · slices / groups(g).
 * Splitting copies each CLS into every finer group; merging averages the CLS copies of the groups it joins.
 * `out` needs room (`capacity` floats) for the tokens at level `to`.
 */
int32_t fct_torch_hlip_regroup(const float *tokens, int64_t studies, int64_t scans, int64_t slices, int64_t slice_tokens,
                               int64_t channels, fct_torch_hlip_group from, fct_torch_hlip_group to, float *out, int64_t capacity,
                               char **error);

#ifdef __cplusplus
}
#endif

#endif
