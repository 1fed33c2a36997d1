/*
 * tensorc_ext.h -- the program runner of the install-time extension tensorc._ext.
 *
 * A program is a sequence of kernel calls over a table of "slots" (tc_arg,
 * see tensorc_runtime.h).  Slots [0, n) are bound to the caller's arrays on
 * every call; other slots (intermediates, constants) are bound once.  Step s
 * calls steps[s].fn with the slots argidx[first .. first+nargs) gathered into
 * a contiguous tc_arg array.  The whole sequence runs without Python in
 * between and without the GIL.
 *
 * Return values: 0, or TC_ERROR(code, operand) (tensorc_runtime.h).
 *   tc_run_program / tc_call set *failed_step to the failing step, or to -1
 *   when binding failed (operand is then the bound slot index).
 */
#ifndef TENSORC_EXT_H
#define TENSORC_EXT_H

#include "tensorc_runtime.h"

#define TC_MAX_NDIM 64
#define TC_MAX_STEP_ARGS 256

typedef struct tc_step {
    tc_kernel_fn fn;
    int32_t nargs;
    int32_t first; /* index into argidx */
} tc_step;

/* What a bound array must look like.  kind: 'f' float, 'i' signed int,
 * 'u' unsigned int, 'b' bool, 'c' complex, 0 = any.  ndim -1 = any. */
typedef struct tc_slot_spec {
    int32_t ndim;
    int32_t itemsize;
    char kind;
    char writable;
    char pad[2];
} tc_slot_spec;

typedef struct tc_program {
    int32_t nsteps;
    int32_t nslots;
    tc_step *steps;
    int32_t *argidx;
    tc_arg *slots;
    tc_intp *dims; /* nslots * 2 * TC_MAX_NDIM: shape then strides per slot */
} tc_program;

/* One slot a segment fills before its kernels run (tensorc_segment.c), by kind:
 *  TC_FILL_ARRAY: an array -- the one of local slot `source` (in place) or, when source
 *      is -1, a recycled or new one of numpy dtype `type_num`;
 *  TC_FILL_VIEW:  a dimshuffle of local slot `source` (no array: only kernels read it);
 *  TC_FILL_SHAPE: the int64 scalar `shape[dim]` of local slot `source` (Shape_i).
 * Shapes: dimsrc[first .. first + 2*ndim) holds, per dimension, a (local slot,
 * dimension) pair, slot -1 = size 1 (a view's new axis); TC_FILL_SHAPE has one pair.
 * `cache`: index of the array's two cached buffers in the cache list; `spec`: the check
 * applied when binding the array. */
#define TC_FILL_ARRAY 0
#define TC_FILL_VIEW 1
#define TC_FILL_SHAPE 2
typedef struct tc_alloc {
    int32_t slot;
    int32_t kind;
    int32_t type_num;
    int32_t ndim;
    int32_t source;
    int32_t first;
    int32_t cache;
    tc_slot_spec spec;
} tc_alloc;

/* A segment: local slot k is storage[slot_of[k]]; slots [0, nin) are read from storage
 * and checked with specs, the allocs fill the others, in order. */
typedef struct tc_segment {
    int32_t nslots;
    int32_t nin;
    int32_t nalloc;
    int32_t pad;
    const int32_t *slot_of;
    const tc_slot_spec *specs;
    const tc_alloc *allocs;
    const int32_t *dimsrc;
} tc_segment;

int tc_run_program(const tc_program *prog, int32_t *failed_step);
/* storage and cache are id() of Python lists (the function's slot values, and two cached
 * arrays per alloc); binds, allocates, then runs the program's steps. */
int tc_run_segment(tc_program *prog, const tc_segment *seg, uintptr_t storage, uintptr_t cache,
                   int32_t *failed_step);
/* A function's lock and its C call path (tensorc_caller.c): tc_make_caller appends a
 * builtin callable to the list `holder`, built from the tuple `spec` (both id()). */
void *tc_lock_new(void);
void tc_lock_free(void *lock);
void tc_lock_acquire(void *lock);
void tc_lock_release(void *lock);
int tc_run_segment_locked(void *lock, tc_program *prog, const tc_segment *seg,
                          uintptr_t storage, uintptr_t cache, int32_t *failed_step);
int tc_make_caller(uintptr_t holder, uintptr_t spec);
/* seq is the address of a Python list or tuple of buffer-exporting objects
 * (numpy arrays), e.g. id(lst); the caller keeps it alive during the call. */
int tc_bind(tc_program *prog, uintptr_t seq, int32_t first_slot, int32_t n,
            const tc_slot_spec *specs);
int tc_call(tc_program *prog, uintptr_t seq, int32_t n, const tc_slot_spec *specs,
            int32_t *failed_step);
void *tc_dlopen(const char *path);
void *tc_dlsym(void *handle, const char *name);
const char *tc_dlerror(void);
/* the thread pool (tensorc_pool.c) */
int tc_parallel(tc_chunk_fn fn, void *ctx, tc_intp n, tc_intp work);
int tc_install_pool(void *handle, int enable);
/* the shared elementwise driver (tensorc_ew.c) */
int tc_ew_driver_abi(void);
int tc_install_ew(void *handle);
/* the shared column driver of reductions (tensorc_reduce.c) */
int tc_red_driver_abi(void);
int tc_install_red(void *handle);
int tc_pool_threads(void);
int tc_gemm_rows_limit(int rows);
int tc_pool_request_threads(int n);
int64_t tc_pool_jobs(void);
int64_t tc_pool_set_grain(int64_t grain);
int tc_pool_serial(int on);

#endif
